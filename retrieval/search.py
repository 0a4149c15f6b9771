"""Passage search over an index build: dense (FAISS), lexical (BM25) and their fusion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from groundedqa.ingest.embed import Embedder
from groundedqa.ingest.lexical import tokenize
from groundedqa.ingest.store import IndexStore
from groundedqa.retrieval.titles import TitleIndex
from groundedqa.retrieval.weights import HybridWeights

Method = Literal["bm25", "dense", "hybrid"]
METHODS: tuple[str, ...] = ("bm25", "dense", "hybrid")
#: How deep each method's list goes before the hybrid rescoring.
FUSION_DEPTH = 100


@dataclass
class PassageHit:
    """One retrieved passage (row in the build) and its score under the method that found it."""

    passage: int
    score: float


class Retriever:
    """Searches one loaded index build. The query is encoded once per call, by the caller or here."""

    def __init__(self, store: IndexStore, embedder: Embedder,
                 weights: HybridWeights = HybridWeights()) -> None:
        self.store = store
        self.embedder = embedder
        self.weights = weights
        # Built with the pipeline (0.15 s for 16k titles), not on a patient's first question.
        self.titles = TitleIndex(store.doc_titles)

    # -- single methods -----------------------------------------------------------------------
    def dense(self, query_vector: np.ndarray, k: int) -> list[PassageHit]:
        """Inner product over unit vectors (cosine) with FAISS."""
        n = self.store.faiss_index.ntotal
        if n == 0:
            return []
        scores, ids = self.store.faiss_index.search(
            np.asarray(query_vector, dtype=np.float32).reshape(1, -1), min(k, n)
        )
        return [PassageHit(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def bm25(self, query: str, k: int) -> list[PassageHit]:
        """BM25 over the passages' embedded text (title, headings, passage); zero scores dropped."""
        tokens = tokenize([query])[0]
        bm25 = self.store.bm25()
        if not tokens or not bm25.get_tokens_ids(tokens):
            return []
        n = int(self.store.faiss_index.ntotal)
        docs, scores = bm25.retrieve([tokens], k=min(k, n), show_progress=False, n_threads=1)
        return [PassageHit(int(d), float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]

    def hybrid(self, query: str, query_vector: np.ndarray, k: int) -> list[PassageHit]:
        """Dense and BM25 candidates, rescored: cosine + lexical x min-max BM25 + title x title
        match (see `titles`) + intent x cosine to the question without its topic."""
        depth = max(k, FUSION_DEPTH)
        lexical = self.bm25(query, depth)
        ids = np.array(sorted({h.passage for h in self.dense(query_vector, depth)}
                              | {h.passage for h in lexical}), dtype=np.int64)
        if not len(ids):
            return []
        w = self.weights
        # Exact cosines for every candidate: a BM25-only passage has no dense score, and HNSW's
        # are approximate.
        vectors = np.asarray(self.store.passage_vectors[ids], dtype=np.float32)
        scores = vectors @ np.asarray(query_vector, dtype=np.float32)
        if lexical and w.lexical:
            bm25 = np.array([h.score for h in lexical])
            span = bm25.max() - bm25.min()
            norm = (bm25 - bm25.min()) / span if span > 0 else np.ones_like(bm25)
            scores[np.searchsorted(ids, [h.passage for h in lexical])] += w.lexical * norm
        docs = self.store.layout["passage_doc"][ids]
        title = (self.titles.match(query, docs) if w.title or w.intent
                 else np.zeros(len(ids), dtype=np.float32))
        scores += w.title * title
        if w.intent:
            scores += w.intent * (vectors @ self._intent_vector(query_vector, docs, scores, title))
        order = np.argsort(-scores, kind="stable")[:k]
        return [PassageHit(int(ids[i]), float(scores[i])) for i in order]

    def _intent_vector(self, query_vector: np.ndarray, docs: np.ndarray, scores: np.ndarray,
                       title: np.ndarray) -> np.ndarray:
        """The question with its topic taken out: q - t, t the title vector of the best
        candidate's document, when the question names that title. Sections written about one
        topic all match its name; they differ in what the rest of the question asks."""
        query_vector = np.asarray(query_vector, dtype=np.float32)
        best = int(np.argmax(scores))
        if self.store.title_vectors is None or title[best] <= 0:
            return query_vector
        intent = query_vector - np.asarray(self.store.title_vectors[int(docs[best])], dtype=np.float32)
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
            query_vector = self.embedder.encode([query])[0]
        if method == "dense":
            return self.dense(query_vector, k)
        return self.hybrid(query, query_vector, k)

    def term_overlap(self, query: str, texts: list[str]) -> np.ndarray:
        """Share of the query's BM25 idf mass whose terms each text contains (0..1)."""
        query_terms = set(tokenize([query])[0])
        idf = {t: self._idf(t) for t in query_terms}
        total = sum(idf.values())
        if not texts or total <= 0:
            return np.zeros(len(texts), dtype=np.float32)
        return np.array(
            [sum(idf[t] for t in query_terms.intersection(terms)) / total for terms in tokenize(texts)],
            dtype=np.float32,
        )

    def _idf(self, term: str) -> float:
        # BM25's idf from the stored index: document frequency = stored entries of the term.
        bm25 = self.store.bm25()
        n = int(bm25.scores["num_docs"])
        tid = bm25.vocab_dict.get(term)
        indptr = bm25.scores["indptr"]
        df = int(indptr[tid + 1] - indptr[tid]) if tid is not None and tid + 1 < len(indptr) else 0
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))

    # -- documents ----------------------------------------------------------------------------
    def to_documents(self, hits: list[PassageHit], k: int) -> list[tuple[str, float]]:
        """Collapse passage hits to documents (a document ranks by its best passage)."""
        seen: dict[str, float] = {}
        passage_doc = self.store.layout["passage_doc"]
        for hit in hits:
            doc_id = self.store.doc_ids[int(passage_doc[hit.passage])]
            if doc_id not in seen:
                seen[doc_id] = hit.score
                if len(seen) == k:
                    break
        return list(seen.items())

    def search_docs_batch(self, queries: list[str], method: Method, k: int) -> list[list[tuple[str, float]]]:
        """Document rankings for many queries (queries encoded in one batch)."""
        vectors = self.embedder.encode(queries) if method != "bm25" else [None] * len(queries)
        # Passages per document vary; searching deeper than k keeps k distinct documents.
        depth = k * 4
        return [
            self.to_documents(self.search(q, method, depth, query_vector=v), k)
            for q, v in zip(queries, vectors)
        ]
