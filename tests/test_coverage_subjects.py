"""Coverage of the question's named subject: a body region or patient group the asking sentence
names must be in the evidence, not just the topic words around it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pytest

from groundedqa.answer.coverage import SubjectCoverage
from groundedqa.answer.types import AnswerTuning, Candidate, Query


class WordLexicon:
    """Terms are lower-cased words; every seen term has idf 1, unseen ones 5."""

    def __init__(self, corpus: str) -> None:
        self.seen = set(self._split(corpus))

    @staticmethod
    def _split(text: str) -> list[str]:
        return re.findall(r"[a-z]+", text.lower())

    def terms(self, texts: list[str]) -> list[list[str]]:
        return [self._split(t) for t in texts]

    def idf(self, terms) -> dict[str, float]:
        return {t: (1.0 if t in self.seen else 5.0) for t in terms}


@dataclass
class Store:
    doc_titles: list[str] = field(default_factory=lambda: ["Working out with a pinched nerve"])


EVIDENCE = [Candidate(0, 0, 0.8, "Dead hangs can decompress the lower back after a few weeks."),
            Candidate(1, 0, 0.7, "Start with short hangs from a pull-up bar.")]


def coverage() -> SubjectCoverage:
    corpus = " ".join(c.text for c in EVIDENCE) + " knee hip neck elsewhere"
    return SubjectCoverage(AnswerTuning(), WordLexicon(corpus), Store())


def query(text: str) -> Query:
    return Query(asked=text, text=text, search_text=text, vector=np.zeros(3), limit=5)


def test_a_body_region_the_evidence_never_names_abstains():
    result = coverage().assess(query("after my hip replacement can I do dead hangs?"), EVIDENCE)
    assert not result.covered and result.reason == "not_covered"
    assert "hip" in result.uncovered_terms


def test_a_patient_group_the_evidence_never_names_abstains():
    assert not coverage().assess(query("I'm pregnant, can I do dead hangs?"), EVIDENCE).covered


def test_the_same_question_without_the_named_subject_is_answered():
    assert coverage().assess(query("after a few weeks can I do dead hangs?"), EVIDENCE).covered


def test_a_body_region_in_the_story_but_not_in_the_question_does_not_abstain():
    text = "My knee was operated on years ago. How long should dead hangs be at the start?"
    assert coverage().absent_named_subjects(text, EVIDENCE) == []


def test_a_region_in_a_long_run_on_counts_only_when_the_articles_never_name_it():
    story = ("I hurt it two days ago and after last night I have woken up with it swollen and it "
             "is really noticeable to other people, what should I do about my {} now?")
    assert coverage().absent_named_subjects(story.format("knee"), EVIDENCE) == []  # named elsewhere
    assert coverage().absent_named_subjects(story.format("wrist"), EVIDENCE) == ["wrist"]


def test_a_does_it_help_question_about_something_the_articles_never_name_abstains():
    result = coverage().assess(query("does acupuncture help with dead hangs?"), EVIDENCE)
    assert not result.covered and "acupuncture" in result.uncovered_terms
    assert coverage().assess(query("do dead hangs help my lower back?"), EVIDENCE).covered


def test_a_comparison_with_something_the_articles_never_name_abstains():
    assert not coverage().assess(query("dead hangs vs acupuncture for the lower back?"), EVIDENCE).covered


@pytest.mark.parametrize("question", [
    "how much does a course of dead hangs cost?",
    "will my insurance pay for dead hangs?",
    "what foods help with dead hangs?",
    "can I do dead hangs after my knee replacement?",
    "should I see a chiropractor or do dead hangs?",
])
def test_a_cost_diet_device_procedure_or_therapy_the_evidence_never_names_abstains(question):
    assert not coverage().assess(query(question), EVIDENCE).covered


def test_a_region_the_evidence_names_only_in_passing_abstains():
    evidence = [Candidate(0, 0, 0.6, "Hold the stretch with your back and knee straight."),
                Candidate(1, 0, 0.5, "Dead hangs can decompress the lower back.")]
    cover = SubjectCoverage(AnswerTuning(), WordLexicon(" ".join(c.text for c in evidence)), Store())
    assert cover.absent_named_subjects("my knee clicks going downstairs, what helps?", evidence) == ["knee"]
    assert cover.absent_named_subjects("should I keep my knee straight in the stretch?", evidence) == []
