"""Index builds on disk: one directory per build, a CURRENT pointer swapped atomically.

Layout of an index directory (the `--index DIR` / `GROUNDEDQA_INDEX` path)::

    DIR/CURRENT                 the live build id (replaced atomically with os.replace)
    DIR/PUBLISHED               every build id CURRENT has named, oldest first (what pruning keeps)
    DIR/builds/<build_id>/      one complete build: manifest.json + the backend's files
    DIR/leases/<build_id>.*     one OS-locked file per process serving that build
    DIR/.lock                   held while a build writes

A build is written to `builds/tmp-*` and renamed to its id only when complete; CURRENT is replaced
last. A build that fails or is killed therefore never touches the live one. The files inside a
build belong to its backend (`faiss_bm25.py` by default); this module knows the manifest, which
records the size and BLAKE2b checksum of every file, so a build is checked whole before it is
served. (BLAKE2b: about twice SHA-256's speed on CPUs without SHA instructions, and a 16k-article
build is hashed at every load.)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any

from filelock import FileLock, Timeout
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt, ValidationError
from pydantic import field_validator

from groundedqa.index.ports import IndexBackend, LoadedIndex
from groundedqa.index.records import DocData

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
#: What CURRENT may hold: a build folder's name (never a path, never a temporary build).
_BUILD_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,127}")
REBUILD_HINT = "rebuild it from the articles with `groundedqa ingest --sync CORPUS_DIR`"

log = logging.getLogger("groundedqa.index")


class IndexUnavailable(RuntimeError):
    """The index cannot be served; the message says why and what to do."""


class IndexMissing(IndexUnavailable):
    """No build has been published at the index path."""


class IndexCorrupt(IndexUnavailable):
    """A build's files are missing, truncated or inconsistent with its manifest."""


class IndexMismatch(IndexUnavailable):
    """A build was made by another schema version or another embedding model."""


def default_backend() -> IndexBackend:
    """The embedded default: FAISS + bm25s + SQLite files inside the build directory."""
    from groundedqa.index.faiss_bm25 import FaissBm25Backend

    return FaissBm25Backend()


# --------------------------------------------------------------------------------------------
# Paths and the CURRENT pointer
# --------------------------------------------------------------------------------------------

def builds_dir(index_dir: Path) -> Path:
    return Path(index_dir) / "builds"


def current_build_id(index_dir: Path) -> str | None:
    """The live build id, None when nothing has been published; IndexCorrupt when CURRENT is
    unreadable or holds something that is not a build id."""
    path = Path(index_dir) / "CURRENT"
    try:
        value = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexCorrupt(f"{path} is unreadable ({exc}): {REBUILD_HINT}") from exc
    if not value:
        return None
    if not _BUILD_ID.fullmatch(value) or value.startswith("tmp-"):
        raise IndexCorrupt(f"{path} does not hold a build id ({value[:80]!r}): {REBUILD_HINT}, "
                           f"or write the id of a folder in {builds_dir(index_dir)} into it")
    return value


def publish(index_dir: Path, build_id: str) -> None:
    """Point CURRENT at `build_id` atomically (readers see the old or the new id, never half),
    and record the publication in PUBLISHED."""
    index_dir = Path(index_dir)
    history = published_history(index_dir)
    previous = _current_or_none(index_dir)
    if not history and previous is not None:
        history.append(previous)  # an index from before PUBLISHED: its live build was published
    write_atomically(index_dir / "PUBLISHED", "".join(f"{b}\n" for b in [*history, build_id]))
    write_atomically(index_dir / "CURRENT", build_id + "\n")


def published_history(index_dir: Path) -> list[str]:
    """Build ids in the order CURRENT named them, oldest first (an id may repeat)."""
    try:
        lines = (Path(index_dir) / "PUBLISHED").read_text(encoding="utf-8").split()
    except (OSError, UnicodeDecodeError):
        return []
    return [line for line in lines if _BUILD_ID.fullmatch(line)]


