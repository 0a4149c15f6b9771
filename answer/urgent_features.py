"""The urgent scorer's fitted tf-idf features and linear models, applied without scikit-learn.

scikit-learn fits the scorer (answer/urgent.py); a server only applies it. Importing
scikit-learn cost each replica ~3 s of CPU at start and ~75 MiB resident (it pulls scipy.stats,
joblib, narwhals, ...), for two steps that are a few lines each: the fitted vocabulary and idf
of a `TfidfVectorizer`, and `expit(X @ coef + intercept)` of a binary `LogisticRegression`.
These classes hold exactly those fitted arrays and repeat scikit-learn's arithmetic in its
order, so the figures are bit for bit scikit-learn's (tests/test_urgent_features.py compares
them on the red-flag bank and on awkward texts).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.special import expit

# scikit-learn's `_VectorizerMixin._white_spaces` (char_wb squeezes runs of white space).
_WHITE_SPACES = re.compile(r"\s\s+")


@dataclass(frozen=True)
class TfidfFeatures:
    """A fitted `TfidfVectorizer` (lowercase, no accent stripping, no stop words, l2 norm):
    analyzer "word" (with `token_pattern`) or "char_wb", its n-gram range, vocabulary and idf."""

    analyzer: str
    ngram_range: tuple[int, int]
    token_pattern: str
    sublinear_tf: bool
    vocabulary: dict[str, int]
    idf: np.ndarray

    @classmethod
    def of(cls, vectorizer: Any) -> "TfidfFeatures":
        """The fitted state of a scikit-learn `TfidfVectorizer` set up as this class reads it."""
        supported = (vectorizer.analyzer in ("word", "char_wb") and vectorizer.lowercase
                     and vectorizer.strip_accents is None and vectorizer.stop_words is None
                     and vectorizer.preprocessor is None and vectorizer.tokenizer is None
                     and vectorizer.norm == "l2" and vectorizer.use_idf
                     and vectorizer.input == "content")
        if not supported:
            raise ValueError("TfidfFeatures reads word or char_wb vectorizers with the defaults "
                             "the urgent scorer uses")
        return cls(vectorizer.analyzer, tuple(vectorizer.ngram_range), vectorizer.token_pattern,
                   bool(vectorizer.sublinear_tf), dict(vectorizer.vocabulary_),
                   np.asarray(vectorizer.idf_, dtype=np.float64))

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """(len(texts), len(vocabulary)) tf-idf rows, as `TfidfVectorizer.transform` gives them."""
        analyse = self._analyser()
        vocabulary = self.vocabulary
        indices: list[int] = []
        counts: list[int] = []
        indptr = [0]
        for text in texts:
            counter: dict[int, int] = {}
            for feature in analyse(text):
                j = vocabulary.get(feature)
                if j is not None:
                    counter[j] = counter.get(j, 0) + 1
            indices.extend(counter.keys())
            counts.extend(counter.values())
            indptr.append(len(indices))
        matrix = sparse.csr_matrix(
            (np.asarray(counts, dtype=np.float64), np.asarray(indices, dtype=np.int32),
             np.asarray(indptr, dtype=np.int32)), shape=(len(texts), len(vocabulary)))
        matrix.sort_indices()
        data = matrix.data
        if self.sublinear_tf:
            np.log(data, data)
            data += 1.0
        data *= self.idf[matrix.indices]
        for i in range(matrix.shape[0]):  # l2, summed in column order as scikit-learn's loop
            start, end = matrix.indptr[i], matrix.indptr[i + 1]
            total = 0.0
            for value in data[start:end].tolist():
                total += value * value
            if total != 0.0:
                data[start:end] /= math.sqrt(total)
        return matrix

    def _analyser(self) -> Callable[[str], list[str]]:
        low, high = self.ngram_range
        if self.analyzer == "word":
            tokens = re.compile(self.token_pattern).findall
            return lambda text: _word_ngrams(tokens(text.lower()), low, high)
        return lambda text: _char_wb_ngrams(text.lower(), low, high)


def _word_ngrams(tokens: list[str], low: int, high: int) -> list[str]:
    """scikit-learn's `_word_ngrams` without stop words."""
    if high == 1:
        return tokens
    out = list(tokens) if low == 1 else []
    for n in range(max(low, 2), min(high + 1, len(tokens) + 1)):
        for i in range(len(tokens) - n + 1):
            out.append(" ".join(tokens[i: i + n]))
    return out


def _char_wb_ngrams(text: str, low: int, high: int) -> list[str]:
    """scikit-learn's `_char_wb_ngrams`: letter n-grams inside space-padded words."""
    out = []
    for word in _WHITE_SPACES.sub(" ", text).split():
        word = " " + word + " "
        for n in range(low, high + 1):
            offset = 0
            out.append(word[offset: offset + n])
            while offset + n < len(word):
                offset += 1
                out.append(word[offset: offset + n])
            if offset == 0:  # a word shorter than n counts once
                break
    return out


@dataclass(frozen=True)
class BinaryLinear:
    """A fitted binary `LogisticRegression`: P(positive class) = expit(X @ coef.T + intercept)."""

    coef_t: np.ndarray  # (n_features, 1)
    intercept: np.ndarray  # (1,)

    @classmethod
    def of(cls, model: Any, positive: Any = True) -> "BinaryLinear":
        """The fitted weights of a two-class scikit-learn linear classifier whose second class
        (in `classes_` order) is `positive`."""
        classes = list(model.classes_)
        if len(classes) != 2 or classes[1] != positive:
            raise ValueError(f"a binary model with {positive!r} as its second class is needed, "
                             f"not {classes}")
        return cls(np.ascontiguousarray(np.asarray(model.coef_).T),
                   np.asarray(model.intercept_).copy())

    def probability(self, features: sparse.csr_matrix) -> np.ndarray:
        """(n,) P(positive) per row of `features`."""
        scores = np.asarray(features @ self.coef_t) + self.intercept
        return expit(scores.reshape(-1))
