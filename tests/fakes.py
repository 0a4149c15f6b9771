"""Test doubles at the seams: a deterministic encoder (as simonw/llm fakes its embedding model),
an in-memory dense index and a scripted reranker."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from groundedqa.index.ports import PassageHit

if TYPE_CHECKING:
    from groundedqa.service import Service

_WORD = re.compile(r"[a-z0-9]+")


class HashingEncoder:
    """Bag of words hashed into a fixed number of dimensions: texts sharing words are close.

    Deterministic and model-free, so answer and retrieval logic is tested in milliseconds.
    """

    def __init__(self, dimension: int = 384) -> None:
        self._dimension = dimension
        self.calls: list[list[str]] = []

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                # Crude stemming, so "stretches" and "stretch" meet.
                stem = word[:6]
                digest = hashlib.blake2b(stem.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self._dimension
                out[i, bucket] += 1.0 if digest[4] & 1 else -1.0
            norm = np.linalg.norm(out[i])
            out[i] = out[i] / norm if norm else out[i]
        return out

    def describe(self) -> dict[str, Any]:
        return {"id": "hashing-fake", "dimension": self._dimension, "fingerprint": "hashing-fake-v1"}


class InMemoryDenseIndex:
    """Exact inner product over a numpy matrix: what any vector store must answer."""

    def __init__(self, vectors: np.ndarray) -> None:
        self._vectors = np.asarray(vectors, dtype=np.float32)
        self.searches = 0

    @property
    def size(self) -> int:
        return len(self._vectors)

    def search(self, vector: np.ndarray, k: int) -> list[PassageHit]:
        self.searches += 1
        scores = self._vectors @ np.asarray(vector, dtype=np.float32)
        order = np.argsort(-scores, kind="stable")[:k]
        return [PassageHit(int(i), float(scores[i])) for i in order]

    def vectors(self, passages: Sequence[int] | np.ndarray) -> np.ndarray:
        return self._vectors[np.asarray(passages, dtype=np.int64)]


class ScriptedReranker:
    """Puts the passages it is told to first, in that order (a cross-encoder stand-in)."""

    def __init__(self, first: Sequence[int]) -> None:
        self.first = list(first)
        self.seen: list[list[int]] = []

    def rerank(self, query: Any, hits: list[PassageHit]) -> list[PassageHit]:
        self.seen.append([h.passage for h in hits])
        top = [h for p in self.first for h in hits if h.passage == p]
        return top + [h for h in hits if h.passage not in self.first]


def fake_service(root: Path, articles: dict[str, str], redflags: str,
                 abstain_below: float = 0.2) -> "Service":
    """A Service over `articles` (file name -> text) written under `root`, built and loaded with
    the HashingEncoder: the real stages, no model."""
    from groundedqa.ingest.build import build_index
    from groundedqa.service import Service
    from groundedqa.settings import Settings

    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in {**articles, "redflags.toml": redflags}.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = Settings(index=root / "index", corpus=corpus, abstain_below=abstain_below)
    encoder = HashingEncoder()
    build_index([corpus], settings.index, settings, embedder=encoder)
    return Service.load(settings, encoder=encoder)
