"""Find and read the corpus: article files, BEIR-style JSONL and the optional manifest.

Nothing here raises for a bad input file: unreadable, empty, binary or non-UTF-8 files, bad JSONL
lines and duplicate doc ids become `Skipped(source, reason)` records for the ingest summary.
Only a path that does not exist at all raises (`FileNotFoundError`), because that is a usage error.

PDF and Word (.docx) files are read as bytes and only checked for their file signature here;
their parser (ingest/formats/) turns them into blocks when the document is (re)built, so an
unchanged leaflet is never parsed again.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import tomllib
import unicodedata
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from groundedqa.ingest.formats import BINARY_FORMATS
from groundedqa.ingest.models import SourceDoc, SourceFormat, Skipped

__all__ = ["META_KEYS", "iter_sources", "load_sources", "read_manifest", "safe_doc_id"]

#: Metadata keys every SourceDoc carries; unknown values are None, never guessed.
META_KEYS = ("title", "publisher", "author", "url", "date", "doc_type", "language", "license")

MANIFEST_NAME = "manifest.toml"
_ARTICLE_FORMATS: dict[str, SourceFormat] = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}
# What a binary format's file starts with (PDF allows junk before "%PDF-" in its first 1 KiB;
# a .docx is a ZIP package).
_SIGNATURES: dict[str, tuple[bytes, int, str]] = {
    "pdf": (b"%PDF-", 1024, "not a PDF file (no %PDF- header)"),
    "docx": (b"PK\x03\x04", 4, "not a Word .docx file (not a ZIP package)"),
}
# Formats we could name but do not read, with what to do instead.
_UNSUPPORTED = {
    ".doc": "legacy Word .doc is not supported: save it as .docx",
    ".rtf": "RTF is not supported: save it as .docx or PDF",
    ".odt": "OpenDocument text is not supported: save it as .docx or PDF",
}
_JSONL_SUFFIXES = frozenset({".jsonl"})
# Files that live beside articles without being articles: ignored silently in a folder walk.
_CONFIG_NAMES = frozenset({MANIFEST_NAME, "redflags.toml"})
_CONFIG_SUFFIXES = frozenset(
    {
        ".toml",
        ".json",
        ".yaml",
        ".yml",
        ".csv",
        ".tsv",
        ".ini",
        ".cfg",
        ".lock",
        ".py",
        ".sh",
        ".log",
        ".sha256",
        ".md5",
        ".bak",
        ".tmp",
        ".swp",
    }
)
_CONFIG_STEMS = frozenset({"readme", "license", "licence", "notice", "changelog", "copying"})
_MAX_CONTROL_RATIO = 0.05  # text files have (almost) no control characters besides \t \n \r \f
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_MAX_LINE_REPORTS = 20  # per JSONL file; the rest are summed up in one record
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)


# --------------------------------------------------------------------------- manifest


def _plain(value: Any) -> Any:
    """TOML dates/times become ISO strings so metadata stays JSON-serialisable."""
    return value.isoformat() if isinstance(value, date | datetime | time) else value


def read_manifest(corpus_dir: Path) -> dict[str, dict]:
    """Read `corpus_dir/manifest.toml` into `{file: {doc_id, title, publisher, ...}}`.

    Every entry has `doc_id` and all of `META_KEYS`; keys the manifest leaves out are None.
    Extra keys are kept as written. A folder without a manifest gives `{}`; a manifest that is
    not valid TOML or lacks `file` raises `ValueError` naming the problem.
    """
    path = Path(corpus_dir) / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a valid TOML manifest ({exc})") from exc
    documents = data.get("documents", [])
    if not isinstance(documents, list):
        raise ValueError(f"{path}: 'documents' must be an array of tables ([[documents]])")
    manifest: dict[str, dict] = {}
    for n, entry in enumerate(documents, 1):
        file_name = entry.get("file") if isinstance(entry, dict) else None
        if not isinstance(file_name, str) or not file_name.strip():
            raise ValueError(f"{path}: [[documents]] entry {n} has no 'file'")
        if file_name in manifest:
            raise ValueError(f"{path}: file {file_name!r} is listed twice")
        record = {"doc_id": None, **dict.fromkeys(META_KEYS)}
        record.update({k: _plain(v) for k, v in entry.items() if k != "file"})
        manifest[file_name] = record
    return manifest


# --------------------------------------------------------------------------- discovery


def safe_doc_id(stem: str) -> str:
    """A stable id from a file stem: ASCII, lowercase, only [a-z0-9._-]."""
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9._-]+", "-", ascii_stem.lower())
    slug = re.sub(r"-{2,}", "-", slug).strip("-._")
    return slug or "doc"


def _is_hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def _is_config(path: Path) -> bool:
    return (
        path.name in _CONFIG_NAMES
        or path.suffix.lower() in _CONFIG_SUFFIXES
        or path.stem.lower() in _CONFIG_STEMS
    )


def _walk(folder: Path) -> Iterator[Path]:
    """Files under `folder`, sorted, without hidden files/folders (symlinked folders not followed)."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(dirpath) / name


