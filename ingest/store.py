"""The index artifact: one directory per build, swapped in atomically.

Layout of an index directory (the `--index DIR` / `GROUNDEDQA_INDEX` path)::

    DIR/CURRENT                 the live build id (replaced atomically with os.replace)
    DIR/builds/<build_id>/      one complete build:
        manifest.json           schema version, model, counts, per-document content hashes, files
        records.sqlite          documents, passages, sentences (offsets into the cleaned text)
        layout.npz              the row -> document/offset arrays the query path needs in memory
        passages.npy            passage vectors (float32, unit length)
        sentences.npy           sentence vectors (float16, unit length; zero rows for headings)
        passages.faiss          FAISS inner-product index over passages.npy
        bm25/                   bm25s index over the passages' embedded text
    DIR/.lock                   held while a build writes

A build is written to `builds/tmp-*` and renamed to its id only when complete; CURRENT is replaced
last. A build that fails or is killed therefore never touches the live one.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from groundedqa.ingest.models import SPAN_KINDS, Chunk, Span

SCHEMA_VERSION = 1
#: Past this many passages the dense index is HNSW (approximate); below it, exact inner product.
HNSW_MIN_PASSAGES = 100_000
KIND_CODES = {kind: code for code, kind in enumerate(SPAN_KINDS)}
KIND_NAMES = {v: k for k, v in KIND_CODES.items()}
_REQUIRED_FILES = (
    "manifest.json", "records.sqlite", "layout.npz", "passages.npy", "sentences.npy", "passages.faiss",
    "titles.npy",
)


class IndexUnavailable(RuntimeError):
    """The index cannot be served; the message says why and what to do."""


class IndexMissing(IndexUnavailable):
    """No build has been published at the index path."""


class IndexCorrupt(IndexUnavailable):
    """A build's files are missing, truncated or inconsistent with its manifest."""


class IndexMismatch(IndexUnavailable):
    """A build was made by another schema version or another embedding model."""


@dataclass
class StoredDocument:
    """What the index keeps of a document besides its spans: cleaned text and metadata."""

    doc_id: str
    title: str
    text: str
    metadata: dict[str, Any]
    references: list[str]
    content_hash: str
    source: str


@dataclass
class DocData(StoredDocument):
    """A document with its spans, chunks and vectors: what a build writes, and reuses."""

    spans: list[Span] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    passage_vectors: np.ndarray | None = None  # (len(chunks), dim)
    sentence_vectors: np.ndarray | None = None  # (len(spans), dim)
    title_vector: np.ndarray | None = None  # (dim,)


@dataclass
class DocumentRecord(StoredDocument):
    """A stored document as served by /v1/documents/{doc_id}; `idx` is its row in the build."""

    idx: int = -1


@dataclass
class SentenceRecord:
    """A stored span: `document.text[start:end] == text`."""

    idx: int
    doc_idx: int
    doc_id: str
    start: int
    end: int
    text: str
    kind: str
    passage_heading: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Paths and the CURRENT pointer
# --------------------------------------------------------------------------------------------

def builds_dir(index_dir: Path) -> Path:
    return Path(index_dir) / "builds"


def current_build_id(index_dir: Path) -> str | None:
    """The live build id, or None when nothing has been published."""
    try:
        value = (Path(index_dir) / "CURRENT").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return value or None


def publish(index_dir: Path, build_id: str) -> None:
    """Point CURRENT at `build_id` atomically (readers see the old or the new id, never half)."""
    index_dir = Path(index_dir)
    tmp = index_dir / f".CURRENT.{uuid.uuid4().hex}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(build_id + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, index_dir / "CURRENT")
    _fsync_dir(index_dir)


def prune_builds(index_dir: Path, keep: int = 2) -> None:
    """Remove abandoned temporary builds and all but the newest `keep` complete ones.

    A server still reading an older build keeps working: its open files and maps stay valid.
    """
    root = builds_dir(index_dir)
    if not root.is_dir():
        return
    live = current_build_id(index_dir)
    complete = []
    for entry in root.iterdir():
        if entry.name.startswith("tmp-"):
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.is_dir():
            complete.append(entry)
    complete.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in complete[keep:]:
        if old.name != live:
            shutil.rmtree(old, ignore_errors=True)


