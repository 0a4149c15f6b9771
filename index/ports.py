"""The index's ports: what the answer path and ingest need from a model and a vector store.

Everything outside an adapter talks to these protocols only, so a new embedding runtime, vector
store or lexical engine is one new file (see `faiss_bm25.py`, the embedded default, and the
in-memory doubles in the tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from groundedqa.index.records import DocData, DocumentRecord, SentenceRecord


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into unit vectors (inner product = cosine)."""

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dimension) float32, L2-normalised."""
        ...

    def describe(self) -> dict[str, Any]:
        """What a build's manifest records: id, dimension, fingerprint (and variant)."""
        ...


@dataclass(frozen=True)
class PassageHit:
    """One retrieved passage (row in the build) and its score under the method that found it."""

    passage: int
    score: float


class DenseIndex(Protocol):
    """Nearest passages by vector."""

    @property
    def size(self) -> int: ...

    def search(self, vector: np.ndarray, k: int) -> list[PassageHit]:
        """The `k` passages with the highest inner product with `vector`."""
        ...

    def vectors(self, passages: Sequence[int] | np.ndarray) -> np.ndarray:
        """Stored passage vectors (float32) for exact rescoring."""
        ...


class LexicalIndex(Protocol):
    """Passages by term match."""

    def search(self, query: str, k: int) -> list[PassageHit]:
        """The `k` best passages by lexical score; passages scoring 0 are left out."""
        ...

    def terms(self, texts: list[str]) -> list[list[str]]:
        """The index's own analysis of texts (tokens as the index sees them)."""
        ...

    def idf(self, terms: Sequence[str]) -> dict[str, float]:
        """Inverse document frequency of each term in this index."""
        ...


class SentenceStore(Protocol):
    """Documents, their sentences (verbatim spans with offsets) and how passages hold them."""

    doc_ids: list[str]
    doc_titles: list[str]

    @property
    def n_sentences(self) -> int: ...

    def document(self, doc_id: str) -> DocumentRecord | None: ...

    def documents(self) -> list[dict[str, Any]]: ...

    def sentences(self, rows: Sequence[int]) -> list[SentenceRecord]:
        """Sentence records for the given rows, in the order given."""
        ...

    def sections(self, rows: Sequence[int]) -> list[tuple[str, ...]]:
        """The heading path (outermost first) of the section each sentence row stands in;
        empty for a row outside any section."""
        ...

    def sentence_vectors(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """Stored sentence vectors (float32; zero rows for spans that are never quoted)."""
        ...

    def title_vectors(self) -> np.ndarray | None:
        """One vector per document title (None for builds made before they existed)."""
        ...

    def passage_docs(self, passages: Sequence[int] | np.ndarray) -> np.ndarray:
        """The document row of each passage."""
        ...

    def passage_sentences(self, passage: int) -> range:
        """The sentence rows a passage holds, in reading order."""
        ...

    def sentence_docs(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """The document row of each sentence row."""
        ...

    def sentence_kinds(self, rows: Sequence[int] | np.ndarray) -> list[str]:
        """The span kind of each sentence row ("sentence" is the only quotable kind)."""
        ...

    def sentence_blocks(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """The block (paragraph, list item, heading) of each sentence row within its document."""
        ...

    def doc_sentences(self, doc_idx: int) -> range:
        """Every sentence row of a document, in reading order."""
        ...

    def sentence_block_kinds(self, rows: Sequence[int] | np.ndarray) -> list[str]:
        """The kind of the block each sentence row stands in: "paragraph", "list_item" or
        "heading" (builds made before block kinds were stored read as paragraphs)."""
        ...

    def section(self, row: int) -> range:
        """The rows of the section holding `row`: from after the heading that opens it (or the
        document's first row) up to the document's next heading (or its end)."""
        ...


@dataclass
class LoadedIndex:
    """One published build, open for reading through its ports."""

    build_id: str
    path: Path
    manifest: dict[str, Any]
    dense: DenseIndex
    lexical: LexicalIndex
    store: SentenceStore
    _closers: list[Any] = field(default_factory=list, repr=False)

    def close(self) -> None:
        for close in self._closers:
            close()


class IndexBackend(Protocol):
    """Writes and opens builds of one storage engine (the files inside a build directory)."""

    name: str

    def write(self, build_dir: Path, docs: list[DocData], dimension: int) -> dict[str, Any]:
        """Write every file the backend reads into `build_dir`; return manifest extras."""
        ...

    def required_files(self, manifest: dict[str, Any]) -> list[str]:
        """Files (relative to the build) that must exist for `open` to work."""
        ...

    def open(self, build_dir: Path, manifest: dict[str, Any]) -> LoadedIndex:
        """Open a validated build for reading."""
        ...

    def reuse(self, index: LoadedIndex, doc_id: str) -> DocData | None:
        """A stored document with its spans, chunks and vectors, for an incremental build."""
        ...