def prune_builds(index_dir: Path, keep: int = 2) -> list[str]:
    """Remove temporary builds, builds never published, and published builds past the `keep`
    most recently published; never the live build nor one a running server leases. Returns the
    ids removed.

    Recency is by publication (PUBLISHED), not by folder time: a build renamed into place by an
    ingest killed before publishing is newer on disk than the last published one, and must not
    push it out.
    """
    root = builds_dir(index_dir)
    if not root.is_dir():
        return []
    history = published_history(index_dir)
    last_published = {build_id: n for n, build_id in enumerate(history)}
    kept = set(sorted(last_published, key=last_published.__getitem__, reverse=True)[:keep])
    live = _current_or_none(index_dir)
    kept |= {live} if live else set()
    kept |= leased_builds(index_dir)
    removed = []
    for entry in root.iterdir():
        if not entry.is_dir() or entry.name in kept:
            continue
        shutil.rmtree(entry, ignore_errors=True)
        if not entry.name.startswith("tmp-"):
            removed.append(entry.name)
    on_disk = {entry.name for entry in root.iterdir()}
    write_atomically(Path(index_dir) / "PUBLISHED",
                      "".join(f"{b}\n" for b in history if b in on_disk))
    return removed


# --------------------------------------------------------------------------------------------
# Listing builds and rolling back
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BuildInfo:
    """One build folder as `groundedqa index list` shows it."""

    build_id: str
    built_at: str | None
    documents: int | None
    size_bytes: int
    live: bool
    published: bool  # CURRENT has named it (a rollback target)
    leased: bool  # a running server serves it
    problem: str | None  # why its manifest cannot be read (its files are checked on rollback)


def list_builds(index_dir: Path) -> list[BuildInfo]:
    """Every build on disk (temporary ones aside), oldest first."""
    root = builds_dir(index_dir)
    if not root.is_dir():
        return []
    live, published = _current_or_none(index_dir), set(published_history(index_dir))
    leased = leased_builds(index_dir)
    rows = []
    for entry in root.iterdir():
        if not entry.is_dir() or entry.name.startswith("tmp-"):
            continue
        try:
            manifest, problem = read_manifest(entry), None
        except IndexUnavailable as exc:
            manifest, problem = {}, str(exc)
        size = sum(p.stat().st_size for p in entry.rglob("*") if p.is_file())
        rows.append(BuildInfo(entry.name, manifest.get("built_at"),
                              len(manifest["documents"]) if "documents" in manifest else None,
                              size, entry.name == live, entry.name in published or entry.name == live,
                              entry.name in leased, problem))
    return sorted(rows, key=lambda b: (b.built_at or "", b.build_id))


class RollbackRefused(IndexUnavailable):
    """No build to roll back to, or the one named fails validation (the message says which)."""


def rollback(index_dir: Path, build_id: str | None = None, *,
             backend: IndexBackend | None = None) -> str:
    """Point CURRENT back at `build_id` (default: the build published before the live one),
    atomically, after checking it whole (manifest, every file's size and checksum, the live
    build's model). Returns the id now live; RollbackRefused, with CURRENT untouched, otherwise.

    Holds the build lock, so a rollback never interleaves with an ingest publishing.
    """
    index_dir = Path(index_dir)
    try:
        lock = FileLock(str(index_dir / ".lock"), timeout=0)
        lock.acquire()
    except Timeout as exc:
        raise RollbackRefused(f"an ingest is writing {index_dir}; roll back when it has "
                              "finished (or it would publish over the rollback)") from exc
    try:
        live = _current_or_none(index_dir)
        target = build_id or _previous_published(index_dir, live)
        build_dir = builds_dir(index_dir) / target
        if not _BUILD_ID.fullmatch(target) or target.startswith("tmp-") or not build_dir.is_dir():
            raise RollbackRefused(f"no build {target!r} in {builds_dir(index_dir)} (see "
                                  "`groundedqa index list`)")
        if target == live:
            return target
        expect = _live_model(index_dir, live)
        try:
            open_build(build_dir, expect_model=expect, backend=backend).close()
        except IndexUnavailable as exc:
            raise RollbackRefused(f"build {target} cannot be served, so CURRENT still names "
                                  f"{live}: {exc}") from exc
        publish(index_dir, target)
        return target
    finally:
        lock.release()


