"""Passage search over an index build: dense (FAISS), lexical (BM25) and their fusion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from groundedqa.ingest.embed import Embedder
from groundedqa.ingest.lexical import tokenize
from groundedqa.ingest.store import IndexStore

Method = Literal["bm25", "dense", "hybrid"]
METHODS: tuple[str, ...] = ("bm25", "dense", "hybrid")
FUSIONS: tuple[str, ...] = ("rrf", "blend")
#: Reciprocal-rank-fusion constant (Cormack et al. 2009); see README for the MedQuAD comparison.
RRF_K = 60
#: How deep each method's list goes before fusion.
FUSION_DEPTH = 100


@dataclass
class PassageHit:
    """One retrieved passage (row in the build) and its score under the method that found it."""

    passage: int
    score: float


class Retriever:
    """Searches one loaded index build. The query is encoded once per call, by the caller or here."""

    def __init__(self, store: IndexStore, embedder: Embedder, *, fusion: str = "rrf",
                 dense_weight: float = 0.5) -> None:
        if fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {fusion!r}; choose from {', '.join(FUSIONS)}")
        self.store = store
        self.embedder = embedder
        self.fusion = fusion
        self.dense_weight = dense_weight

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
        """The dense and BM25 lists fused (`fusion`: reciprocal rank, or min-max score blend)."""
        depth = max(k, FUSION_DEPTH)
        lists = [self.dense(query_vector, depth), self.bm25(query, depth)]
        weights = [self.dense_weight, 1.0 - self.dense_weight]
        fused = fuse_rrf(lists, weights) if self.fusion == "rrf" else fuse_blend(lists, weights)
        return fused[:k]

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


def fuse_rrf(rankings: list[list[PassageHit]], weights: list[float], k0: int = RRF_K) -> list[PassageHit]:
    """Weighted reciprocal-rank fusion: score(p) = sum_i w_i / (k0 + rank_i(p))."""
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, hit in enumerate(ranking, start=1):
            scores[hit.passage] = scores.get(hit.passage, 0.0) + weight / (k0 + rank)
    return _ranked(scores)


def fuse_blend(rankings: list[list[PassageHit]], weights: list[float]) -> list[PassageHit]:
    """Weighted sum of min-max normalised scores (a passage missing from a list scores 0 there)."""
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        if not ranking:
            continue
        values = np.array([h.score for h in ranking], dtype=np.float64)
        low, span = values.min(), values.max() - values.min()
        for hit, value in zip(ranking, values):
            norm = (value - low) / span if span > 0 else 1.0
            scores[hit.passage] = scores.get(hit.passage, 0.0) + weight * norm
    return _ranked(scores)


def _ranked(scores: dict[int, float]) -> list[PassageHit]:
    return [PassageHit(p, s) for p, s in sorted(scores.items(), key=lambda kv: -kv[1])]
