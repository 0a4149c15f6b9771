"""The trained urgent scorer kept on disk: reused on restart, never for another bank, encoder or
a damaged entry (answer/urgent_cache.py). The fake encoder counts the bank's encodings."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from groundedqa.answer.redflags import RedFlagConfig, UrgentConcept
from groundedqa.answer.urgent import UrgentScorer
from groundedqa.answer.urgent_cache import SUFFIX, ScorerCache
from groundedqa.service import Service
from groundedqa.settings import Settings
from groundedqa.ingest.build import build_index
from tests.conftest import CORPUS
from tests.fakes import HashingEncoder

PROBES = ["my groin is numb", "I cannot pee since this morning", "is swimming good for sciatica"]


def bank(extra: list[str] = ()) -> RedFlagConfig:
    concept = UrgentConcept("cauda equina", [
        "numbness in my groin", "my groin feels numb", "I cannot pee", "I can't control my bladder",
        "I wet myself without noticing", "both legs are getting weak", *extra])
    return RedFlagConfig(
        disclaimer="", seek_care_message="", abstain_message="", red_flags=[], concepts=[concept],
        not_urgent={"in_scope": [("en", t) for t in [
            "can I deadlift with a pinched nerve", "is swimming good for sciatica",
            "which stretches help my lower back", "how long should I hold each stretch",
            "can I go to the gym during treatment", "what exercises should I avoid"]]})


class VariantEncoder(HashingEncoder):
    """The fake encoder as another runtime variant of the same model (same vectors)."""

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "encoder": "onnx-int8"}


def probabilities(scorer: UrgentScorer) -> np.ndarray:
    return scorer.probabilities(PROBES, HashingEncoder().encode(PROBES))


def test_a_restart_reuses_the_stored_scorer_without_encoding_the_bank(tmp_path):
    cache = ScorerCache(tmp_path)
    trained = UrgentScorer.load_or_train(bank(), HashingEncoder(), cache)
    restarted = HashingEncoder()
    loaded = UrgentScorer.load_or_train(bank(), restarted, cache)
    assert restarted.calls == []
    assert loaded.labels == trained.labels
    np.testing.assert_array_equal(probabilities(loaded), probabilities(trained))


def test_an_edited_bank_trains_again(tmp_path):
    cache = ScorerCache(tmp_path)
    UrgentScorer.load_or_train(bank(), HashingEncoder(), cache)
    encoder = HashingEncoder()
    edited = UrgentScorer.load_or_train(bank(["my saddle area went numb"]), encoder, cache)
    assert encoder.calls  # the edited bank was embedded
    assert edited.labels == ["cauda equina"]
    assert len(list(tmp_path.glob(f"*{SUFFIX}"))) == 2


def test_a_renamed_concept_trains_again(tmp_path):
    cache = ScorerCache(tmp_path)
    UrgentScorer.load_or_train(bank(), HashingEncoder(), cache)
    renamed = bank()
    renamed.concepts = [dataclasses.replace(renamed.concepts[0], name="saddle anaesthesia")]
    scorer = UrgentScorer.load_or_train(renamed, HashingEncoder(), cache)
    assert scorer.labels == ["saddle anaesthesia"]


def test_another_encoder_never_uses_the_entry(tmp_path):
    cache = ScorerCache(tmp_path)
    UrgentScorer.load_or_train(bank(), HashingEncoder(), cache)
    for other in (VariantEncoder(), HashingEncoder(dimension=128)):
        UrgentScorer.load_or_train(bank(), other, cache)
        assert other.calls, other.describe()
    assert len(list(tmp_path.glob(f"*{SUFFIX}"))) == 3


def test_a_corrupt_entry_is_trained_again_and_replaced(tmp_path):
    cache = ScorerCache(tmp_path)
    trained = UrgentScorer.load_or_train(bank(), HashingEncoder(), cache)
    [entry] = tmp_path.glob(f"*{SUFFIX}")
    entry.write_bytes(entry.read_bytes()[:100])  # truncated
    encoder = HashingEncoder()
    again = UrgentScorer.load_or_train(bank(), encoder, cache)
    assert encoder.calls
    np.testing.assert_array_equal(probabilities(again), probabilities(trained))
    restarted = HashingEncoder()
    UrgentScorer.load_or_train(bank(), restarted, cache)
    assert restarted.calls == []  # the rewritten entry reads again


def test_an_entry_of_another_key_is_not_used(tmp_path):
    cache = ScorerCache(tmp_path)
    UrgentScorer.load_or_train(bank(), HashingEncoder(), cache)
    [entry] = tmp_path.glob(f"*{SUFFIX}")
    edited_key = "0" * 64
    entry.rename(cache.path(edited_key))  # a file under the wrong name
    assert cache.load(edited_key) is None


def test_an_unwritable_folder_still_gives_a_scorer(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    scorer = UrgentScorer.load_or_train(bank(), HashingEncoder(), ScorerCache(blocked / "urgent"))
    assert probabilities(scorer)[0, 0] > probabilities(scorer)[2, 0]


def test_the_service_keeps_its_scorer_in_the_configured_folder(tmp_path):
    settings = Settings(index=tmp_path / "index", corpus=CORPUS, urgent_cache=tmp_path / "urgent")
    build_index([CORPUS], settings.index, settings, embedder=HashingEncoder())
    Service.load(settings, encoder=HashingEncoder()).close()
    assert len(list((tmp_path / "urgent").glob(f"*{SUFFIX}"))) == 1
    restarted = HashingEncoder()
    Service.load(settings, encoder=restarted).close()
    assert restarted.calls == []  # no question was asked: the bank was not embedded either
