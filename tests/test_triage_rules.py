"""Negation-aware red-flag rules (no model: the embedding signal is switched off)."""

from pathlib import Path

import numpy as np
import pytest

from groundedqa.answer.redflags import load_redflags
from groundedqa.answer.triage import Triage

REDFLAGS = Path(__file__).resolve().parents[1] / "corpus" / "redflags.toml"


@pytest.fixture(scope="module")
def triage() -> Triage:
    config = load_redflags(REDFLAGS)
    return Triage(config, np.zeros((0, 384), dtype=np.float32))


def urgent(triage: Triage, question: str) -> bool:
    return triage.assess(question, np.zeros(384, dtype=np.float32)).urgent


@pytest.mark.parametrize("question", [
    "I can't control my bladder since my back went out",
    "my groin is numb and my back hurts, should I still lift?",
    "both legs are going numb when I walk",
    "my left leg is getting weaker every day",
    "i keep having accidents and cant hold my pee, is it my disc?",
    "no back pain today but I have lost feeling between my legs",
    "Trouble peeing and numbness in my inner thighs after deadlifts",
])
def test_red_flag_descriptions_are_urgent(triage, question):
    assert urgent(triage, question)


@pytest.mark.parametrize("question", [
    "No numbness in my groin and my bladder is fine, can I do planks?",
    "I don't have any weakness in my legs, is swimming okay?",
    "can I deadlift with a pinched nerve?",
    "is walking good for sciatica in one leg?",
    "without any bladder problems, when can I return to running?",
])
def test_negated_or_absent_red_flags_are_not_urgent(triage, question):
    assert not urgent(triage, question)


def test_negated_concept_is_reported(triage):
    result = triage.assess("no numbness in my groin", np.zeros(384, dtype=np.float32))
    assert result.negated == ["saddle or groin numbness"]
    assert result.concepts == []


def test_close_embedding_is_urgent_only_without_negation():
    config = load_redflags(REDFLAGS)
    vector = np.ones(4, dtype=np.float32) / 2.0
    t = Triage(config, vector.reshape(1, -1), threshold=0.5)
    assert t.assess("something feels very wrong down below", vector).urgent
    assert not t.assess("no numbness in my groin", vector).urgent
