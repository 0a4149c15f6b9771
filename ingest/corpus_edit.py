"""Put a document into the corpus folder (or take one out), with its `manifest.toml` entry.

What the admin API and `groundedqa admin` change. An upload is first run through the same loader
and cleaner a build uses, in a scratch folder: a file they would skip is refused with their
reason and the corpus is left as it was. The file format is the loader's business: the upload is
saved as `<doc id><extension>` and whatever extensions the loader reads are accepted.

The manifest is edited with tomlkit, so its comments and layout survive; files and manifest are
replaced atomically (write beside, then rename) under a lock, so a build reading the folder
meanwhile sees the old or the new file, never half of one.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import tomlkit
from filelock import FileLock
from tomlkit.exceptions import TOMLKitError

from groundedqa.ingest.load import MANIFEST_NAME, load_sources, read_manifest, safe_doc_id
from groundedqa.ingest.models import Skipped
from groundedqa.settings import Settings

#: Form field -> manifest key (the manifest says `doc_type`, the admin API `type`).
FIELDS = {"title": "title", "url": "url", "publisher": "publisher", "author": "author",
          "date": "date", "type": "doc_type"}
_LOCK_NAME = ".admin.lock"  # hidden: the loader never reads it


class UploadRejected(ValueError):
    """The file or its metadata cannot be ingested; nothing was changed."""


class UnknownDocument(LookupError):
    """No file in the corpus folder holds this doc id."""


class CorpusConflict(RuntimeError):
    """The corpus folder is in a state the change cannot be applied to (says what to fix)."""


@dataclass(frozen=True)
class Validated:
    """An upload that the loader and cleaner accept, and the version a build will give it."""

    doc_id: str
    file_name: str
    entry: dict[str, str]
    version: str
    title: str
    sentences: int


class CorpusEditor:
    """Adds, replaces and removes documents in one corpus folder."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.folder = Path(settings.corpus)

    # -- upload ------------------------------------------------------------------------------------

    def validate(self, doc_id: str, file_name: str, data: bytes,
                 fields: dict[str, str | None]) -> Validated:
        """Check an upload by preparing it as a build would; UploadRejected says why not."""
        if not doc_id or safe_doc_id(doc_id) != doc_id:
            raise UploadRejected(f"doc id {doc_id!r} is not valid: use lowercase letters, digits, "
                                 f"'.', '_' and '-' (for example {safe_doc_id(doc_id or 'doc')!r})")
        suffix = Path(file_name or "").suffix.lower()
        if not suffix:
            raise UploadRejected("the file name has no extension (.txt, .md, .html ...): the "
                                 "loader reads the format from it")
        unknown = set(fields) - set(FIELDS)
        if unknown:
            raise UploadRejected(f"unknown metadata field(s): {', '.join(sorted(unknown))}")
        target = doc_id + suffix
        entry = self._merged_entry(doc_id, target, fields)
        with tempfile.TemporaryDirectory(prefix="groundedqa-upload-") as scratch:
            folder = Path(scratch)
            (folder / target).write_bytes(data)
            _write_manifest(folder, _manifest_with([entry]))
            sources, skipped = load_sources([folder], read_manifest(folder))
        if skipped or not sources:
            reason = skipped[0].reason if skipped else "the loader found no document in it"
            raise UploadRejected(f"{file_name}: {reason}")
        source = sources[0]
        # The ingest pipeline only when an upload is checked: the admin routes load with every
        # server, which must not pay for importing it at start.
        from groundedqa.ingest.build import content_hash, pipeline_fingerprint, prepare

        version = content_hash(source, pipeline_fingerprint(self.settings))
        try:
            prepared = prepare(source, self.settings, version)
        except Exception as exc:  # noqa: BLE001 - whatever the cleaner trips on, say it
            raise UploadRejected(f"{file_name}: could not be processed: "
                                 f"{type(exc).__name__}: {exc}") from exc
        if isinstance(prepared, Skipped):
            raise UploadRejected(f"{file_name}: {prepared.reason}")
        sentences = sum(span.kind == "sentence" for span in prepared.spans)
        return Validated(doc_id, target, entry, version, prepared.title, sentences)

    def put(self, upload: Validated, data: bytes) -> None:
        """Write a validated upload into the corpus folder, replacing the document's old file."""
        with self._lock():
            target = self.folder / upload.file_name
            owner = self._owner_of(upload.file_name)
            if owner is not None and owner != upload.doc_id:
                raise CorpusConflict(f"{upload.file_name} already holds document {owner!r}")
            old_files = [f for f in self.files_of(upload.doc_id) if f != target]
            _atomic_write(target, data)
            document = self._manifest()
            _set_entry(document, upload.doc_id, old_files, self.folder, upload.entry)
            _write_manifest(self.folder, document)
            for old in old_files:
                old.unlink(missing_ok=True)

    # -- delete ------------------------------------------------------------------------------------

    def delete(self, doc_id: str) -> list[Path]:
        """Remove the document's file(s) and manifest entry; return the files removed."""
        with self._lock():
            files = self.files_of(doc_id)
            if not files:
                raise UnknownDocument(f"no file in {self.folder} holds document {doc_id!r}")
            document = self._manifest()
            if _drop_entries(document, doc_id, files, self.folder):
                _write_manifest(self.folder, document)
            for path in files:
                path.unlink(missing_ok=True)
        return files

    # -- reading -----------------------------------------------------------------------------------

    def files_of(self, doc_id: str) -> list[Path]:
        """The article files holding `doc_id`: named so in the manifest, or by their file name."""
        manifest = read_manifest(self.folder) if self.folder.is_dir() else {}
        found = [self.folder / name for name, entry in manifest.items()
                 if entry.get("doc_id") == doc_id]
        for path in sorted(self.folder.iterdir()) if self.folder.is_dir() else ():
            if (path.is_file() and not path.name.startswith(".") and path.name not in manifest
                    and path.suffix.lower() not in (".toml", ".jsonl")
                    and safe_doc_id(path.stem) == doc_id):
                found.append(path)
        return [p for p in found if p.is_file()]

    def _owner_of(self, file_name: str) -> str | None:
        if not (self.folder / file_name).is_file():
            return None
        entry = read_manifest(self.folder).get(file_name)
        return (entry or {}).get("doc_id") or safe_doc_id(Path(file_name).stem)

    def _merged_entry(self, doc_id: str, file_name: str,
                      fields: dict[str, str | None]) -> dict[str, str]:
        """The manifest entry after the upload: the old entry's keys, then the fields given
        (a field left out keeps its value; an empty one removes it)."""
        old = {}
        if self.folder.is_dir():
            for entry in read_manifest(self.folder).values():
                if entry.get("doc_id") == doc_id:
                    old = {k: v for k, v in entry.items() if v is not None}
        entry = {**old, "file": file_name, "doc_id": doc_id}
        for name, value in fields.items():
            key = FIELDS[name]
            if value is None:
                continue
            if value.strip():
                entry[key] = value.strip()
            else:
                entry.pop(key, None)
        return {k: str(v) for k, v in entry.items()}

    def _manifest(self) -> tomlkit.TOMLDocument:
        path = self.folder / MANIFEST_NAME
        if not path.is_file():
            return _manifest_with([])
        try:
            return tomlkit.parse(path.read_text(encoding="utf-8-sig"))
        except (TOMLKitError, UnicodeDecodeError) as exc:
            raise CorpusConflict(f"{path} is not valid TOML ({exc}): fix it first") from exc

    def _lock(self) -> FileLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.folder / _LOCK_NAME), timeout=60)


