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

The fitted vectorisers and models are converted (skl2onnx) into ONNX graphs that ONNX Runtime
runs, the runtime the question encoder already loads: a replica applying a stored scorer imports
neither scikit-learn nor scipy (~3 s of CPU and ~100 MiB at every start). Only training does.
"""

from __future__ import annotations

import hashlib
import re
import threading
import warnings
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from groundedqa.answer.clauses import lemmas
from groundedqa.answer.redflags import RedFlagConfig
from groundedqa.index.ports import Encoder

if TYPE_CHECKING:
    import onnxruntime as ort

    from groundedqa.answer.urgent_cache import ScorerCache

#: Weight of the embedding block against the two (unit-length) tf-idf blocks.
EMBEDDING_WEIGHT = 1.0
#: Inverse regularisation of the logistic regression.
REGULARISATION_C = 4.0
NOT_URGENT = "not urgent"
#: scikit-learn's default word pattern: the lemma text is split by it before both runtimes see it.
_TOKEN = re.compile(r"(?u)\b\w+\b")
#: The ONNX graphs' inputs and output, and the opset they are written in.
TEXT, FEATURES, PROBABILITIES = "lemma_text", "features", "concept_probabilities"
OPSET = 17
#: Serialized ONNX graphs: word vectoriser, letter vectoriser, the concepts' models.
Graphs = tuple[bytes, bytes, bytes]


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


def _padded(lemma_text: str) -> str:
    """The text the letter vectoriser reads: the first and last word get their edges too."""
    return f" {lemma_text} "


def _lemma_text(text: str, language: str) -> str:
    # Lower-cased word tokens joined by single spaces: the one form that scikit-learn (fitting)
    # and ONNX Runtime's tokenizer (serving, split on " ") cut into the same words and letters.
    return " ".join(_TOKEN.findall(" ".join(lemmas(text, language)).lower()))


class UrgentScorer:
    """P(each concept) for short texts (clauses), from their embeddings and their words."""

    def __init__(self, labels: list[str], graphs: Graphs | None) -> None:
        self.labels = labels  # concept names, in the order of `probabilities`' columns
        self.graphs = graphs  # the serialized ONNX graphs; None: nothing learnt, never urgent
        self._sessions = tuple(_session(g) for g in graphs) if graphs is not None else None

    def __getstate__(self) -> dict[str, Any]:
        return {"labels": self.labels, "graphs": self.graphs}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["labels"], state["graphs"])

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
        """Fit on the bank (embedding it once per encoder and bank) and convert to ONNX."""
        fitted = fit(config, encoder)
        if fitted is None:
            return cls([c.name for c in config.concepts], None)  # never urgent by score
        return cls.convert(fitted)

    @classmethod
    def convert(cls, fitted: FittedScorer) -> "UrgentScorer":
        """The scorer that applies `fitted` through ONNX Runtime."""
        return cls(fitted.labels, _to_onnx(fitted))

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray,
                      language: str = "en") -> np.ndarray:
        """(len(texts), len(labels)): the probability that each text describes each concept."""
        if self._sessions is None or not len(texts):
            return np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        words, letters, models = self._sessions
        lemma_texts = [_lemma_text(t, language) for t in texts]
        features = np.hstack([
            EMBEDDING_WEIGHT * np.asarray(vectors, dtype=np.float32),
            words.run(None, {TEXT: np.array([[t] for t in lemma_texts], dtype=object)})[0],
            letters.run(None, {TEXT: np.array([[_padded(t)] for t in lemma_texts], dtype=object)})[0]])
        return models.run([PROBABILITIES], {FEATURES: features})[0]


@dataclass
class FittedScorer:
    """The fitted scikit-learn objects (training only; serving runs their ONNX conversion)."""

    labels: list[str]
    words: Any  # TfidfVectorizer over the lemma text's words and word pairs
    letters: Any  # TfidfVectorizer over its letter groups
    models: list[Any]  # one LogisticRegression per label
    dimension: int  # of the embeddings

    def features(self, lemma_texts: list[str], vectors: np.ndarray) -> Any:
        """[embedding x weight | word tf-idf | letter tf-idf], a sparse row per text."""
        from scipy import sparse

        return sparse.hstack([sparse.csr_matrix(EMBEDDING_WEIGHT * np.asarray(vectors)),
                              self.words.transform(lemma_texts),
                              self.letters.transform([_padded(t) for t in lemma_texts])]).tocsr()

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray,
                      language: str = "en") -> np.ndarray:
        """What the converted graph computes, by scikit-learn (to check the conversion)."""
        features = self.features([_lemma_text(t, language) for t in texts], vectors)
        return np.stack([m.predict_proba(features)[:, list(m.classes_).index(True)]
                         for m in self.models], axis=1)


def fit(config: RedFlagConfig, encoder: Encoder) -> FittedScorer | None:
    """The scorer's vectorisers and per-concept models fitted on the bank; None when there is
    nothing to learn (no concept, or no not-urgent example)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    examples = bank_examples(config)
    labels = [c.name for c in config.concepts]
    if not labels or not any(e.label == NOT_URGENT for e in examples):
        return None
    # Configured so that skl2onnx converts them exactly. lowercase=False: the lemma text is
    # lower-cased already, and a graph without ONNX's StringNormalizer needs no system locale.
    # Raw term counts: its sublinear_tf graph computes log(1 + tf), not 1 + log(tf).
    lemma_texts = [_lemma_text(e.text, e.language) for e in examples]
    words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), lowercase=False,
                            token_pattern=_TOKEN.pattern).fit(lemma_texts)
    # Letter groups inside words (with the word's edges: " leg", "eg "), as "char_wb" learns
    # them, counted by "char" (which has a converter; "char_wb" has none) over the padded text:
    # with char_wb's vocabulary, the groups "char" finds across words ("g b") are not counted.
    within_words = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), lowercase=False,
                                   min_df=2).fit(lemma_texts).vocabulary_
    letters = TfidfVectorizer(analyzer="char", ngram_range=(3, 5), lowercase=False,
                              vocabulary=within_words).fit([_padded(t) for t in lemma_texts])
    vectors = _CACHE.encode(encoder, [e.text for e in examples])
    fitted = FittedScorer(labels, words, letters, [], vectors.shape[1])
    features = fitted.features(lemma_texts, vectors)
    targets = [e.label for e in examples]
    # One-vs-rest: each concept has its own yes/no model, so a text unlike every concept
    # (a greeting, a question in German, an injection attempt) scores low for all of them
    # instead of sharing a softmax's probability mass among them.
    for label in labels:
        model = LogisticRegression(C=REGULARISATION_C, class_weight="balanced", max_iter=3000)
        model.fit(features, [t == label for t in targets])
        fitted.models.append(model)
    return fitted