def _candidates(paths: list[Path]) -> Iterator[tuple[Path, str, str, bool]]:
    """(file, manifest key, base folder, found by walking) for each file, in a stable order."""
    for path in paths:
        if path.is_dir():
            base = _manifest_folder(path.absolute())
            for file in _walk(path):
                rel = file.relative_to(path)
                if not _is_hidden(rel):
                    key = file.absolute().relative_to(base) if base is not None else rel
                    yield file, key.as_posix(), str(base or path), True
        else:
            absolute = path.absolute()
            base = _manifest_folder(absolute.parent) or absolute.parent
            yield path, absolute.relative_to(base).as_posix(), str(base), False


def _manifest_folder(folder: Path) -> Path | None:
    """`folder` or the nearest folder above it holding a manifest.toml: the corpus folder a
    file or subfolder named alone belongs to, so its articles keep their manifest ids and
    metadata. None when there is none."""
    for candidate in (folder, *folder.parents):
        if (candidate / MANIFEST_NAME).is_file():
            return candidate
    return None


# --------------------------------------------------------------------------- reading


def _decode(data: bytes) -> tuple[str | None, str | None]:
    """(text, None) for usable UTF-8 text, else (None, reason)."""
    if data.startswith(_UTF16_BOMS):
        return None, "not UTF-8 text (UTF-16/32)"
    if b"\x00" in data:
        return None, "binary file"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    if len(_CONTROL_CHARS.findall(text)) > _MAX_CONTROL_RATIO * len(text):
        return None, "binary file"
    if not text.strip():
        return None, "empty"
    return text, None


def _read_article(path: Path, fmt: SourceFormat, doc_id: str, meta: dict) -> SourceDoc | Skipped:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Skipped(str(path), f"unreadable ({exc.strerror or exc})")
    if fmt in BINARY_FORMATS:
        if not data:
            return Skipped(str(path), "empty")
        signature, within, reason = _SIGNATURES[fmt]
        if signature not in data[:within]:
            return Skipped(str(path), reason)
        return SourceDoc(doc_id=doc_id, raw=data, format=fmt, source=str(path), metadata=meta)
    text, reason = _decode(data)
    if text is None:
        return Skipped(str(path), reason or "unreadable")
    return SourceDoc(doc_id=doc_id, raw=text, format=fmt, source=str(path), metadata=meta)


def _jsonl_record(line: bytes, source: str, defaults: dict) -> SourceDoc | str:
    """One BEIR-style record, or the reason it is skipped."""
    try:
        record = json.loads(line)
    except UnicodeDecodeError:
        return "not UTF-8 text"
    except json.JSONDecodeError:
        return "invalid JSON"
    if not isinstance(record, dict):
        return "not a JSON object"
    doc_id = record.get("_id")
    if doc_id is None or not str(doc_id).strip():
        return "missing _id"
    html, text = record.get("html"), record.get("text")
    if isinstance(html, str) and html.strip():
        raw, fmt = html, "html"
    elif isinstance(text, str) and text.strip():
        raw, fmt = text, "text"
    else:
        return "no text"
    meta = {**defaults, **(record.get("metadata") or {})}
    if record.get("title"):
        meta["title"] = record["title"]
    return SourceDoc(doc_id=str(doc_id).strip(), raw=raw, format=fmt, source=source, metadata=meta)