# ------------------------------------------------------------------------------------------------
# manifest editing (tomlkit keeps the comments and order of everything it does not touch)
# ------------------------------------------------------------------------------------------------

def _manifest_with(entries: list[dict[str, str]]) -> tomlkit.TOMLDocument:
    document = tomlkit.document()
    tables = tomlkit.aot()
    for entry in entries:
        tables.append(_table(entry))
    document["documents"] = tables
    return document


def _table(entry: dict[str, str]) -> tomlkit.items.Table:
    table = tomlkit.table()
    for key, value in entry.items():
        table[key] = value
    return table


def _documents(document: tomlkit.TOMLDocument) -> tomlkit.items.AoT:
    if "documents" not in document:
        document["documents"] = tomlkit.aot()
    return document["documents"]


def _is_entry_of(table, doc_id: str, files: list[Path], folder: Path) -> bool:
    names = {p.relative_to(folder).as_posix() for p in files}
    return table.get("doc_id") == doc_id or table.get("file") in names


def _set_entry(document, doc_id: str, old_files: list[Path], folder: Path,
               entry: dict[str, str]) -> None:
    tables = _documents(document)
    for table in tables:
        if _is_entry_of(table, doc_id, old_files, folder) or table.get("file") == entry["file"]:
            for key in [k for k in table if k not in entry]:
                del table[key]
            for key, value in entry.items():
                if table.get(key) != value:
                    table[key] = value
            return
    tables.append(_table(entry))


def _drop_entries(document, doc_id: str, files: list[Path], folder: Path) -> bool:
    tables = _documents(document)
    keep = [t for t in tables if not _is_entry_of(t, doc_id, files, folder)]
    if len(keep) == len(tables):
        return False
    while len(tables):
        tables.pop(0)  # removed in place, so the comments around the array stay
    for table in keep:
        tables.append(table)
    return True


def _write_manifest(folder: Path, document: tomlkit.TOMLDocument) -> None:
    _atomic_write(folder / MANIFEST_NAME, tomlkit.dumps(document).encode("utf-8"))


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
