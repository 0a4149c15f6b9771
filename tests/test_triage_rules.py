"""Clause reading (denied, context-only, supposed) and the triage decision, without the model.

The urgent scorer itself is exercised with the real model in test_safety_questions.py; here a
scripted scorer stands in, so the rules around it are tested on their own.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from groundedqa.answer.clauses import analyse, described_text
from groundedqa.answer.redflags import RedFlagError, load_redflags
from groundedqa.answer.triage import Triage
from groundedqa.answer.types import Query

REDFLAGS = Path(__file__).resolve().parents[1] / "corpus" / "redflags.toml"


def described(text: str) -> list[str]:
    return [c.described for c in analyse(text) if c.described and not c.past]


@pytest.mark.parametrize("text, denied", [
    ("No numbness in my groin", "No numbness in my groin"),
    ("my bladder is fine", "my bladder is fine"),
    ("bladder totally normal", "bladder totally normal"),
    ("my doctor says I don't have cauda equina", "my doctor says I don't have cauda equina"),
    ("I'm not having any trouble controlling my bladder", "I'm not having any trouble controlling my bladder"),
    ("not in both legs", "not in both legs"),
    ("the weakness has gone away", "the weakness has gone away"),
    ("strength is steady", "strength is steady"),
])
def test_denials_describe_nothing(text, denied):
    assert described(text) == []


@pytest.mark.parametrize("text", [
    "I haven't passed urine since this morning",
    "I don't even feel the urge to go",
    "I can't feel the toilet paper when I wipe",
    "no feeling between my legs",
    "my foot won't lift any more",
    "I don't feel normal down there",
    "my legs are both numb is that normal",
])
def test_negated_functions_describe_a_symptom(text):
    assert " ".join(described(text)) == text


def test_a_symptom_is_read_apart_from_the_story_of_its_onset():
    assert described("groin numb and tingly from yesterday's deadlifts at the gym") == [
        "groin numb and tingly", "from yesterday's deadlifts at the gym"]
    assert described("numb after lifting") == ["numb after lifting"]  # too short to part


def test_what_a_clause_denies_holds_for_its_onset_too():
    text = "Had tingling in both legs once after a long hike, it went away"
    assert described(text) == []


def test_a_resolution_denies_the_clause_before_it():
    clauses = analyse("I had numbness around my bum after a long ride, but it went away")
    assert all(c.denied for c in clauses)


def test_a_bare_no_answers_the_question_before_it():
    assert described("Numb down there? No. Just pain.") == ["Just pain"]


def test_supposed_symptoms_are_cut_from_what_is_described():
    assert described("If one day I noticed my foot getting weaker, would I need to stop?") == []
    assert described("my physio asked whether I'd lost feeling in the perineum") == [
        "my physio"]


@pytest.mark.parametrize("text, symptom", [
    ("worst pain ever, and both legs are numb", "and both legs are numb"),
    ("it was only ever my left calf, today my right calf is burning too", "today my right calf is burning too"),
    ("my legs are weaker than ever and getting worse", "my legs are weaker than ever and getting worse"),
])
def test_ever_that_supposes_nothing_hides_no_symptom(text, symptom):
    assert symptom in described(text)


def test_a_present_conditional_is_still_described():
    assert described("i leak pee if i cough") == ["i leak pee if i cough"]


def test_an_idiomatic_in_case_does_not_hide_a_symptom():
    assert "both my legs are numb" in described("in case it matters, both my legs are numb")


def test_a_general_question_without_first_person_is_supposed():
    assert described("why are symptoms in both legs treated as a warning sign") == []


@pytest.mark.parametrize("text", [
    "can a pinched nerve cause leg weakness",
    "does sciatica affect bladder control",
])
def test_a_general_question_about_what_a_condition_causes_is_supposed(text):
    assert described(text) == []


def test_a_causal_question_about_the_patient_is_described():
    assert described("can a pinched nerve cause my legs to go numb") != []


@pytest.mark.parametrize("text", [
    "The physio checked the feeling in my saddle area and it was normal",
    "not peeing any differently",
    "sciatica in one leg",
])
def test_verdicts_differences_and_one_side_describe_nothing_current(text):
    assert described(text) == []


def test_a_pronoun_verdict_that_goes_on_is_not_a_verdict():
    assert described("my groin went numb and it was fine until today") != []


def test_one_sided_and_long_past_clauses_are_context_only():
    clauses = analyse("it used to be only my left leg, now both legs tingle")
    assert clauses[0].past and not clauses[0].denied
    assert not clauses[1].past


def test_retrieval_text_drops_denied_clauses():
    assert described_text("no numbness in my groin and my bladder is fine, can I do planks?") == \
        "can I do planks"


class ScriptedScorer:
    """Scores a unit 0.9 for the concept when it contains `trigger`, else 0.05."""

    labels = ["bladder or bowel control"]

    def __init__(self, trigger: str) -> None:
        self.trigger = trigger
        self.seen: list[str] = []

    def probabilities(self, texts, vectors, language="en"):
        self.seen.extend(texts)
        return np.array([[0.9 if self.trigger in t else 0.05] for t in texts], dtype=np.float32)


def query_for(triage: Triage, text: str, language: str = "en") -> Query:
    clauses = triage.clause_texts(text, language)
    vectors = np.eye(len(clauses), 8, dtype=np.float32) if clauses else None
    return Query(asked=text, text=text, search_text=text, vector=np.zeros(8, np.float32), limit=5,
                 language=language, clauses=tuple(clauses), clause_vectors=vectors)


@pytest.fixture(scope="module")
def config():
    return load_redflags(REDFLAGS)


def test_a_described_clause_at_the_operating_point_is_urgent(config):
    triage = Triage(config, ScriptedScorer("wet myself"))
    result = triage.assess(query_for(triage, "my back hurts, I wet myself last night"))
    assert result.urgent and result.concepts == ["bladder or bowel control"]


def test_a_denied_clause_is_never_scored(config):
    scorer = ScriptedScorer("bladder")
    triage = Triage(config, scorer)
    assert not triage.assess(query_for(triage, "my bladder is fine, can I swim?")).urgent
    assert not any("bladder" in unit for unit in scorer.seen)


def test_neighbouring_clauses_are_scored_together(config):
    scorer = ScriptedScorer("weak, it's worse")
    triage = Triage(config, scorer)
    assert triage.assess(query_for(triage, "my leg feels weak, it's worse every day")).urgent


def test_a_symptom_on_each_side_is_scored_as_both_sides(config):
    # Neither clause says "both"; together they are symptoms in both legs.
    triage = Triage(config, ScriptedScorer("both calf"))
    text = "the burning was only ever in my left calf, today my right calf is burning too"
    result = triage.assess(query_for(triage, text))
    assert result.urgent and not result.from_earlier


def test_sides_told_across_messages_combine_into_both(config):
    triage = Triage(config, ScriptedScorer("both leg"))
    earlier = query_for(triage, "I've had sciatica down my left leg for a week")
    query = replace(query_for(triage, "now my right leg is tingling"), earlier=(earlier,))
    result = triage.assess(query)
    assert result.urgent and result.from_earlier


@pytest.mark.parametrize("text", [
    "my left hamstring is tighter than my right, which stretch first?",
    "only my left leg is numb, the right one is completely fine",
    "my left calf is weaker than my right, can I do calf raises?",
])
def test_sides_without_a_nerve_symptom_on_both_are_not_combined(config, text):
    scorer = ScriptedScorer("both")
    triage = Triage(config, scorer)
    assert not triage.assess(query_for(triage, text)).urgent
    assert not any("both" in unit for unit in scorer.seen)


def test_other_languages_are_scored_without_english_denial_rules(config):
    scorer = ScriptedScorer("no puedo")
    triage = Triage(config, scorer)
    assert triage.assess(query_for(triage, "no puedo controlar la orina", "es")).urgent


def test_the_bank_has_phrasings_for_every_concept_and_other_languages(config):
    assert len(config.concepts) == 4
    for concept in config.concepts:
        assert len(concept.phrasings) >= 40
        assert {"es", "fr", "de", "pt", "it"} <= set(concept.languages)
        assert concept.quotes
    assert {"in_scope", "denied", "near_miss"} <= set(config.not_urgent)


def test_a_concept_quoting_an_unknown_red_flag_is_refused(tmp_path):
    text = REDFLAGS.read_text(encoding="utf-8").replace(
        '"Bilateral leg symptoms",\n  "These', '"Not a red flag in this file",\n  "These', 1)
    bad = tmp_path / "redflags.toml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(RedFlagError, match="Not a red flag in this file"):
        load_redflags(bad)


@pytest.mark.parametrize("text", [
    "I doubt it but I don't think I've lost any feeling",  # negated loss
    "it's not as if I can't hold my wee",  # double negative
    "I wouldn't say the weakness is spreading",  # hedged denial
    "haven't spotted any tingling in my saddle area",  # perception verb + named abnormality
    "cauda equina has been excluded by the surgeon",  # post-position trigger
    "nothing down below",  # nothing + place
    "my waterworks are the same as usual",  # sameness
    "my bowels are still regular",
    "the bladder drains properly",  # any verb + fine/properly
    "i'm fine weeing",
])
def test_wider_denials_describe_nothing(text):
    assert [c for c in analyse(text) if c.described and not c.past and not c.denied
            and any(w in c.described.lower() for w in ("feel", "wee", "weak", "tingl", "cauda",
                                                       "below", "water", "bowel", "bladder"))] == []


@pytest.mark.parametrize("text", [
    "I don't feel anything when I wipe",  # perception of nothing: numbness
    "I feel nothing down below",
    "didn't notice my bladder was full until it leaked",
    "no weakness until this morning, now my foot slaps",  # the denial only starts the story
    "my legs were fine till yesterday when both went numb",
    "I can't pee properly",
    "it's hard to wee normally",
    "nothing in my legs feels right",
    "no idea why I can't feel my foot",
])
def test_wider_denials_keep_symptoms_described(text):
    assert any(c.described for c in analyse(text) if not c.denied)


def test_a_one_word_question_the_patient_answers_is_context_for_the_answer():
    clauses = analyse("Numbness? Only a small patch on my shin.")
    assert clauses[0].past and not clauses[0].denied
    assert not clauses[1].past


@pytest.mark.parametrize("text", [
    "waterworks: normal.",  # a bare verdict after the thing it judges
    "had my bowels checked, all good",
    "toilet habits unchanged",
    "I can still feel everything when I wipe",
    "i never soiled myself",  # wetting/soiling oneself, negated
    "Tingling? I don't have any.",  # the answer to a self-posed question denies it
    "no red flags whatsoever",
])
def test_verdicts_and_idioms_deny(text):
    assert all(c.denied or not c.described for c in analyse(text))


@pytest.mark.parametrize("text", [
    "I don't have any feeling around my back passage",  # "any" before a function word
    "I haven't got any sensation down below",
    "i dont feel normal between my legs",  # negation without an apostrophe
    "numb between my legs, normal?",  # a verdict that asks
    "didn't reach the toilet in time and wet myself",
])
def test_verdicts_and_idioms_keep_symptoms(text):
    assert any(c.described and not c.denied for c in analyse(text))


def test_a_plain_ability_denies_but_a_qualified_one_does_not():
    assert all(c.denied for c in analyse("I can still tell when I need to go"))
    for text in ("I can only just pee", "i can barely walk", "I can feel my feet going numb",
                 "how can I tell when I need to go"):
        assert any(c.described and not c.denied for c in analyse(text)), text


@pytest.mark.parametrize("text", [
    "tingling round my privates that won't go away",  # an inability before "go away": ongoing
    "I can't feel the toilet paper properly when I wipe",  # the inability is four words back
])
def test_a_persisting_or_impaired_symptom_is_not_read_as_resolved_or_normal(text):
    assert any(c.described and not c.denied for c in analyse(text))


def test_a_verdict_that_closes_the_story_denies_the_sentence_before_it():
    text = "I couldn't wee after my knee op, had a catheter, all fine ever since. Can I swim?"
    assert described(text) == ["Can I swim"]


@pytest.mark.parametrize("text, symptom", [
    ("my legs went numb this morning, it was fine yesterday", "my legs went numb this morning"),
    ("I wet the bed last night, that has never happened before", "I wet the bed last night"),
    ("both feet tingle when I sit, it's fine when I stand", "both feet tingle when I sit"),
])
def test_a_verdict_on_before_or_on_one_position_closes_nothing(text, symptom):
    assert symptom in described(text)


def test_a_long_standing_unchanged_story_is_context_only():
    clauses = analyse("I've had a weak bladder since my second child, it's never changed. Is yoga ok?")
    assert [c.past for c in clauses[:3]] == [True, True, True]
    assert described("I've had a weak bladder since my second child, it's never changed") == []


@pytest.mark.parametrize("text, past", [
    ("I had numbness in my groin in 2015", True),
    ("I've had numbness in my groin since 2015", False),
])
def test_a_calendar_year_before_this_one_is_long_past(text, past):
    assert analyse(text)[0].past is past


def test_an_outcome_makes_the_story_before_it_context():
    clauses = analyse("my uncle lost feeling in his legs and it turned out to be a disc")
    assert all(c.past for c in clauses)


def test_hearsay_supposes_only_what_it_reports():
    assert described("I read that numbness in both legs is serious") == []
    assert described("my wife says my foot drags more every day") != []


def test_a_question_about_somebody_in_general_is_supposed():
    assert described("should someone with weak legs avoid hanging?") == []
    assert described("should I avoid hanging with my legs getting weaker?") != []