def _previous_published(index_dir: Path, live: str | None) -> str:
    on_disk = builds_dir(index_dir)
    for candidate in reversed(published_history(index_dir)):
        if candidate != live and (on_disk / candidate).is_dir():
            return candidate
    raise RollbackRefused(f"no earlier published build is kept in {on_disk} (see `groundedqa "
                          "index list`; GROUNDEDQA_KEEP_BUILDS sets how many are kept)")


def _live_model(index_dir: Path, live: str | None) -> dict[str, Any] | None:
    """The model the live build was embedded with (what the servers have loaded), if readable."""
    if live is None:
        return None
    try:
        return read_manifest(builds_dir(index_dir) / live).get("model")
    except IndexUnavailable:
        return None


# --------------------------------------------------------------------------------------------
# Leases: which builds running servers use
# --------------------------------------------------------------------------------------------

def leases_dir(index_dir: Path) -> Path:
    return Path(index_dir) / "leases"


class BuildLease:
    """Says "this process serves build `build_id`" until released, so pruning keeps the build.

    One file per process under DIR/leases/, held with an OS file lock: the lock ends with the
    process, so a killed server leaves no lease that counts (pruning removes its file).
    """

    def __init__(self, index_dir: Path, build_id: str) -> None:
        self.build_id = build_id
        folder = leases_dir(index_dir)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{build_id}.{os.getpid()}-{uuid.uuid4().hex[:8]}.lease"
        self._lock = FileLock(str(self.path), timeout=0, thread_local=False)
        self._lock.acquire()

    def release(self) -> None:
        """End the lease (idempotent)."""
        if self._lock.is_locked:
            self._lock.release()
        self.path.unlink(missing_ok=True)


def leased_builds(index_dir: Path) -> set[str]:
    """Ids of builds a live process leases; lease files of dead processes are removed."""
    folder = leases_dir(index_dir)
    if not folder.is_dir():
        return set()
    leased = set()
    for path in folder.glob("*.lease"):
        probe = FileLock(str(path), timeout=0, thread_local=False)
        try:
            probe.acquire()
        except Timeout:
            leased.add(path.name.removesuffix(".lease").rsplit(".", 1)[0])
            continue
        except OSError:  # vanished or unreadable: not a lease anyone holds
            continue
        probe.release()
        path.unlink(missing_ok=True)
    return leased


def new_build_id() -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{uuid.uuid4().hex[:8]}"