def new_build_id() -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{uuid.uuid4().hex[:8]}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------------------------
# Writing a build
# --------------------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE documents (
    idx INTEGER PRIMARY KEY, doc_id TEXT NOT NULL UNIQUE, title TEXT NOT NULL, text TEXT NOT NULL,
    metadata TEXT NOT NULL, refs TEXT NOT NULL, content_hash TEXT NOT NULL, source TEXT NOT NULL,
    first_passage INTEGER NOT NULL, n_passages INTEGER NOT NULL,
    first_sentence INTEGER NOT NULL, n_sentences INTEGER NOT NULL
);
CREATE TABLE passages (
    idx INTEGER PRIMARY KEY, doc_idx INTEGER NOT NULL, ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL, end INTEGER NOT NULL,
    first_sentence INTEGER NOT NULL, last_sentence INTEGER NOT NULL,
    heading_path TEXT NOT NULL, embed_text TEXT NOT NULL
);
CREATE TABLE sentences (
    idx INTEGER PRIMARY KEY, doc_idx INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,
    kind INTEGER NOT NULL, block INTEGER NOT NULL, text TEXT NOT NULL
);
"""


def write_build(
    build_dir: Path,
    docs: list[DocData],
    *,
    model: dict[str, Any],
    pipeline: dict[str, Any],
    build_id: str,
    bm25_writer: Any,
    skipped: dict[str, dict[str, str]] | None = None,
) -> dict[str, Any]:
    """Write a complete build of `docs` (vectors attached) into `build_dir`; return its manifest.

    `skipped` (doc id -> hash, source, reason) records the documents that were passed over, so
    that the next ingest of the same files recognises them without preparing them again.

    `bm25_writer(texts, directory)` builds and saves the lexical index over the passages'
    embedded texts (kept in retrieval so that indexing and querying tokenise alike).
    """
    import faiss

    build_dir.mkdir(parents=True, exist_ok=False)
    dim = int(model["dimension"])
    n_pass = sum(len(d.chunks) for d in docs)
    n_sent = sum(len(d.spans) for d in docs)
    passage_vectors = np.zeros((n_pass, dim), dtype=np.float32)
    sentence_vectors = np.zeros((n_sent, dim), dtype=np.float16)
    title_vectors = np.zeros((len(docs), dim), dtype=np.float16)
    layout = {
        "passage_doc": np.zeros(n_pass, dtype=np.int32),
        "passage_first": np.zeros(n_pass, dtype=np.int32),
        "passage_last": np.zeros(n_pass, dtype=np.int32),
        "sentence_doc": np.zeros(n_sent, dtype=np.int32),
        "sentence_start": np.zeros(n_sent, dtype=np.int32),
        "sentence_end": np.zeros(n_sent, dtype=np.int32),
        "sentence_kind": np.zeros(n_sent, dtype=np.int8),
        "sentence_block": np.zeros(n_sent, dtype=np.int32),
    }
    embed_texts: list[str] = []

    db = sqlite3.connect(build_dir / "records.sqlite")
    db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)
    p_row = s_row = 0
    for doc_idx, doc in enumerate(docs):
        db.execute(
            "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (doc_idx, doc.doc_id, doc.title, doc.text, json.dumps(doc.metadata, ensure_ascii=False),
             json.dumps(doc.references, ensure_ascii=False), doc.content_hash, doc.source,
             p_row, len(doc.chunks), s_row, len(doc.spans)),
        )
        db.executemany(
            "INSERT INTO sentences VALUES (?,?,?,?,?,?,?)",
            [(s_row + i, doc_idx, s.start, s.end, KIND_CODES[s.kind], s.block, s.text)
             for i, s in enumerate(doc.spans)],
        )
        db.executemany(
            "INSERT INTO passages VALUES (?,?,?,?,?,?,?,?,?)",
            [(p_row + i, doc_idx, c.ordinal, c.start, c.end, s_row + c.first_span, s_row + c.last_span,
              json.dumps(c.heading_path, ensure_ascii=False), c.embed_text)
             for i, c in enumerate(doc.chunks)],
        )
        n_s, n_p = len(doc.spans), len(doc.chunks)
        sl_s, sl_p = slice(s_row, s_row + n_s), slice(p_row, p_row + n_p)
        layout["sentence_doc"][sl_s] = doc_idx
        layout["sentence_start"][sl_s] = [s.start for s in doc.spans]
        layout["sentence_end"][sl_s] = [s.end for s in doc.spans]
        layout["sentence_kind"][sl_s] = [KIND_CODES[s.kind] for s in doc.spans]
        layout["sentence_block"][sl_s] = [s.block for s in doc.spans]
        layout["passage_doc"][sl_p] = doc_idx
        layout["passage_first"][sl_p] = [s_row + c.first_span for c in doc.chunks]
        layout["passage_last"][sl_p] = [s_row + c.last_span for c in doc.chunks]
        if n_p:
            passage_vectors[sl_p] = doc.passage_vectors
        if n_s:
            sentence_vectors[sl_s] = doc.sentence_vectors
        title_vectors[doc_idx] = doc.title_vector
        embed_texts.extend(c.embed_text for c in doc.chunks)
        p_row += n_p
        s_row += n_s
    db.commit()
    db.close()

    np.savez(build_dir / "layout.npz", **layout)
    np.save(build_dir / "passages.npy", passage_vectors)
    np.save(build_dir / "sentences.npy", sentence_vectors)
    np.save(build_dir / "titles.npy", title_vectors)
    faiss_kind = _write_faiss(build_dir / "passages.faiss", passage_vectors, faiss)
    bm25_writer(embed_texts, build_dir / "bm25")

    manifest = {
        "schema_version": SCHEMA_VERSION,
        "build_id": build_id,
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": model,
        "pipeline": pipeline,
        "faiss": {"type": faiss_kind, "hnsw_min_passages": HNSW_MIN_PASSAGES},
        "counts": {"documents": len(docs), "passages": n_pass, "sentences": n_sent},
        "documents": {d.doc_id: d.content_hash for d in docs},
        "skipped": skipped or {},
        "files": {name: (build_dir / name).stat().st_size for name in _REQUIRED_FILES[1:]},
    }
    # The manifest is written last: a build directory without one is never loaded.
    with open(build_dir / "manifest.json", "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    return manifest


def _write_faiss(path: Path, vectors: np.ndarray, faiss: Any) -> str:
    dim = vectors.shape[1]
    if len(vectors) >= HNSW_MIN_PASSAGES:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        kind = "hnsw"
    else:
        index = faiss.IndexFlatIP(dim)
        kind = "flat"
    if len(vectors):
        index.add(vectors)
    faiss.write_index(index, str(path))
    return kind


# --------------------------------------------------------------------------------------------
# Reading a build
# --------------------------------------------------------------------------------------------

class IndexStore:
    """A loaded, validated build: records in SQLite, vectors memory-mapped, FAISS in memory."""

    def __init__(self, build_dir: Path, manifest: dict[str, Any]) -> None:
        import faiss

        self.path = build_dir
        self.manifest = manifest
        self.build_id: str = manifest["build_id"]
        try:
            with np.load(build_dir / "layout.npz") as layout:
                self.layout = {k: layout[k] for k in layout.files}
            self.passage_vectors = np.load(build_dir / "passages.npy", mmap_mode="r")
            self.sentence_vectors = np.load(build_dir / "sentences.npy", mmap_mode="r")
            # Builds written before title vectors existed load without them (no intent signal);
            # the next ingest adds them, embedding titles only.
            titles = build_dir / "titles.npy"
            self.title_vectors: np.ndarray | None = (
                np.load(titles, mmap_mode="r") if titles.is_file() else None)
            self.faiss_index = faiss.read_index(str(build_dir / "passages.faiss"))
            self._db = sqlite3.connect(
                f"file:{build_dir / 'records.sqlite'}?mode=ro", uri=True, check_same_thread=False
            )
            self._lock = threading.Lock()
            rows = self._db.execute("SELECT doc_id, title FROM documents ORDER BY idx").fetchall()
        except (OSError, ValueError, RuntimeError, sqlite3.Error, KeyError) as exc:
            raise IndexCorrupt(f"index build {build_dir} is unreadable: {exc}") from exc
        self.doc_ids: list[str] = [r[0] for r in rows]
        self.doc_titles: list[str] = [r[1] for r in rows]
        self.doc_index: dict[str, int] = {d: i for i, d in enumerate(self.doc_ids)}
        self._check_consistency()
        if hasattr(self.faiss_index, "hnsw"):
            self.faiss_index.hnsw.efSearch = 128
        self._bm25: Any = None

    # -- opening ------------------------------------------------------------------------------
    @classmethod
    def open(cls, index_dir: Path, *, expect_model: dict[str, Any] | None = None) -> "IndexStore":
        """Open the live build of `index_dir`, refusing a missing, corrupt or mismatched one."""
        index_dir = Path(index_dir)
        build_id = current_build_id(index_dir)
        if build_id is None:
            raise IndexMissing(f"no index at {index_dir}: run `groundedqa ingest` first")
        return cls.open_build(builds_dir(index_dir) / build_id, expect_model=expect_model)

    @classmethod
    def open_build(cls, build_dir: Path, *, expect_model: dict[str, Any] | None = None) -> "IndexStore":
        """Open one build directory (see `open`)."""
        manifest = read_manifest(build_dir)
        if manifest.get("schema_version") != SCHEMA_VERSION:
            raise IndexMismatch(
                f"index {build_dir} has schema version {manifest.get('schema_version')}, this "
                f"groundedqa reads version {SCHEMA_VERSION}: rebuild it with `groundedqa ingest`"
            )
        if expect_model is not None:
            check_model(manifest, expect_model, build_dir)
        for name, size in manifest.get("files", {}).items():
            path = build_dir / name
            if not path.is_file() or path.stat().st_size != size:
                raise IndexCorrupt(f"index {build_dir} is corrupt: {name} is missing or truncated")
        return cls(build_dir, manifest)

    def _check_consistency(self) -> None:
        counts = self.manifest.get("counts", {})
        dim = self.manifest.get("model", {}).get("dimension")
        problems = []
        if len(self.doc_ids) != counts.get("documents"):
            problems.append("document count")
        if self.passage_vectors.shape != (counts.get("passages"), dim):
            problems.append("passage vectors")
        if self.sentence_vectors.shape != (counts.get("sentences"), dim):
            problems.append("sentence vectors")
        if self.title_vectors is not None and self.title_vectors.shape != (counts.get("documents"), dim):
            problems.append("title vectors")
        if self.faiss_index.ntotal != counts.get("passages"):
            problems.append("FAISS index size")
        if len(self.layout.get("sentence_doc", [])) != counts.get("sentences"):
            problems.append("sentence layout")
        if problems:
            raise IndexCorrupt(
                f"index {self.path} is corrupt ({', '.join(problems)} disagree with its manifest): "
                "rebuild it with `groundedqa ingest`"
            )

    # -- records ------------------------------------------------------------------------------
    @property
    def dimension(self) -> int:
        return int(self.manifest["model"]["dimension"])

    def bm25(self) -> Any:
        """The stored bm25s index (loaded on first use, once)."""
        if self._bm25 is None:
            import bm25s

            with self._lock:
                if self._bm25 is None:
                    self._bm25 = bm25s.BM25.load(str(self.path / "bm25"), mmap=True)
        return self._bm25

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def document(self, doc_id: str) -> DocumentRecord | None:
        """The stored document, or None for an unknown id."""
        rows = self._query(
            "SELECT idx, doc_id, title, text, metadata, refs, content_hash, source "
            "FROM documents WHERE doc_id = ?", (doc_id,)
        )
        if not rows:
            return None
        idx, doc_id, title, text, meta, refs, chash, source = rows[0]
        return DocumentRecord(doc_id=doc_id, title=title, text=text, metadata=json.loads(meta),
                              references=json.loads(refs), content_hash=chash, source=source, idx=idx)

    def documents(self) -> list[dict[str, Any]]:
        """A short listing of every document (id, title, metadata, counts)."""
        rows = self._query(
            "SELECT doc_id, title, metadata, n_passages, n_sentences, content_hash FROM documents "
            "ORDER BY idx"
        )
        return [
            {"doc_id": r[0], "title": r[1], "metadata": json.loads(r[2]), "passages": r[3],
             "sentences": r[4], "content_hash": r[5]}
            for r in rows
        ]

    def sentences(self, ids: list[int]) -> list[SentenceRecord]:
        """Span records for the given rows, in the order given."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self._query(
            f"SELECT idx, doc_idx, start, end, kind, text FROM sentences WHERE idx IN ({marks})",
            tuple(int(i) for i in ids),
        )
        by_id = {
            r[0]: SentenceRecord(r[0], r[1], self.doc_ids[r[1]], r[2], r[3], r[5], KIND_NAMES[r[4]])
            for r in rows
        }
        return [by_id[int(i)] for i in ids if int(i) in by_id]

    def passage_texts(self, ids: list[int]) -> dict[int, str]:
        """The embedded text (title, headings, passage) of the given passages."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._query(
            f"SELECT idx, embed_text FROM passages WHERE idx IN ({marks})", tuple(int(i) for i in ids)
        )
        return dict(rows)

    def doc_data(self, doc_id: str) -> DocData | None:
        """Reassemble a stored document with its spans, chunks and vectors (for reuse by a build)."""
        rec = self.document(doc_id)
        if rec is None:
            return None
        (fp, np_, fs, ns), = self._query(
            "SELECT first_passage, n_passages, first_sentence, n_sentences FROM documents "
            "WHERE idx = ?", (rec.idx,)
        )
        spans = [
            Span(start=r[0], end=r[1], text=r[3], kind=KIND_NAMES[r[2]], block=r[4])
            # Row ranges on the primary key: "WHERE doc_idx = ?" scans the whole table per document.
            for r in self._query(
                "SELECT start, end, kind, text, block FROM sentences WHERE idx >= ? AND idx < ? "
                "ORDER BY idx", (fs, fs + ns),
            )
        ]
        chunks = [
            Chunk(ordinal=r[0], start=r[1], end=r[2], first_span=r[3] - fs, last_span=r[4] - fs,
                  heading_path=json.loads(r[5]), embed_text=r[6])
            for r in self._query(
                "SELECT ordinal, start, end, first_sentence, last_sentence, heading_path, embed_text "
                "FROM passages WHERE idx >= ? AND idx < ? ORDER BY idx", (fp, fp + np_),
            )
        ]
        return DocData(
            doc_id=rec.doc_id, title=rec.title, text=rec.text, metadata=rec.metadata,
            references=rec.references, content_hash=rec.content_hash, source=rec.source,
            spans=spans, chunks=chunks,
            passage_vectors=np.array(self.passage_vectors[fp:fp + np_], dtype=np.float32),
            sentence_vectors=np.array(self.sentence_vectors[fs:fs + ns], dtype=np.float16),
            title_vector=(None if self.title_vectors is None
                          else np.array(self.title_vectors[rec.idx], dtype=np.float16)),
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()


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


def read_manifest(build_dir: Path) -> dict[str, Any]:
    """The manifest of a build directory, or IndexCorrupt with the reason."""
    path = Path(build_dir) / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexCorrupt(f"index build {build_dir} has no manifest.json (incomplete build?)") from exc
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(f"index build {build_dir} has an unreadable manifest.json: {exc}") from exc
    if not isinstance(manifest, dict) or "build_id" not in manifest:
        raise IndexCorrupt(f"index build {build_dir} has a malformed manifest.json")
    return manifest
