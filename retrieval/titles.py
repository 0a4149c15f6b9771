"""Questions against document titles: the field that says what a whole document is about.

A question often names its topic ("How many people are affected by spastic paraplegia type 3A?").
Embeddings blur a topic's exact name (type 3A and type 4 embed almost alike), so titles are
matched word for word.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np
from bm25s.stopwords import STOPWORDS_EN

from groundedqa.index.tokens import stemmer

#: Every run of word characters, single letters and digits included: "type 1" and "type 2" are
#: different documents, and BM25's default tokeniser drops one-character tokens.
_WORD = re.compile(r"\w+")
_STOPWORDS = frozenset(STOPWORDS_EN)
#: An exact title inside the question adds this much to its coverage score.
EXACT_BONUS = 0.5


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _terms(words: list[str]) -> set[str]:
    return set(stemmer().stemWords([w for w in words if w not in _STOPWORDS]))


def _phrase(words: list[str]) -> str:
    return f" {' '.join(words)} "


class TitleIndex:
    """Word-level title matching over one build's documents (row i = document i)."""

    def __init__(self, titles: list[str]) -> None:
        words = [_words(t or "") for t in titles]
        self._terms = [_terms(w) for w in words]
        self._phrases = [_phrase(w) if w else "" for w in words]
        df = Counter(term for terms in self._terms for term in terms)
        n = len(titles)
        # BM25's idf: a word in many titles ("syndrome", "type") says little about which one.
        self._idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def match(self, query: str, docs: np.ndarray) -> np.ndarray:
        """Per document in `docs`: (share of the title's idf the question contains) x (share of
        the question's idf the title contains), plus EXACT_BONUS if the whole title appears in
        the question. 0 for a document without a title or with no word in common."""
        words = _words(query)
        q_terms, q_phrase = _terms(words), _phrase(words)
        q_total = sum(self._idf.get(t, 0.0) for t in q_terms)
        scores = np.zeros(len(docs), dtype=np.float32)
        if q_total <= 0:
            return scores
        cache: dict[int, float] = {}
        for i, doc in enumerate(np.asarray(docs).tolist()):
            if doc not in cache:
                cache[doc] = self._score(doc, q_terms, q_phrase, q_total)
            scores[i] = cache[doc]
        return scores

    def _score(self, doc: int, q_terms: set[str], q_phrase: str, q_total: float) -> float:
        terms = self._terms[doc]
        common = sum(self._idf[t] for t in terms & q_terms)
        if common <= 0:
            return 0.0
        title_total = sum(self._idf[t] for t in terms)
        exact = EXACT_BONUS if self._phrases[doc] in q_phrase else 0.0
        return common / title_total * common / q_total + exact