def _current_or_none(index_dir: Path) -> str | None:
    try:
        return current_build_id(index_dir)
    except IndexCorrupt:
        return None


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` so readers see the old or the new content, never half (a
    temporary file, fsynced, renamed over it, the folder fsynced)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------------------------
# The manifest's schema and the files' checksums
# --------------------------------------------------------------------------------------------

class FileRecord(BaseModel):
    """Size and BLAKE2b-256 checksum of one file of a build, as written."""

    size: NonNegativeInt
    blake2b: str = Field(pattern=r"^[0-9a-f]{64}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")
    dimension: PositiveInt
    fingerprint: str


class _Counts(BaseModel):
    model_config = ConfigDict(extra="allow")
    documents: NonNegativeInt
    passages: NonNegativeInt
    sentences: NonNegativeInt


class _Skip(BaseModel):
    model_config = ConfigDict(extra="allow")
    hash: str
    source: str
    reason: str


class ManifestSchema(BaseModel):
    """What a reader relies on in manifest.json (other keys are kept as written)."""

    model_config = ConfigDict(extra="allow")
    schema_version: int
    build_id: str
    model: _Model
    pipeline: dict[str, Any]
    counts: _Counts
    documents: dict[str, str]
    skipped: dict[str, _Skip] = Field(default_factory=dict)
    #: A bare size is a build written before checksums (served, with a warning, and rewritten by
    #: the next ingest).
    files: dict[str, FileRecord | NonNegativeInt]

    @field_validator("files")
    @classmethod
    def _inside_the_build(cls, files: dict[str, Any]) -> dict[str, Any]:
        for name in files:
            parts = PurePosixPath(name).parts
            if not parts or name.startswith("/") or ".." in parts or name == MANIFEST:
                raise ValueError(f"{name!r} is not a file inside the build")
        return files


def has_checksums(manifest: dict[str, Any]) -> bool:
    """True when every file of the build has a recorded checksum (builds since checksums)."""
    files = manifest.get("files")
    return isinstance(files, dict) and bool(files) and all(isinstance(v, dict) for v in files.values())


def file_records(build_dir: Path) -> dict[str, dict[str, Any]]:
    """Size and checksum of every file under `build_dir` but the manifest, by relative path."""
    records = {}
    for path in sorted(p for p in Path(build_dir).rglob("*") if p.is_file()):
        name = path.relative_to(build_dir).as_posix()
        if name != MANIFEST:
            records[name] = {"size": path.stat().st_size, "blake2b": _checksum(path)}
    return records


def _checksum(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, lambda: hashlib.blake2b(digest_size=32)).hexdigest()


def verify_files(build_dir: Path, manifest: dict[str, Any], required: list[str], *,
                 check_content: bool = True) -> None:
    """IndexCorrupt unless every required file is listed and every listed file is whole: its
    size, and with `check_content` its checksum, as written."""
    files: dict[str, Any] = manifest["files"]
    checksummed = has_checksums(manifest)
    unlisted = [name for name in required if name not in files]
    if unlisted and checksummed:
        raise IndexCorrupt(f"index {build_dir} is incomplete: its manifest does not list "
                           f"{', '.join(unlisted)}: {REBUILD_HINT}")
    for name in unlisted:  # a build from before checksums listed only some files
        if not (Path(build_dir) / name).is_file():
            raise IndexCorrupt(f"index {build_dir} is corrupt: {name} is missing: {REBUILD_HINT}")
    for name, record in files.items():
        path = Path(build_dir) / name
        size = record["size"] if isinstance(record, dict) else record
        if not path.is_file():
            raise IndexCorrupt(f"index {build_dir} is corrupt: {name} is missing: {REBUILD_HINT}")
        if path.stat().st_size != size:
            raise IndexCorrupt(f"index {build_dir} is corrupt: {name} is truncated or resized "
                               f"({path.stat().st_size} bytes, {size} written): {REBUILD_HINT}")
        if check_content and isinstance(record, dict) and _checksum(path) != record["blake2b"]:
            raise IndexCorrupt(f"index {build_dir} is corrupt: the content of {name} changed "
                               f"since it was written (checksum mismatch): {REBUILD_HINT}")
    if not checksummed:
        log.warning("index %s was written before content checksums, so only file sizes are "
                    "checked; the next `groundedqa ingest` rewrites it with checksums", build_dir)


# --------------------------------------------------------------------------------------------
# Writing and opening builds
# --------------------------------------------------------------------------------------------

def write_build(
    build_dir: Path,
    docs: list[DocData],
    *,
    model: dict[str, Any],
    pipeline: dict[str, Any],
    build_id: str,
    skipped: dict[str, dict[str, str]] | None = None,
    backend: IndexBackend | None = None,
) -> dict[str, Any]:
    """Write a complete build of `docs` (vectors attached) into `build_dir`; return its manifest.

    `skipped` (doc id -> hash, source, reason) records the documents that were passed over, so
    that the next ingest of the same files recognises them without preparing them again.
    """
    backend = backend or default_backend()
    build_dir.mkdir(parents=True, exist_ok=False)
    extras = backend.write(build_dir, docs, int(model["dimension"]))
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "build_id": build_id,
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "backend": backend.name,
        "model": model,
        "pipeline": pipeline,
        **extras,
        "documents": {d.doc_id: d.content_hash for d in docs},
        "skipped": skipped or {},
    }
    manifest["files"] = file_records(build_dir)
    missing = [name for name in backend.required_files(manifest) if name not in manifest["files"]]
    if missing:
        raise RuntimeError(f"backend {backend.name} did not write {', '.join(missing)}")
    # The manifest is written last: a build directory without one is never loaded.
    with open(build_dir / MANIFEST, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    return manifest


def open_index(index_dir: Path, *, expect_model: dict[str, Any] | None = None,
               backend: IndexBackend | None = None) -> LoadedIndex:
    """Open the live build of `index_dir`, refusing a missing, corrupt or mismatched one."""
    index_dir = Path(index_dir)
    build_id = current_build_id(index_dir)
    if build_id is None:
        raise IndexMissing(f"no index at {index_dir}: run `groundedqa ingest` first")
    build_dir = builds_dir(index_dir) / build_id
    if not build_dir.is_dir():
        raise IndexCorrupt(f"{index_dir / 'CURRENT'} names build {build_id}, which is not in "
                           f"{builds_dir(index_dir)}: {REBUILD_HINT}")
    return open_build(build_dir, expect_model=expect_model, backend=backend)


def open_build(build_dir: Path, *, expect_model: dict[str, Any] | None = None,
               backend: IndexBackend | None = None, check_content: bool = True) -> LoadedIndex:
    """Open one build directory (see `open_index`), checked whole first: manifest schema, build
    id, model, every file the reader needs present with the size and checksum written
    (`check_content=False` skips the checksums, for a build whose files were just hashed)."""
    backend = backend or default_backend()
    build_dir = Path(build_dir)
    manifest = read_manifest(build_dir)
    if manifest.get("build_id") != build_dir.name:
        raise IndexCorrupt(
            f"index build folder {build_dir} holds the manifest of build "
            f"{str(manifest.get('build_id'))[:80]!r} (renamed or copied over?): {REBUILD_HINT}"
        )
    if expect_model is not None:
        check_model(manifest, expect_model, build_dir)
    verify_files(build_dir, manifest, backend.required_files(manifest), check_content=check_content)
    return backend.open(build_dir, manifest)


def check_model(manifest: dict[str, Any], expect_model: dict[str, Any], where: Path) -> None:
    """IndexMismatch unless the build was embedded with the model described by `expect_model`."""
    built = manifest.get("model", {})
    for key in ("dimension", "fingerprint"):
        if built.get(key) != expect_model.get(key):
            raise IndexMismatch(
                f"index {where} was built with model {built.get('id')!r} "
                f"(dimension {built.get('dimension')}), but the service is configured with "
                f"{expect_model.get('id')!r} (dimension {expect_model.get('dimension')}): "
                "rebuild it with `groundedqa ingest` or configure the same model"
            )
    from groundedqa.index.encoders import encoder_variant

    built_variant, expected_variant = encoder_variant(built), encoder_variant(expect_model)
    if built_variant != expected_variant:
        # Vectors of two runtimes (int8 above all) are close, not equal: never mix them.
        raise IndexMismatch(
            f"index {where} was built with the {built_variant} encoder, but the service is "
            f"configured with {expected_variant}: rebuild it with `groundedqa ingest`, or set "
            f"GROUNDEDQA_ENCODER={built_variant}"
        )


def read_manifest(build_dir: Path) -> dict[str, Any]:
    """The manifest of a build directory, checked against its schema; IndexCorrupt (or
    IndexMismatch for another schema version) with the reason otherwise."""
    path = Path(build_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexCorrupt(f"index build {build_dir} has no {MANIFEST} (incomplete build?): "
                           f"{REBUILD_HINT}") from exc
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(f"index build {build_dir} has an unreadable {MANIFEST} ({exc}): "
                           f"{REBUILD_HINT}") from exc
    if not isinstance(manifest, dict):
        raise IndexCorrupt(f"index build {build_dir} has a malformed {MANIFEST} (not a JSON "
                           f"object): {REBUILD_HINT}")
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise IndexMismatch(
            f"index {build_dir} has schema version {manifest.get('schema_version')!r}, this "
            f"groundedqa reads version {SCHEMA_VERSION}: {REBUILD_HINT}"
        )
    try:
        ManifestSchema.model_validate(manifest)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise IndexCorrupt(f"index build {build_dir} has a malformed {MANIFEST} ({where}: "
                           f"{first['msg']}): {REBUILD_HINT}") from exc
    return manifest