def _to_onnx(fitted: FittedScorer) -> Graphs:
    """The fitted objects as ONNX graphs (skl2onnx's converters): the word and the letter
    vectoriser (lemma text -> tf-idf), and every concept's model in one graph (the stacked
    features -> P(concept) per column)."""
    from skl2onnx import convert_sklearn
    from skl2onnx.algebra.onnx_ops import OnnxConcat, OnnxSlice
    from skl2onnx.algebra.onnx_operator import OnnxSubEstimator
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    text = [(TEXT, StringTensorType([None, 1]))]
    # The lemma text is single-spaced tokens (_lemma_text): split on " " as scikit-learn did.
    words = convert_sklearn(fitted.words, initial_types=text, target_opset=OPSET,
                            options={id(fitted.words): {"separators": [" "]}})
    with warnings.catch_warnings():
        # skl2onnx warns that analyzer="char" "may not work": on the padded, single-spaced
        # lemma text it does (tests/test_urgent_onnx.py compares it with scikit-learn).
        warnings.filterwarnings("ignore", message="The conversion of CountVectorizer may not work")
        letters = convert_sklearn(fitted.letters, initial_types=text, target_opset=OPSET)
    width = (fitted.dimension + len(fitted.words.vocabulary_)
             + len(fitted.letters.vocabulary_))
    columns = []
    for model in fitted.models:
        proba = OnnxSubEstimator(model, FEATURES, op_version=OPSET, options={"zipmap": False})
        yes = list(model.classes_).index(True)
        columns.append(OnnxSlice(proba[1], np.array([yes], dtype=np.int64),
                                 np.array([yes + 1], dtype=np.int64),
                                 np.array([1], dtype=np.int64), op_version=OPSET))
    models = OnnxConcat(*columns, axis=1, op_version=OPSET, output_names=[PROBABILITIES]).to_onnx(
        {FEATURES: FloatTensorType([None, width])},
        outputs=[(PROBABILITIES, FloatTensorType([None, len(fitted.models)]))],
        target_opset=OPSET)
    return tuple(g.SerializeToString() for g in (words, letters, models))


def _session(graph: bytes) -> ort.InferenceSession:
    import onnxruntime as ort

    options = ort.SessionOptions()
    # A few clauses per question: one thread, no arena kept for the process' life.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.enable_cpu_mem_arena = False
    return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
