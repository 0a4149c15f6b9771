"""One archive of what a clinic's service needs to answer the same way elsewhere.

`backup` writes a tar.gz holding the live index build (with CURRENT and the withdrawal list), the
corpus folder (articles, manifest.toml, redflags.toml) and the clinic's records (the state store:
for SQLite an online-consistent copy made with SQLite's backup API; any other database is backed
up with its own tools and the archive says so), and beside it `<archive>.sha256` in the format
`sha256sum -c` reads. `restore_backup` checks the checksum and the build, and unpacks into empty
locations named by the settings (GROUNDEDQA_INDEX, GROUNDEDQA_CORPUS, GROUNDEDQA_STATE_URL), so a
fresh machine serves the same answers.

Settings are not in the archive: they are the service's environment (its unit file or shell).
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sqlite3
import tarfile
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import make_url

from groundedqa import __version__
from groundedqa.index.builds import (
    BuildLease,
    IndexMissing,
    builds_dir,
    current_build_id,
    open_build,
    read_manifest,
    write_atomically,
)
from groundedqa.index.withdrawals import WITHDRAWN
from groundedqa.settings import Settings

FORMAT = 1
ROOT = "groundedqa-backup"
INFO = "BACKUP.json"
STATE_FILE = "state.sqlite"
REDFLAGS_FILE = "redflags.toml"


class BackupError(RuntimeError):
    """A backup or restore cannot be done; the message says why (nothing was changed)."""


@dataclass
class BackupReport:
    archive: Path
    checksum_file: Path
    sha256: str
    build_id: str
    documents: int
    corpus_files: int
    state_included: bool
    notes: list[str] = field(default_factory=list)


@dataclass
class RestoreReport:
    build_id: str
    index: Path
    corpus: Path
    state: str | None  # where the records went (None: not restored)
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# backup
# --------------------------------------------------------------------------------------------

def backup(settings: Settings, dest: Path) -> BackupReport:
    """Write the archive (and its .sha256) at `dest`, or inside `dest` when it is a folder."""
    index_dir = Path(settings.index)
    build_id = current_build_id(index_dir)
    if build_id is None:
        raise IndexMissing(f"no index at {index_dir}: nothing to back up")
    archive = _archive_path(Path(dest))
    if archive.exists():
        raise BackupError(f"{archive} exists; name a new file or a folder")
    if not settings.corpus.is_dir():
        raise BackupError(f"the corpus folder {settings.corpus} does not exist")
    notes: list[str] = []
    # Leased for the copy: an ingest publishing meanwhile must not prune the build under it.
    lease = BuildLease(index_dir, build_id)
    tmp = archive.with_name(f".{archive.name}.{uuid.uuid4().hex[:8]}")
    try:
        with tempfile.TemporaryDirectory(prefix="groundedqa-backup-") as scratch:
            state_copy = _copy_state(settings, Path(scratch), notes)
            manifest = read_manifest(builds_dir(index_dir) / build_id)
            redflags = settings.redflags_path()
            separate_flags = redflags.is_file() and not _inside(redflags, settings.corpus)
            info = {
                "format": FORMAT, "created_at": _now(), "groundedqa": __version__,
                "build_id": build_id, "documents": len(manifest.get("documents", {})),
                "model": manifest.get("model"), "state": STATE_FILE if state_copy else None,
                "state_url": _safe_url(settings.state_store_url()),
                "redflags": REDFLAGS_FILE if separate_flags else None, "notes": notes,
            }
            corpus_files = 0
            with tarfile.open(tmp, "w:gz") as tar:
                _add_text(tar, f"{ROOT}/{INFO}", json.dumps(info, indent=2) + "\n")
                _add_text(tar, f"{ROOT}/index/CURRENT", build_id + "\n")
                _add_text(tar, f"{ROOT}/index/PUBLISHED", build_id + "\n")
                if (index_dir / WITHDRAWN).is_file():
                    tar.add(index_dir / WITHDRAWN, f"{ROOT}/index/{WITHDRAWN}")
                tar.add(builds_dir(index_dir) / build_id, f"{ROOT}/index/builds/{build_id}")
                for path in sorted(p for p in settings.corpus.rglob("*") if p.is_file()):
                    tar.add(path, f"{ROOT}/corpus/{path.relative_to(settings.corpus).as_posix()}")
                    corpus_files += 1
                if separate_flags:
                    tar.add(redflags, f"{ROOT}/{REDFLAGS_FILE}")
                if state_copy:
                    tar.add(state_copy, f"{ROOT}/{STATE_FILE}")
        digest = _sha256(tmp)
        tmp.rename(archive)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        lease.release()
    checksum_file = archive.with_name(archive.name + ".sha256")
    write_atomically(checksum_file, f"{digest}  {archive.name}\n")
    return BackupReport(archive, checksum_file, digest, build_id, info["documents"], corpus_files,
                        state_copy is not None, notes)


def _archive_path(dest: Path) -> Path:
    if dest.is_dir():
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        return dest / f"groundedqa-backup-{stamp}.tar.gz"
    if not dest.parent.is_dir():
        raise BackupError(f"the folder {dest.parent} does not exist")
    return dest


def _copy_state(settings: Settings, scratch: Path, notes: list[str]) -> Path | None:
    """An online-consistent copy of a SQLite state store (SQLite's backup API: a server may be
    writing meanwhile), as one file without a WAL; None for any other database."""
    url = make_url(settings.state_store_url())
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        notes.append(f"the clinic's records are in {_safe_url(str(url))}, not SQLite: back them "
                     "up with the database's own tools (e.g. pg_dump); they are not in this archive")
        return None
    source = Path(url.database)
    if not source.is_file():
        notes.append(f"no state store at {source} yet: no records to back up")
        return None
    copy = scratch / STATE_FILE
    src = sqlite3.connect(source)
    dst = sqlite3.connect(copy)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        dst.close()
        src.close()
    return copy


# --------------------------------------------------------------------------------------------
# restore
# --------------------------------------------------------------------------------------------

def restore_backup(settings: Settings, src: Path, *, verify_checksum: bool = True) -> RestoreReport:
    """Unpack the archive `src` into the settings' index, corpus and (SQLite) state store, all of
    which must be empty or absent; the build is checked whole before anything is moved there."""
    src = Path(src)
    if not src.is_file():
        raise BackupError(f"{src} does not exist")
    if verify_checksum:
        _verify(src)
    index_dir, corpus = Path(settings.index), Path(settings.corpus)
    state_url = make_url(settings.state_store_url())
    state_path = Path(state_url.database) if state_url.get_backend_name() == "sqlite" \
        and state_url.database else None
    for target in (index_dir, corpus):
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise BackupError(f"{target} is not empty: restore into empty locations (set "
                              "GROUNDEDQA_INDEX / GROUNDEDQA_CORPUS, or move the old ones away)")
    if state_path is not None and state_path.exists():
        raise BackupError(f"the state store {state_path} exists: restore into an empty location "
                          "(set GROUNDEDQA_STATE_URL, or move it away)")
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=index_dir.parent) as scratch:
        root = Path(scratch) / ROOT
        try:
            with tarfile.open(src, "r:gz") as tar:
                tar.extractall(scratch, filter="data")  # no absolute paths, links out, devices
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BackupError(f"{src} is not a readable backup archive ({exc})") from exc
        info = _read_info(root)
        build_id = info["build_id"]
        build_dir = root / "index" / "builds" / build_id
        open_build(build_dir).close()  # whole, as written: manifest, sizes, checksums
        notes = list(info.get("notes", []))
        flags = root / REDFLAGS_FILE
        redflags_target = settings.redflags_path()
        if flags.is_file() and not _inside(redflags_target, corpus):
            if redflags_target.exists():
                raise BackupError(f"{redflags_target} exists: move it away to restore the "
                                  "backup's red flags there")
        restored_state = None
        if info.get("state"):
            if state_path is None:
                notes.append(f"the archive's records ({STATE_FILE}) were not restored: "
                             f"GROUNDEDQA_STATE_URL is not SQLite; load them with your database's "
                             "tools")
            else:
                state_path.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(root / STATE_FILE, state_path)
                restored_state = str(state_path)
        _move_into(root / "index", index_dir)
        _move_into(root / "corpus", corpus)
        if flags.is_file() and not _inside(redflags_target, corpus):
            redflags_target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(flags, redflags_target)
    return RestoreReport(build_id, index_dir, corpus, restored_state, notes)


def _verify(archive: Path) -> None:
    checksum_file = archive.with_name(archive.name + ".sha256")
    try:
        expected = checksum_file.read_text(encoding="utf-8").split()[0].lower()
    except (OSError, IndexError) as exc:
        raise BackupError(f"{checksum_file} is missing or empty: copy it with the archive "
                          "(or pass --skip-checksum)") from exc
    actual = _sha256(archive)
    if actual != expected:
        raise BackupError(f"{archive} does not match {checksum_file} (sha256 {actual}, expected "
                          f"{expected}): the copy is damaged")


def _read_info(root: Path) -> dict:
    try:
        info = json.loads((root / INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"not a groundedqa backup (no readable {ROOT}/{INFO})") from exc
    if info.get("format") != FORMAT:
        raise BackupError(f"backup format {info.get('format')!r}; this groundedqa reads {FORMAT}")
    return info


def _move_into(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        for entry in source.iterdir():
            shutil.move(entry, target / entry.name)


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------

def _add_text(tar: tarfile.TarFile, name: str, text: str) -> None:
    data = text.encode("utf-8")
    member = tarfile.TarInfo(name)
    member.size, member.mtime, member.mode = len(data), int(datetime.now().timestamp()), 0o644
    tar.addfile(member, io.BytesIO(data))


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _inside(path: Path, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(Path(folder).resolve())


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
