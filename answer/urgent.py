"""The urgent scorer: a small classifier, trained at start from the clinic's red-flag bank.

Each example in corpus/redflags.toml (a concept's phrasings, in any language, and the
[not_urgent] counter-examples) becomes one row of features:

- its MiniLM sentence embedding (what it means, whatever the words);
- tf-idf over its lemmas, single and in pairs ("both leg", "wet myself");
- tf-idf over letter groups of 3-5 characters (misspellings: "numbnes", "weeker", "bladdr").

One logistic regression per concept (scikit-learn) learns that concept against everything else
in the bank. It trains in well under a second once the bank is embedded (one batch at start,
cached per encoder), so a clinician's edit to the bank takes effect on the next start or index
swap. The trained scorer is kept on disk (`urgent_cache.py`), keyed by the bank, the encoder and
the code, so a restart with an unchanged bank neither embeds the bank nor trains.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from groundedqa.answer.clauses import lemmas
from groundedqa.answer.redflags import RedFlagConfig
from groundedqa.index.ports import Encoder

if TYPE_CHECKING:
    from groundedqa.answer.urgent_cache import ScorerCache

#: Weight of the embedding block against the two (unit-length) tf-idf blocks.
EMBEDDING_WEIGHT = 1.0
#: Inverse regularisation of the logistic regression.
REGULARISATION_C = 4.0
NOT_URGENT = "not urgent"


@dataclass(frozen=True)
class Example:
    text: str
    language: str
    label: str


def bank_examples(config: RedFlagConfig) -> list[Example]:
    """Every labelled example of the bank: concept phrasings and the not-urgent ones."""
    out = [Example(text, lang, c.name) for c in config.concepts for lang, text in c.examples()]
    out += [Example(text, lang, NOT_URGENT) for examples in config.not_urgent.values()
            for lang, text in examples]
    return out


class _EmbeddingCache:
    """Bank embeddings per encoder, so a hot swap with an unchanged bank does not re-embed it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_encoder: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def encode(self, encoder: Encoder, texts: list[str]) -> np.ndarray:
        key = hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()
        with self._lock:
            try:
                known = self._by_encoder.setdefault(encoder, {})
            except TypeError:  # an encoder that cannot be weakly referenced: no caching
                known = {}
            if key not in known:
                known[key] = np.asarray(encoder.encode(texts), dtype=np.float32)
            return known[key]


_CACHE = _EmbeddingCache()


def _lemma_text(text: str, language: str) -> str:
    return " ".join(lemmas(text, language))


class UrgentScorer:
    """P(each concept) for short texts (clauses), from their embeddings and their words."""

    def __init__(self, labels: list[str], words: TfidfVectorizer, letters: TfidfVectorizer,
                 models: list[LogisticRegression]) -> None:
        self.labels = labels  # concept names, in the order of `probabilities`' columns
        self._words = words
        self._letters = letters
        self._models = models

    @classmethod
    def load_or_train(cls, config: RedFlagConfig, encoder: Encoder,
                      cache: ScorerCache | None) -> "UrgentScorer":
        """The scorer `cache` holds for this bank, encoder and code; else trained (and stored)."""
        if cache is None:
            return cls.train(config, encoder)
        from groundedqa.answer.urgent_cache import scorer_key

        key = scorer_key(config, encoder)
        scorer = cache.load(key)
        if scorer is None:
            scorer = cls.train(config, encoder)
            cache.save(key, scorer)
        return scorer

    @classmethod
    def train(cls, config: RedFlagConfig, encoder: Encoder) -> "UrgentScorer":
        """Fit on the bank (embedding it once per encoder and bank)."""
        examples = bank_examples(config)
        labels = [c.name for c in config.concepts]
        words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                                token_pattern=r"(?u)\b\w+\b")
        letters = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True,
                                  min_df=2)
        if not labels or not any(e.label == NOT_URGENT for e in examples):
            return cls(labels, words, letters, [])  # nothing to learn: never urgent by score
        lemma_texts = [_lemma_text(e.text, e.language) for e in examples]
        words.fit(lemma_texts)
        letters.fit(lemma_texts)
        vectors = _CACHE.encode(encoder, [e.text for e in examples])
        features = cls._stack(vectors, words.transform(lemma_texts), letters.transform(lemma_texts))
        targets = [e.label for e in examples]
        # One-vs-rest: each concept has its own yes/no model, so a text unlike every concept
        # (a greeting, a question in German, an injection attempt) scores low for all of them
        # instead of sharing a softmax's probability mass among them.
        models = []
        for label in labels:
            model = LogisticRegression(C=REGULARISATION_C, class_weight="balanced", max_iter=3000)
            model.fit(features, [t == label for t in targets])
            models.append(model)
        return cls(labels, words, letters, models)

    @staticmethod
    def _stack(vectors: np.ndarray, words: sparse.spmatrix, letters: sparse.spmatrix) -> sparse.csr_matrix:
        return sparse.hstack([sparse.csr_matrix(EMBEDDING_WEIGHT * np.asarray(vectors)), words,
                              letters]).tocsr()

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray,
                      language: str = "en") -> np.ndarray:
        """(len(texts), len(labels)): the probability that each text describes each concept."""
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        if not self._models or not len(texts):
            return out
        lemma_texts = [_lemma_text(t, language) for t in texts]
        features = self._stack(vectors, self._words.transform(lemma_texts),
                               self._letters.transform(lemma_texts))
        for j, model in enumerate(self._models):
            out[:, j] = model.predict_proba(features)[:, list(model.classes_).index(True)]
        return out
