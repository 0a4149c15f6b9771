"""The urgent scorer runs as ONNX graphs converted from its scikit-learn fit (answer/urgent.py):
the same probabilities as scikit-learn, and applying a stored scorer imports no scikit-learn."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np

from groundedqa.answer.redflags import load_redflags
from groundedqa.answer.urgent import UrgentScorer, fit
from groundedqa.answer.urgent_cache import ScorerCache
from tests.conftest import CORPUS
from tests.fakes import HashingEncoder

#: Texts that stress the tokenisation both runtimes must share: repeats, one-letter words,
#: punctuation only, nothing at all, other scripts and accents, apostrophes, digits.
PROBES = ["my groin is numb numb numb", "I cannot pee", "a b c i", "!!!", "", "ça va? où est-ce",
          "Ich kann nicht pinkeln", "мои ноги онемели", "can't feel my legs since 2 days",
          "is swimming good for sciatica"]


def test_the_onnx_scorer_gives_scikit_learns_probabilities():
    config = load_redflags(CORPUS / "redflags.toml")
    encoder = HashingEncoder()
    texts = [e for c in config.concepts for _, e in c.examples()][:40] + PROBES
    vectors = encoder.encode(texts)
    fitted = fit(config, encoder)
    scorer = UrgentScorer.convert(fitted)
    expected = fitted.probabilities(texts, vectors)
    got = scorer.probabilities(texts, vectors)
    assert got.shape == (len(texts), len(config.concepts))
    assert np.abs(got - expected).max() < 1e-5
    assert expected.max() > 0.5  # the bank's own phrasings score as their concept


def test_applying_a_stored_scorer_imports_no_scikit_learn(tmp_path):
    config = load_redflags(CORPUS / "redflags.toml")
    ScorerCache(tmp_path).save("k", UrgentScorer.train(config, HashingEncoder()))
    script = textwrap.dedent(f"""
        import sys
        import numpy as np
        from groundedqa.answer.urgent_cache import ScorerCache
        scorer = ScorerCache(__import__("pathlib").Path({str(tmp_path)!r})).load("k")
        p = scorer.probabilities(["my groin is numb"], np.ones((1, {HashingEncoder().dimension}), np.float32))
        assert p.shape == (1, len(scorer.labels)), p.shape
        print("LOADED", ",".join(m for m in ("sklearn", "scipy", "skl2onnx") if m in sys.modules) or "-")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "LOADED -"
