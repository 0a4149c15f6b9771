"""The embedded default index: FAISS for vectors, bm25s for terms, SQLite for the records.

The only module that touches FAISS, bm25s or the build's raw arrays. Files of a build::

    records.sqlite     documents, passages, sentences (offsets into the cleaned text, source
                       page), pages (where each PDF page's text lies in a document)
    layout.npz         row -> document / sentence-range arrays the query path keeps in memory
    passages.npy       passage vectors (float16, unit length; builds before 2 kept float32)
    sentences.npy      sentence vectors (float16, unit length; zero rows for unquotable spans)
    titles.npy         one vector per document title (float16)
    passages.faiss     FAISS inner-product index over passages.npy, its codes float16 (exact
                       scalar-quantiser scan; HNSW over the same codes past 100k)

Every array and the FAISS codes are memory-mapped, read-only: replicas on one machine share the
pages, and a process holds only what its questions touch.
    bm25/              bm25s index over the passages' embedded text
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from groundedqa.index.ports import LoadedIndex, PassageHit
from groundedqa.index.records import (
    BLOCK_CODES,
    BLOCK_KINDS,
    KIND_CODES,
    KIND_NAMES,
    DocData,
    DocumentRecord,
    SentenceRecord,
)
from groundedqa.index.tokens import stemmer, tokenize
from groundedqa.ingest.models import Chunk, PageRange, Span

# bm25s logs its indexing steps at DEBUG on a handler of its own; the ingest summary is enough.
logging.getLogger("bm25s").setLevel(logging.WARNING)

#: Texts whose analysis a lexical index keeps, and sentence records a store keeps (both re-read
#: by later questions); past this many the cache starts over.
TERMS_CACHE_SIZE = 50_000
RECORDS_CACHE_SIZE = 50_000
#: Past this many passages the dense index is HNSW (approximate); below it, exact inner product.
HNSW_MIN_PASSAGES = 100_000
#: The files `open` cannot do without (titles.npy is optional: builds from before it still serve).
_REQUIRED = ("records.sqlite", "layout.npz", "passages.npy", "sentences.npy", "passages.faiss",
             "bm25/params.index.json", "bm25/vocab.index.json", "bm25/data.csc.index.npy",
             "bm25/indices.csc.index.npy", "bm25/indptr.csc.index.npy")

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
    kind INTEGER NOT NULL, block INTEGER NOT NULL, text TEXT NOT NULL, page INTEGER
);
CREATE TABLE pages (
    doc_idx INTEGER NOT NULL, page INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL
);
CREATE INDEX pages_doc ON pages (doc_idx);
"""


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------