def _iter_jsonl(path: Path, defaults: dict) -> Iterator[SourceDoc | Skipped]:
    """Stream a JSONL corpus line by line (MedQuAD's 16k records load in well under a second)."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        yield Skipped(str(path), f"unreadable ({exc.strerror or exc})")
        return
    bad = 0
    seen_record = False
    with handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip():
                continue
            seen_record = True
            result = _jsonl_record(line, f"{path}:{lineno}", defaults)
            if isinstance(result, SourceDoc):
                yield result
                continue
            bad += 1
            if bad <= _MAX_LINE_REPORTS:
                yield Skipped(f"{path}:{lineno}", f"{result} on line {lineno}")
    if bad > _MAX_LINE_REPORTS:
        yield Skipped(str(path), f"{bad - _MAX_LINE_REPORTS} more bad lines not listed")
    if not seen_record:
        yield Skipped(str(path), "empty")


def iter_sources(paths: list[Path], manifest: dict[str, dict] | None = None) -> Iterator[SourceDoc | Skipped]:
    """Yield each article (SourceDoc) or skipped file/record (Skipped), in a stable order.

    `manifest` maps file names (relative to the corpus folder) to metadata as `read_manifest`
    returns it; None reads the `manifest.toml` beside each folder's (or file's) articles.
    Manifest entries whose file is missing are reported as Skipped. Raises FileNotFoundError
    before yielding anything when a path does not exist.
    """
    paths = [Path(p) for p in paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"corpus path not found: {', '.join(missing)}")
    manifests: dict[str, dict[str, dict]] = {}  # base folder -> its entries, read once
    used: set[tuple[str, str]] = set()  # (base folder, manifest key) that matched a file
    first_seen: dict[str, str] = {}
    for file, key, base, walked in _candidates(paths):
        if base not in manifests:
            manifests[base] = manifest if manifest is not None else read_manifest(Path(base))
        entries = manifests[base]
        matched = key if key in entries else file.name if file.name in entries else None
        if matched is not None:
            used.add((base, matched))
        for item in _load_file(file, entries.get(matched) if matched else None, walked):
            if isinstance(item, SourceDoc):
                if item.doc_id in first_seen:
                    reason = f"duplicate doc id '{item.doc_id}' (first in {first_seen[item.doc_id]})"
                    item = Skipped(item.source, reason)
                else:
                    first_seen[item.doc_id] = item.source
            yield item
    yield from _listed_but_missing(paths, manifests, used, shared=manifest is not None)


def _listed_but_missing(
    paths: list[Path], manifests: dict[str, dict[str, dict]], used: set[tuple[str, str]], shared: bool
) -> Iterator[Skipped]:
    """A manifest entry no walked folder had a file for (a typo, or a deleted article)."""
    used_anywhere = {key for _, key in used}
    for path in (p for p in paths if p.is_dir()):
        base = _manifest_folder(path.absolute())
        folder = str(base or path)
        # A subfolder of the corpus answers only for the entries under it.
        prefix = path.absolute().relative_to(base).as_posix() + "/" if base is not None else ""
        for key in manifests.get(folder, {}):
            inside = prefix in ("", "./") or key.startswith(prefix)
            if inside and (folder, key) not in used and not (shared and key in used_anywhere):
                yield Skipped(str(Path(folder) / key), f"listed in {MANIFEST_NAME} but not found")
        if shared:  # one manifest for every folder: report its leftovers once
            return


def _load_file(file: Path, entry: dict | None, walked: bool) -> Iterator[SourceDoc | Skipped]:
    suffix = file.suffix.lower()
    if entry is None and (file.name in _CONFIG_NAMES or (_is_config(file) and suffix not in _JSONL_SUFFIXES)):
        # Manifest, red flags, READMEs and data files sit beside articles: a walk passes them
        # over quietly; named explicitly, the user should hear why nothing was loaded.
        if not walked:
            yield Skipped(str(file), "not an article file")
        return
    meta = {k: v for k, v in (entry or dict.fromkeys(META_KEYS)).items() if k != "doc_id"}
    if suffix in _JSONL_SUFFIXES:
        yield from _iter_jsonl(file, meta)
    elif suffix in _ARTICLE_FORMATS:
        doc_id = (entry or {}).get("doc_id") or safe_doc_id(file.stem)
        yield _read_article(file, _ARTICLE_FORMATS[suffix], str(doc_id).strip(), meta)
    else:
        yield Skipped(str(file), _UNSUPPORTED.get(suffix, f"unsupported extension {suffix or '(none)'}"))


def load_sources(
    paths: list[Path], manifest: dict[str, dict] | None = None
) -> tuple[list[SourceDoc], list[Skipped]]:
    """Load every article under `paths` (folders are walked recursively, sorted).

    Returns the loaded documents and the skipped files/records with a short reason each.
    See `iter_sources` for `manifest`; a path that does not exist raises FileNotFoundError.
    """
    docs: list[SourceDoc] = []
    skipped: list[Skipped] = []
    for item in iter_sources(paths, manifest):
        (docs if isinstance(item, SourceDoc) else skipped).append(item)
    return docs, skipped
