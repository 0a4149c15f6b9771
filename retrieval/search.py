"""Passage search over the index ports: dense, lexical (BM25) and their hybrid rescoring."""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

import numpy as np

from groundedqa.index.ports import Encoder, LoadedIndex, PassageHit
from groundedqa.retrieval.titles import TitleIndex
from groundedqa.retrieval.weights import HybridWeights

Method = Literal["bm25", "dense", "hybrid"]
METHODS: tuple[str, ...] = ("bm25", "dense", "hybrid")
#: How deep each method's list goes before the hybrid rescoring.
FUSION_DEPTH = 100


class HybridSearch:
    """Searches one loaded index build. The query is encoded once per call, by the caller or here.

    BEIR's contract: every method answers `search(query, method, k)` with ranked passages.
    """

    def __init__(self, index: LoadedIndex, encoder: Encoder,
                 weights: HybridWeights = HybridWeights()) -> None:
        self.index = index
        self.encoder = encoder
        self.weights = weights
        # Built with the service (0.15 s for 16k titles), not on a patient's first question.
        self.titles = TitleIndex(index.store.doc_titles)
        self._rows_of: dict[str, int] | None = None

    # -- single methods -----------------------------------------------------------------------
    def dense(self, query_vector: np.ndarray, k: int) -> list[PassageHit]:
        """Nearest passages by inner product over unit vectors (cosine)."""
        return self.index.dense.search(query_vector, k)

    def bm25(self, query: str, k: int) -> list[PassageHit]:
        """BM25 over the passages' embedded text (title, headings, passage); zero scores dropped."""
        return self.index.lexical.search(query, k)

    def hybrid(self, query: str, query_vector: np.ndarray, k: int,
               exclude: Collection[str] = ()) -> list[PassageHit]:
        """Dense and BM25 candidates, rescored: cosine + lexical x min-max BM25 + title x title
        match (see `titles`) + intent x cosine to the question without its topic. Passages of
        the documents in `exclude` (ids) are left out before anything is scored."""
        depth = max(k, FUSION_DEPTH)
        lexical = self.bm25(query, depth)
        ids = np.array(sorted({h.passage for h in self.dense(query_vector, depth)}
                              | {h.passage for h in lexical}), dtype=np.int64)
        if len(ids) and exclude:
            ids = ids[~np.isin(self.index.store.passage_docs(ids), self._doc_rows(exclude))]
            kept = set(ids.tolist())
            lexical = [h for h in lexical if h.passage in kept]
        if not len(ids):
            return []
        w = self.weights
        # Exact cosines for every candidate: a BM25-only passage has no dense score, and HNSW's
        # are approximate.
        vectors = self.index.dense.vectors(ids)
        scores = vectors @ np.asarray(query_vector, dtype=np.float32)
        if lexical and w.lexical:
            bm25 = np.array([h.score for h in lexical])
            span = bm25.max() - bm25.min()
            norm = (bm25 - bm25.min()) / span if span > 0 else np.ones_like(bm25)
            scores[np.searchsorted(ids, [h.passage for h in lexical])] += w.lexical * norm
        docs = self.index.store.passage_docs(ids)
        title = (self.titles.match(query, docs) if w.title or w.intent
                 else np.zeros(len(ids), dtype=np.float32))
        scores += w.title * title
        if w.intent:
            scores += w.intent * (vectors @ self._intent_vector(query_vector, docs, scores, title))
        order = np.argsort(-scores, kind="stable")[:k]
        return [PassageHit(int(ids[i]), float(scores[i])) for i in order]

    def _doc_rows(self, doc_ids: Collection[str]) -> np.ndarray:
        """Rows in this build of the documents `doc_ids` (ids it does not hold are ignored)."""
        if self._rows_of is None:
            self._rows_of = {doc_id: n for n, doc_id in enumerate(self.index.store.doc_ids)}
        return np.array([self._rows_of[d] for d in doc_ids if d in self._rows_of], dtype=np.int64)

    def _intent_vector(self, query_vector: np.ndarray, docs: np.ndarray, scores: np.ndarray,
                       title: np.ndarray) -> np.ndarray:
        """The question with its topic taken out: q - t, t the title vector of the best
        candidate's document, when the question names that title. Sections written about one
        topic all match its name; they differ in what the rest of the question asks."""
        query_vector = np.asarray(query_vector, dtype=np.float32)
        best = int(np.argmax(scores))
        titles = self.index.store.title_vectors()
        if titles is None or title[best] <= 0:
            return query_vector
        intent = query_vector - np.asarray(titles[int(docs[best])], dtype=np.float32)
        norm = float(np.linalg.norm(intent))
        return intent / norm if norm > 1e-6 else query_vector

    def search(self, query: str, method: Method = "hybrid", k: int = 10,
               query_vector: np.ndarray | None = None) -> list[PassageHit]:
        """Passages for `query` by `method`; pass `query_vector` to reuse an encoding."""
        if method not in METHODS:
            raise ValueError(f"unknown retrieval method {method!r}; choose from {', '.join(METHODS)}")
        if method == "bm25":
            return self.bm25(query, k)
        if query_vector is None:
            query_vector = self.encoder.encode([query])[0]
        if method == "dense":
            return self.dense(query_vector, k)
        return self.hybrid(query, query_vector, k)

    def term_overlap(self, query: str, texts: list[str]) -> np.ndarray:
        """Share of the query's idf mass whose terms each text contains (0..1)."""
        lexical = self.index.lexical
        query_terms = set(lexical.terms([query])[0])
        idf = lexical.idf(sorted(query_terms))
        total = sum(idf.values())
        if not texts or total <= 0:
            return np.zeros(len(texts), dtype=np.float32)
        return np.array(
            [sum(idf[t] for t in query_terms.intersection(terms)) / total
             for terms in lexical.terms(texts)],
            dtype=np.float32,
        )

    # -- documents ----------------------------------------------------------------------------
    def to_documents(self, hits: list[PassageHit], k: int) -> list[tuple[str, float]]:
        """Collapse passage hits to documents (a document ranks by its best passage)."""
        seen: dict[str, float] = {}
        if not hits:
            return []
        docs = self.index.store.passage_docs([h.passage for h in hits])
        for hit, doc in zip(hits, docs):
            doc_id = self.index.store.doc_ids[int(doc)]
            if doc_id not in seen:
                seen[doc_id] = hit.score
                if len(seen) == k:
                    break
        return list(seen.items())

    def search_docs_batch(self, queries: list[str], method: Method, k: int) -> list[list[tuple[str, float]]]:
        """Document rankings for many queries (queries encoded in one batch)."""
        vectors = self.encoder.encode(queries) if method != "bm25" else [None] * len(queries)
        # Passages per document vary; searching deeper than k keeps k distinct documents.
        depth = k * 4
        return [
            self.to_documents(self.search(q, method, depth, query_vector=v), k)
            for q, v in zip(queries, vectors)
        ]