class FaissDenseIndex:
    """FAISS inner product over unit vectors, with the stored vectors for exact rescoring."""

    def __init__(self, index: Any, vectors: np.ndarray) -> None:
        self._index = index
        self._vectors = vectors
        if hasattr(index, "hnsw"):
            index.hnsw.efSearch = 128

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    def search(self, vector: np.ndarray, k: int) -> list[PassageHit]:
        n = self.size
        if n == 0:
            return []
        scores, ids = self._index.search(np.asarray(vector, dtype=np.float32).reshape(1, -1), min(k, n))
        return [PassageHit(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def vectors(self, passages: Sequence[int] | np.ndarray) -> np.ndarray:
        return np.asarray(self._vectors[np.asarray(passages, dtype=np.int64)], dtype=np.float32)


class Bm25LexicalIndex:
    """bm25s over the passages' embedded text (title, headings, passage), memory-mapped.

    Loaded when the build opens, not on the first question: a damaged bm25/ must refuse the
    build at load (the previous one keeps serving), not fail every answer after the swap.
    """

    def __init__(self, path: Path, size: int) -> None:
        import bm25s

        self._size = size
        self._bm25: Any = bm25s.BM25.load(str(path), mmap=True)
        self._terms: dict[str, list[str]] = {}

    @property
    def num_docs(self) -> int:
        return int(self._bm25.scores["num_docs"])

    def _model(self) -> Any:
        return self._bm25

    def search(self, query: str, k: int) -> list[PassageHit]:
        bm25 = self._model()
        ids = bm25.get_tokens_ids(self.terms([query])[0])
        if not ids or not self._size:
            return []
        # bm25s's own scores; the top k taken here rather than by `retrieve`, whose thread pool
        # and progress machinery cost a question more than the scoring itself.
        scores = bm25.get_scores_from_ids(ids)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.lexsort((top, -scores[top]))]
        return [PassageHit(int(d), float(scores[d])) for d in top if scores[d] > 0]

    def terms(self, texts: list[str]) -> list[list[str]]:
        # Candidate sentences come back question after question: each is analysed once.
        missing = [t for t in dict.fromkeys(texts) if t not in self._terms]
        if missing:
            if len(self._terms) + len(missing) > TERMS_CACHE_SIZE:
                self._terms.clear()
            self._terms.update(zip(missing, tokenize(missing)))
        return [self._terms.get(t) or tokenize([t])[0] for t in texts]

    def idf(self, terms: Sequence[str]) -> dict[str, float]:
        # BM25's idf from the stored index: document frequency = stored entries of the term.
        bm25 = self._model()
        n = int(bm25.scores["num_docs"])
        indptr = bm25.scores["indptr"]
        out = {}
        for term in terms:
            tid = bm25.vocab_dict.get(term)
            df = int(indptr[tid + 1] - indptr[tid]) if tid is not None and tid + 1 < len(indptr) else 0
            out[term] = float(np.log(1 + (n - df + 0.5) / (df + 0.5)))
        return out


class SqliteSentenceStore:
    """Records in SQLite (read-only), the layout arrays in memory, sentence vectors mapped."""

    def __init__(self, build_dir: Path) -> None:
        with np.load(build_dir / "layout.npz") as layout:
            self._layout = {k: layout[k] for k in layout.files}
        self._sentence_vectors = np.load(build_dir / "sentences.npy", mmap_mode="r")
        # Builds written before title vectors existed load without them (no intent signal);
        # the next ingest adds them, embedding titles only.
        titles = build_dir / "titles.npy"
        self._title_vectors = np.load(titles, mmap_mode="r") if titles.is_file() else None
        self._db = sqlite3.connect(
            f"file:{build_dir / 'records.sqlite'}?mode=ro", uri=True, check_same_thread=False
        )
        self._lock = threading.Lock()
        # Builds from before source pages have no page column or table: their pages read as None.
        tables = {r[0] for r in self._query("SELECT name FROM sqlite_master WHERE type = 'table'")}
        self._has_pages = "pages" in tables
        self._page_column = "page" if self._has_pages else "NULL"
        self._records: dict[int, SentenceRecord] = {}
        rows = self._query("SELECT doc_id, title FROM documents ORDER BY idx")
        self.doc_ids: list[str] = [r[0] for r in rows]
        self.doc_titles: list[str] = [r[1] for r in rows]
        doc_first = np.zeros(len(rows) + 1, dtype=np.int64)
        for idx, first, n in self._query("SELECT idx, first_sentence, n_sentences FROM documents"):
            doc_first[idx], doc_first[idx + 1] = first, first + n
        self._doc_first = doc_first
        self._section_start, self._section_stop = _sections(
            self._layout["sentence_kind"], self._layout["sentence_doc"], doc_first)

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    @property
    def n_sentences(self) -> int:
        return int(len(self._layout["sentence_doc"]))

    def document(self, doc_id: str) -> DocumentRecord | None:
        rows = self._query(
            "SELECT idx, doc_id, title, text, metadata, refs, content_hash, source "
            "FROM documents WHERE doc_id = ?", (doc_id,)
        )
        if not rows:
            return None
        idx, doc_id, title, text, meta, refs, chash, source = rows[0]
        return DocumentRecord(doc_id=doc_id, title=title, text=text, metadata=json.loads(meta),
                              references=json.loads(refs), content_hash=chash, source=source,
                              pages=self._pages(idx), idx=idx)

    def _pages(self, doc_idx: int) -> list[PageRange]:
        if not self._has_pages:
            return []
        rows = self._query("SELECT page, start, end FROM pages WHERE doc_idx = ? ORDER BY start",
                           (doc_idx,))
        return [PageRange(*r) for r in rows]

    def documents(self) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT idx, doc_id, title, metadata, n_passages, n_sentences, content_hash, source "
            "FROM documents ORDER BY idx"
        )
        pages = dict(self._query("SELECT doc_idx, COUNT(*) FROM pages GROUP BY doc_idx")) \
            if self._has_pages else {}
        return [
            {"doc_id": r[1], "title": r[2], "metadata": json.loads(r[3]), "passages": r[4],
             "sentences": r[5], "content_hash": r[6], "source": r[7], "pages": pages.get(r[0], 0)}
            for r in rows
        ]

    def sentences(self, rows: Sequence[int]) -> list[SentenceRecord]:
        if not len(rows):
            return []
        ids = tuple(int(i) for i in rows)
        cache = self._records
        missing = tuple(i for i in dict.fromkeys(ids) if i not in cache)
        if missing:
            # The same candidate sentences come back question after question: each row is read
            # from SQLite once (the records never change within a build).
            if len(cache) + len(missing) > RECORDS_CACHE_SIZE:
                cache.clear()
            marks = ",".join("?" * len(missing))
            for r in self._query(f"SELECT idx, doc_idx, start, end, kind, block, text, {self._page_column} "
                                 f"FROM sentences WHERE idx IN ({marks})", missing):
                cache[r[0]] = SentenceRecord(r[0], r[1], self.doc_ids[r[1]], r[2], r[3], r[6],
                                             KIND_NAMES[r[4]], r[5], r[7])
        return [cache[i] for i in ids if i in cache]

    def sections(self, rows: Sequence[int]) -> list[tuple[str, ...]]:
        first, last = self._layout["passage_first"], self._layout["passage_last"]
        rows = [int(r) for r in rows]
        # Passages are stored in reading order, so their first rows ascend: the last passage
        # starting at or before a row is the one that can hold it.
        at = np.searchsorted(first, np.asarray(rows, dtype=np.int64), side="right") - 1
        passage_of = [int(p) if p >= 0 and last[p] >= row else None for row, p in zip(rows, at)]
        wanted = tuple(sorted({p for p in passage_of if p is not None}))
        paths = dict(self._query(
            f"SELECT idx, heading_path FROM passages WHERE idx IN ({','.join('?' * len(wanted))})",
            wanted)) if wanted else {}
        return [tuple(json.loads(paths[p])) if p in paths else () for p in passage_of]

    def sentence_vectors(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        return np.asarray(self._sentence_vectors[np.asarray(rows, dtype=np.int64)], dtype=np.float32)

    def title_vectors(self) -> np.ndarray | None:
        return self._title_vectors

    def passage_docs(self, passages: Sequence[int] | np.ndarray) -> np.ndarray:
        return self._layout["passage_doc"][np.asarray(passages, dtype=np.int64)]

    def passage_sentences(self, passage: int) -> range:
        return range(int(self._layout["passage_first"][passage]),
                     int(self._layout["passage_last"][passage]) + 1)

    def sentence_docs(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        return self._layout["sentence_doc"][np.asarray(rows, dtype=np.int64)]

    def sentence_kinds(self, rows: Sequence[int] | np.ndarray) -> list[str]:
        codes = self._layout["sentence_kind"][np.asarray(rows, dtype=np.int64)]
        return [KIND_NAMES[int(c)] for c in codes]

    def sentence_blocks(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        return self._layout["sentence_block"][np.asarray(rows, dtype=np.int64)]

    def doc_sentences(self, doc_idx: int) -> range:
        return range(int(self._doc_first[doc_idx]), int(self._doc_first[doc_idx + 1]))

    def sentence_block_kinds(self, rows: Sequence[int] | np.ndarray) -> list[str]:
        codes = self._layout.get("sentence_block_kind")
        rows = np.asarray(rows, dtype=np.int64)
        if codes is None:  # a build from before block kinds: headings are still known
            heading = KIND_CODES["heading"]
            return ["heading" if k == heading else "paragraph"
                    for k in self._layout["sentence_kind"][rows].tolist()]
        return [BLOCK_KINDS[c] for c in codes[rows].tolist()]

    def section(self, row: int) -> range:
        return range(int(self._section_start[row]), int(self._section_stop[row]))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- for the builder only --------------------------------------------------------------------
    def doc_rows(self, doc_idx: int) -> tuple[int, int, int, int]:
        """(first passage, passages, first sentence, sentences) of a document."""
        (row,) = self._query(
            "SELECT first_passage, n_passages, first_sentence, n_sentences FROM documents WHERE idx = ?",
            (doc_idx,),
        )
        return row

    def spans_and_chunks(self, doc_idx: int) -> tuple[list[Span], list[Chunk], list[str]]:
        """A stored document's spans, chunks and block kinds (blocks without spans read as
        paragraphs: nothing refers to them)."""
        fp, np_, fs, ns = self.doc_rows(doc_idx)
        block_kinds = self.sentence_block_kinds(np.arange(fs, fs + ns))
        blocks: dict[int, str] = {}
        spans = [
            Span(start=r[0], end=r[1], text=r[3], kind=KIND_NAMES[r[2]], block=r[4], page=r[5])
            # Row ranges on the primary key: "WHERE doc_idx = ?" scans the whole table per document.
            for r in self._query(
                f"SELECT start, end, kind, text, block, {self._page_column} FROM sentences "
                "WHERE idx >= ? AND idx < ? ORDER BY idx", (fs, fs + ns),
            )
        ]
        for span, kind in zip(spans, block_kinds):
            blocks[span.block] = kind
        chunks = [
            Chunk(ordinal=r[0], start=r[1], end=r[2], first_span=r[3] - fs, last_span=r[4] - fs,
                  heading_path=json.loads(r[5]), embed_text=r[6])
            for r in self._query(
                "SELECT ordinal, start, end, first_sentence, last_sentence, heading_path, embed_text "
                "FROM passages WHERE idx >= ? AND idx < ? ORDER BY idx", (fp, fp + np_),
            )
        ]
        kinds = [blocks.get(i, "paragraph") for i in range(max(blocks, default=-1) + 1)]
        return spans, chunks, kinds


# --------------------------------------------------------------------------------------------
# The backend: write, open, reuse
# --------------------------------------------------------------------------------------------

class FaissBm25Backend:
    """Writes and opens builds made of the files listed in this module's docstring."""

    name = "faiss_bm25"

    def required_files(self, manifest: dict[str, Any]) -> list[str]:
        return list(_REQUIRED)

    def write(self, build_dir: Path, docs: list[DocData], dimension: int) -> dict[str, Any]:
        import faiss

        n_pass = sum(len(d.chunks) for d in docs)
        n_sent = sum(len(d.spans) for d in docs)
        # float16 halves the memory and the file; its rounding (~1e-4 on a cosine) is far below
        # any score difference the answer path acts on.
        passage_vectors = np.zeros((n_pass, dimension), dtype=np.float16)
        sentence_vectors = np.zeros((n_sent, dimension), dtype=np.float16)
        title_vectors = np.zeros((len(docs), dimension), dtype=np.float16)
        layout = {
            "passage_doc": np.zeros(n_pass, dtype=np.int32),
            "passage_first": np.zeros(n_pass, dtype=np.int32),
            "passage_last": np.zeros(n_pass, dtype=np.int32),
            "sentence_doc": np.zeros(n_sent, dtype=np.int32),
            "sentence_start": np.zeros(n_sent, dtype=np.int32),
            "sentence_end": np.zeros(n_sent, dtype=np.int32),
            "sentence_kind": np.zeros(n_sent, dtype=np.int8),
            "sentence_block": np.zeros(n_sent, dtype=np.int32),
            "sentence_block_kind": np.zeros(n_sent, dtype=np.int8),
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
                "INSERT INTO sentences VALUES (?,?,?,?,?,?,?,?)",
                [(s_row + i, doc_idx, s.start, s.end, KIND_CODES[s.kind], s.block, s.text, s.page)
                 for i, s in enumerate(doc.spans)],
            )
            db.executemany("INSERT INTO pages VALUES (?,?,?,?)",
                           [(doc_idx, p.page, p.start, p.end) for p in doc.pages])
            db.executemany(
                "INSERT INTO passages VALUES (?,?,?,?,?,?,?,?,?)",
                [(p_row + i, doc_idx, c.ordinal, c.start, c.end, s_row + c.first_span,
                  s_row + c.last_span, json.dumps(c.heading_path, ensure_ascii=False), c.embed_text)
                 for i, c in enumerate(doc.chunks)],
            )
            n_s, n_p = len(doc.spans), len(doc.chunks)
            sl_s, sl_p = slice(s_row, s_row + n_s), slice(p_row, p_row + n_p)
            layout["sentence_doc"][sl_s] = doc_idx
            layout["sentence_start"][sl_s] = [s.start for s in doc.spans]
            layout["sentence_end"][sl_s] = [s.end for s in doc.spans]
            layout["sentence_kind"][sl_s] = [KIND_CODES[s.kind] for s in doc.spans]
            layout["sentence_block"][sl_s] = [s.block for s in doc.spans]
            layout["sentence_block_kind"][sl_s] = [_block_code(doc, s) for s in doc.spans]
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
        _write_bm25(embed_texts, build_dir / "bm25")
        return {
            "faiss": {"type": faiss_kind, "hnsw_min_passages": HNSW_MIN_PASSAGES},
            "counts": {"documents": len(docs), "passages": n_pass, "sentences": n_sent},
        }

    def open(self, build_dir: Path, manifest: dict[str, Any]) -> LoadedIndex:
        import faiss

        # One question searches at a time per request thread: FAISS's OpenMP team would only
        # contend with the other requests for the cores.
        faiss.omp_set_num_threads(1)
        from groundedqa.index.builds import REBUILD_HINT, IndexCorrupt

        store = None
        try:
            passage_vectors = np.load(build_dir / "passages.npy", mmap_mode="r")
            dense = FaissDenseIndex(_read_faiss(build_dir / "passages.faiss", faiss), passage_vectors)
            store = SqliteSentenceStore(build_dir)
            lexical = Bm25LexicalIndex(build_dir / "bm25", dense.size)
            index = LoadedIndex(manifest["build_id"], build_dir, manifest, dense, lexical, store,
                                _closers=[store.close])
            problems = _inconsistencies(index, passage_vectors, manifest)
        except Exception as exc:  # noqa: BLE001 - whatever a damaged file raises, the build is refused
            if store is not None:
                store.close()
            raise IndexCorrupt(f"index build {build_dir} is unreadable ({type(exc).__name__}: "
                               f"{exc}): {REBUILD_HINT}") from exc
        if problems:
            index.close()
            raise IndexCorrupt(
                f"index {build_dir} is corrupt ({', '.join(problems)} disagree with its manifest): "
                f"{REBUILD_HINT}"
            )
        return index

    def reuse(self, index: LoadedIndex, doc_id: str) -> DocData | None:
        store: SqliteSentenceStore = index.store  # type: ignore[assignment]
        rec = store.document(doc_id)
        if rec is None:
            return None
        fp, np_, fs, ns = store.doc_rows(rec.idx)
        spans, chunks, block_kinds = store.spans_and_chunks(rec.idx)
        titles = store.title_vectors()
        return DocData(
            doc_id=rec.doc_id, title=rec.title, text=rec.text, metadata=rec.metadata,
            references=rec.references, content_hash=rec.content_hash, source=rec.source,
            pages=rec.pages, spans=spans, chunks=chunks, block_kinds=block_kinds,
            passage_vectors=index.dense.vectors(np.arange(fp, fp + np_)),
            sentence_vectors=store.sentence_vectors(np.arange(fs, fs + ns)).astype(np.float16),
            title_vector=None if titles is None else np.array(titles[rec.idx], dtype=np.float16),
        )


def _block_code(doc: DocData, span: Span) -> int:
    if span.kind == "heading":
        return BLOCK_CODES["heading"]
    kind = doc.block_kinds[span.block] if span.block < len(doc.block_kinds) else "paragraph"
    return BLOCK_CODES[kind]


def _sections(kinds: np.ndarray, docs: np.ndarray, doc_first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per sentence row, the first row of its section and the row after its last (headings open
    sections, documents bound them); a heading row belongs to the section it opens."""
    n = len(kinds)
    rows = np.arange(n, dtype=np.int64)
    heading = kinds == KIND_CODES["heading"]
    doc_start = np.zeros(n, dtype=bool)
    doc_start[doc_first[:-1][doc_first[:-1] < n]] = True
    # Start: the latest (heading row + 1) or document start at or before each row.
    opens = np.where(heading, rows + 1, np.where(doc_start, rows, 0))
    start = np.maximum.accumulate(opens) if n else opens
    # Stop: the next heading row after each row, or its document's end.
    doc_stop = doc_first[docs.astype(np.int64) + 1] if n else rows
    closes = np.where(heading, rows, n)
    after = np.minimum.accumulate(closes[::-1])[::-1] if n else closes
    nxt = np.append(after[1:], n)
    stop = np.minimum(nxt, doc_stop)
    return start, stop


def _inconsistencies(index: LoadedIndex, passage_vectors: np.ndarray, manifest: dict[str, Any]) -> list[str]:
    store: SqliteSentenceStore = index.store  # type: ignore[assignment]
    counts = manifest.get("counts", {})
    dim = manifest.get("model", {}).get("dimension")
    problems = []
    if len(store.doc_ids) != counts.get("documents"):
        problems.append("document count")
    if passage_vectors.shape != (counts.get("passages"), dim):
        problems.append("passage vectors")
    if store._sentence_vectors.shape != (counts.get("sentences"), dim):
        problems.append("sentence vectors")
    titles = store.title_vectors()
    if titles is not None and titles.shape != (counts.get("documents"), dim):
        problems.append("title vectors")
    if index.dense.size != counts.get("passages"):
        problems.append("FAISS index size")
    if index.lexical.num_docs != counts.get("passages"):  # type: ignore[attr-defined]
        problems.append("BM25 index size")
    if store.n_sentences != counts.get("sentences"):
        problems.append("sentence layout")
    return problems


def _write_faiss(path: Path, vectors: np.ndarray, faiss: Any) -> str:
    dim = vectors.shape[1]
    fp16 = faiss.ScalarQuantizer.QT_fp16
    if len(vectors) >= HNSW_MIN_PASSAGES:
        index = faiss.IndexHNSWSQ(dim, fp16, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        kind = "hnsw_sq_fp16"
    else:
        index = faiss.IndexScalarQuantizer(dim, fp16, faiss.METRIC_INNER_PRODUCT)
        kind = "sq_fp16"
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    faiss.write_index(index, str(path))
    return kind


def _read_faiss(path: Path, faiss: Any) -> Any:
    """The index with its codes memory-mapped (FAISS's flat-codes mmap), else read whole."""
    try:
        return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)
    except (RuntimeError, AttributeError):  # an index type (or FAISS) without that reader
        return faiss.read_index(str(path))


def _write_bm25(texts: list[str], directory: Path) -> None:
    """Index `texts` (row i = passage i) and save the bm25s index into `directory`."""
    import bm25s

    retriever = bm25s.BM25()
    tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer(), show_progress=False)
    retriever.index(tokens, show_progress=False)
    retriever.save(str(directory), show_progress=False)
