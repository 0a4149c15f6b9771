"""The urgent scorer applied without scikit-learn gives scikit-learn's figures bit for bit, and a
serving process imports no scikit-learn (answer/urgent_features.py, answer/stop_words.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from groundedqa.answer.redflags import load_redflags
from groundedqa.answer.stop_words import ENGLISH_STOP_WORDS as READ_STOP_WORDS
from groundedqa.answer.urgent import UrgentScorer, _lemma_text, bank_examples
from groundedqa.answer.urgent_features import BinaryLinear, TfidfFeatures
from tests.fakes import HashingEncoder

REPO = Path(__file__).resolve().parents[1]
BANK = load_redflags(REPO / "corpus" / "redflags.toml")
TEXTS = [_lemma_text(e.text, e.language) for e in bank_examples(BANK)]
AWKWARD = [
    "", "   ", "a", "ab", "I", "Numb  groin!!  and\tboth   legs\n\nweak", "numbnes weeker bladdr",
    "ÉNORME douleur à la jambe", "Straße, Übelkeit", "can't pee since 2 days", "x" * 300,
    "the the the the", "don’t feel — anything — down there", "急に足がしびれる", "😀 numb 😀",
]


@pytest.mark.parametrize("vectorizer", [
    TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                    token_pattern=r"(?u)\b\w+\b"),
    TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True,
                    min_df=2),
], ids=["word", "char_wb"])
def test_features_equal_scikit_learns_bit_for_bit(vectorizer):
    vectorizer.fit(TEXTS)
    texts = TEXTS + AWKWARD
    expected = vectorizer.transform(texts)
    got = TfidfFeatures.of(vectorizer).transform(texts)
    assert got.shape == expected.shape
    assert (got != expected).nnz == 0


def test_probabilities_equal_scikit_learns_bit_for_bit():
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True,
                                 min_df=2)
    features = vectorizer.fit_transform(TEXTS)
    targets = [e.label == BANK.concepts[0].name for e in bank_examples(BANK)]
    model = LogisticRegression(C=4.0, class_weight="balanced", max_iter=3000).fit(features, targets)
    probe = vectorizer.transform(TEXTS + AWKWARD)
    np.testing.assert_array_equal(BinaryLinear.of(model).probability(probe),
                                  model.predict_proba(probe)[:, 1])


def test_a_model_whose_positive_class_is_not_second_is_refused():
    model = LogisticRegression().fit(np.array([[0.0], [1.0]]), ["yes", "no"])
    with pytest.raises(ValueError):
        BinaryLinear.of(model, positive="no")  # classes_ sort as ["no", "yes"]


def test_a_vectorizer_with_other_options_is_refused():
    vectorizer = TfidfVectorizer(stop_words="english").fit(TEXTS)
    with pytest.raises(ValueError):
        TfidfFeatures.of(vectorizer)


def test_the_stop_words_are_scikit_learns():
    assert READ_STOP_WORDS == ENGLISH_STOP_WORDS


def test_a_trained_scorer_scores_without_importing_scikit_learn(tmp_path):
    """A scorer read back (as a server reads its cached scorer) needs no scikit-learn."""
    stored = tmp_path / "scorer.pickle"
    import pickle

    scorer = UrgentScorer.train(BANK, HashingEncoder())
    stored.write_bytes(pickle.dumps(scorer))
    probe = "I can't feel my groin and I can't pee"
    expected = scorer.probabilities([probe], HashingEncoder().encode([probe]))
    script = textwrap.dedent(f"""
        import pickle, sys
        import numpy as np
        from tests.fakes import HashingEncoder
        import groundedqa.service, groundedqa.api.app
        scorer = pickle.loads(open({str(stored)!r}, "rb").read())
        got = scorer.probabilities([{probe!r}], HashingEncoder().encode([{probe!r}]))
        np.save({str(tmp_path / "got.npy")!r}, got)
        print(sorted(m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")))
    """)
    run = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True,
                         check=True)
    assert run.stdout.strip() == "[]"
    np.testing.assert_array_equal(np.load(tmp_path / "got.npy"), expected)
