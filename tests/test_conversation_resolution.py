"""How a dependent message is resolved against the conversation (answer/conversation.py), on
scripted searches and a tiny in-memory store: no model, no index."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from groundedqa.answer.conversation import Conversation, Outcome, Topic
from groundedqa.answer.pipeline import AnswerPipeline
from groundedqa.answer.types import AnswerTuning, Candidate, Coverage, Query
from groundedqa.index.records import SentenceRecord

COVERED = Coverage(True, 0.8)


def query(text: str, *earlier: Query, seed: int = 0) -> Query:
    vector = np.random.default_rng(seed).normal(size=8).astype(np.float32)
    return Query(asked=text, text=text, search_text=text, vector=vector / np.linalg.norm(vector),
                 limit=5, earlier=tuple(earlier))


def cands(*pairs: tuple[int, float]) -> list[Candidate]:
    return [Candidate(row, 0, score, f"sentence {row}") for row, score in pairs]


@dataclass
class Store:
    """The SentenceStore calls the conversation makes: one article, rows in sections."""

    section_of: list[tuple[str, ...]]
    kinds: list[str] = field(default_factory=list)

    def sections(self, rows):
        return [self.section_of[r] for r in rows]

    def sentence_kinds(self, rows):
        return [(self.kinds or ["sentence"] * len(self.section_of))[r] for r in rows]

    def doc_sentences(self, doc_idx):
        return range(len(self.section_of))

    def sentences(self, rows):
        return [SentenceRecord(r, 0, "doc", 0, 1, f"sentence {r}", "sentence") for r in rows]


class Lexical:
    """Words are their own terms; `known` words have an idf, any other is never seen."""

    def __init__(self, known: dict[str, float]) -> None:
        self.known = known

    def terms(self, texts):
        return [[w.strip("?,.").lower() for w in t.split() if w.strip("?,.")] for t in texts]

    def idf(self, terms):
        return {t: self.known.get(t, 9.0) for t in terms}


def scripted(outcomes: dict[str, Outcome], calls: list | None = None):
    """A search answering each query by the first words of its search text."""

    def search(q: Query, exclude=frozenset(), prefer=None) -> Outcome:
        if calls is not None:
            calls.append(q.search_text)
        for start, outcome in sorted(outcomes.items(), key=lambda kv: -len(kv[0])):
            if q.search_text.startswith(start):
                return outcome
        raise AssertionError(f"unscripted search: {q.search_text}")

    return search


def test_a_generic_follow_up_keeps_its_own_answer_when_the_carried_one_only_repeats_the_last():
    first = query("is a bent over barbell row bad for radiculopathy", seed=1)
    current = query("how do i do the quad stretch", first, seed=2)
    said = cands((1, 0.8), (2, 0.7))
    own = cands((5, 0.62), (6, 0.5))
    search = scripted({
        "is a bent over": Outcome(said, COVERED, said, 0.8),
        "how do i do the quad stretch bent": Outcome(said, COVERED, said, 0.9),  # carried
        "how do i do the quad stretch": Outcome(own, COVERED, own[:1], 0.62),  # alone
    })
    plan = Conversation(Store([()] * 8), Lexical({}), AnswerTuning()).plan(current, search)
    assert not plan.context_used
    assert [c.sentence for c in plan.selected] == [5]


def test_a_generic_follow_up_takes_the_carried_subject_when_it_answers_clearly_better():
    first = query("is a bent over barbell row bad for radiculopathy", seed=1)
    current = query("how do i do the quad stretch", first, seed=2)
    said = cands((1, 0.8))
    carried = cands((3, 0.9), (1, 0.8))
    own = cands((5, 0.62))
    search = scripted({
        "is a bent over": Outcome(said, COVERED, said, 0.8),
        "how do i do the quad stretch bent": Outcome(carried, COVERED, carried[:1], 0.9),
        "how do i do the quad stretch": Outcome(own, COVERED, own, 0.62),
    })
    plan = Conversation(Store([()] * 8), Lexical({}), AnswerTuning()).plan(current, search)
    assert plan.context_used
    assert [c.sentence for c in plan.selected] == [3]


class _Stage:
    def __init__(self, fn):
        self.fn = fn

    def __getattr__(self, name):
        return self.fn


def test_a_search_reports_its_best_score_before_the_earlier_answer_is_preferred():
    found = cands((4, 0.55), (7, 0.5))
    pipeline = AnswerPipeline(
        reader=None, triage=None, composer=None,  # type: ignore[arg-type]
        retriever=_Stage(lambda q: []), reranker=_Stage(lambda q, hits: hits),
        locator=_Stage(lambda q, hits: list(found)), coverage=_Stage(lambda q, c: COVERED),
        selector=_Stage(lambda q, c: c[:1]))
    raised = pipeline.search(query("x"), prefer=lambda cs: [
        Candidate(c.sentence, c.doc_idx, c.score + (0.3 if c.sentence == 7 else 0.0), c.text)
        for c in cs][::-1])
    assert raised.best == 0.55  # what the question scored, not the preference
    assert raised.selected[0].sentence == 7  # the preference still decides what is quoted


def test_tell_me_more_steps_over_the_heading_into_the_next_section():
    # rows 0-1: section A (both quoted); row 2: the next section's heading; rows 3-4: section B
    store = Store([("A",), ("A",), (), ("B",), ("B",)],
                  ["sentence", "sentence", "heading", "sentence", "sentence"])
    answered = cands((0, 0.7), (1, 0.8))
    topic = Topic(query("what is it"), Outcome(answered, COVERED, answered), ["what is it"])
    following = Conversation(store, Lexical({}), AnswerTuning())._following(topic, {0, 1}, 5)
    assert [c.sentence for c in following] == [3, 4]


def test_a_fragment_naming_a_subject_the_articles_never_use_is_not_covered():
    first = query("how do i do the hamstring stretch", seed=1)
    current = query("what about my stiff neck, any stretches for that?", first, seed=2)
    answered = cands((1, 0.8))
    calls: list[str] = []
    search = scripted({"how do i do": Outcome(answered, COVERED, answered, 0.8),
                       "what about": Outcome(answered, COVERED, answered, 0.8)}, calls)
    lexical = Lexical({"hamstring": 3.0, "stretch": 2.0, "stretches": 2.0, "stiff": 4.0})
    plan = Conversation(Store([()] * 4), lexical, AnswerTuning()).plan(current, search)
    assert not plan.coverage.covered and plan.selected == []
    assert calls == ["how do i do the hamstring stretch"]  # the fragment was never searched


def test_coverage_reads_the_scores_with_the_earlier_answer_preferred():
    seen: list[float] = []
    found = cands((4, 0.30), (7, 0.25))

    def assess(q, candidates):
        seen.append(candidates[0].score)
        return COVERED

    pipeline = AnswerPipeline(
        reader=None, triage=None, composer=None,  # type: ignore[arg-type]
        retriever=_Stage(lambda q: []), reranker=_Stage(lambda q, hits: hits),
        locator=_Stage(lambda q, hits: list(found)), coverage=_Stage(assess),
        selector=_Stage(lambda q, c: c[:1]))
    pipeline.search(query("x"), prefer=lambda cs: [
        Candidate(c.sentence, c.doc_idx, c.score + 0.1, c.text) for c in cs])
    pipeline.search(query("x"))
    assert seen == pytest.approx([0.4, 0.30])  # a follow-up's preferred section counts; a question alone as it was


def plan_fragment(first_text: str, message: str, known: dict[str, float], article: str = ""):
    """The plan for `message` after `first_text`, both covered; the fragment's search finds row 2."""
    first = query(first_text, seed=1)
    current = query(message, first, seed=2)
    answered, found = cands((1, 0.8)), cands((2, 0.7))
    search = scripted({first_text: Outcome(answered, COVERED, answered, 0.8),
                       message: Outcome(found, COVERED, found, 0.7)})
    store = Store([()] * 4)
    if article:
        store.sentences = lambda rows: [  # type: ignore[method-assign]
            SentenceRecord(r, 0, "doc", 0, 1, article, "sentence") for r in rows]
    return Conversation(store, Lexical(known), AnswerTuning()).plan(current, search)


def test_a_fragment_whose_new_words_the_articles_use_is_searched_with_the_subject():
    plan = plan_fragment("how do i do the hamstring stretch", "what about the quad one, how long for that?",
                         {"hamstring": 3.0, "stretch": 2.0, "quad": 4.0})
    assert plan.context_used and [c.sentence for c in plan.selected] == [2]


def test_a_fragment_naming_a_clipped_word_of_the_articles_is_searched_with_the_subject():
    plan = plan_fragment("how long do i hold the hamstring stretch", "and the quad one?",
                         {"hamstring": 3.0, "stretch": 2.0, "hold": 1.0},
                         article="Quadriceps: stand and hold one ankle")
    assert plan.context_used and [c.sentence for c in plan.selected] == [2]


def plan_after(first_text: str, first: Outcome, message: str, found: list[Candidate],
               known: dict[str, float], texts: dict[int, str] | None = None):
    """The plan for `message` after `first_text` (answered with `first`), the follow-up's search
    finding `found`; returns the plan and the (search text, excluded rows) of every search."""
    earlier = query(first_text, seed=1)
    current = query(message, earlier, seed=2)
    calls: list[tuple[str, frozenset[int]]] = []

    def search(q: Query, exclude=frozenset(), prefer=None) -> Outcome:
        calls.append((q.search_text, frozenset(exclude)))
        if q.search_text == first_text:
            return first
        kept = [c for c in found if c.sentence not in exclude]
        return Outcome(kept, COVERED, kept[:1], kept[0].score if kept else 0.0)

    store = Store([()] * 8)
    store.sentences = lambda rows: [  # type: ignore[method-assign]
        SentenceRecord(r, 0, "doc", 0, 1, (texts or {}).get(r, f"sentence {r}"), "sentence")
        for r in rows]
    plan = Conversation(store, Lexical(known), AnswerTuning()).plan(current, search)
    return plan, calls


def test_a_reference_is_not_answered_again_with_the_sentences_already_quoted():
    answered = cands((1, 0.8), (2, 0.7))
    plan, calls = plan_after("whats a kettlebell rdl for",
                             Outcome(answered, COVERED, answered, 0.8),
                             "how do i make it harder", cands((1, 0.6), (2, 0.58), (3, 0.5)),
                             {"kettlebell": 3.0, "rdl": 4.0})  # the articles never say "harder"
    assert calls[-1][1] == {1, 2}
    assert [c.sentence for c in plan.selected] == [3]


def test_a_reference_picking_out_something_the_articles_name_may_quote_it_again():
    answered = cands((1, 0.8), (2, 0.7))
    plan, calls = plan_after("how long do i hold the hamstring stretch",
                             Outcome(answered, COVERED, answered, 0.8),
                             "and the quad one?", cands((2, 0.6), (3, 0.5)),
                             {"hamstring": 3.0, "stretch": 2.0, "hold": 1.0},
                             {1: "reach for your toes", 2: "Quadriceps: hold one ankle"})
    assert calls[-1][1] == frozenset()
    assert [c.sentence for c in plan.selected] == [2]


def test_a_quoted_sentence_naming_the_references_word_in_a_longer_form_may_be_quoted_again():
    answered = cands((1, 0.8))
    plan, calls = plan_after("should i get a foam roller",
                             Outcome(answered, COVERED, answered, 0.8),
                             "where do i roll with it", cands((1, 0.6), (3, 0.5)),
                             {"foam": 3.0, "roller": 3.0, "roll": 3.0},
                             {1: "use a foam roller over trigger points"})
    assert calls[-1][1] == frozenset()
    assert [c.sentence for c in plan.selected] == [1]


MEDICATION = Outcome([], Coverage(False, 0.0, "medication"), [], 0.0)


def test_a_fragment_naming_a_treatment_in_place_of_the_medicine_is_answered_without_it():
    plan, calls = plan_after("can i take ibuprofen for a pinched nerve", MEDICATION,
                             "and injections?", cands((4, 0.7)),
                             {"ibuprofen": 5.0, "pinched": 2.0, "nerve": 1.0, "injections": 4.0})
    assert plan.context_used and plan.coverage.covered
    assert [c.sentence for c in plan.selected] == [4]
    searched = calls[-1][0]
    assert "pinched" in searched and "ibuprofen" not in searched


@pytest.mark.parametrize("message", ["and if that doesnt work?", "what else?", "and naproxen?"])
def test_a_follow_up_that_still_asks_about_the_medicine_is_a_medication_question(message):
    plan, _ = plan_after("can i take ibuprofen for a pinched nerve", MEDICATION, message,
                         cands((4, 0.7)), {"ibuprofen": 5.0, "pinched": 2.0, "nerve": 1.0})
    assert not plan.coverage.covered and plan.coverage.reason == "medication"
    assert plan.selected == []


def test_a_fragment_with_a_subject_of_its_own_leaves_the_last_questions_most_specific_word():
    answered = cands((1, 0.8))
    _, calls = plan_after("how should i sit when cycling",
                          Outcome(answered, COVERED, answered, 0.8),
                          "and at my desk?", cands((3, 0.7)),
                          {"sit": 2.0, "cycling": 4.0, "desk": 3.0})
    searched = calls[-1][0].split()
    assert "sit" in searched and "cycling" not in searched


def test_a_fragment_without_a_subject_of_its_own_carries_every_word():
    answered = cands((1, 0.8))
    _, calls = plan_after("how should i sit when cycling",
                          Outcome(answered, COVERED, answered, 0.8),
                          "and then?", cands((3, 0.7)), {"sit": 2.0, "cycling": 4.0})
    searched = calls[-1][0].split()
    assert "sit" in searched and "cycling" in searched



def test_a_follow_up_whose_only_new_word_is_not_a_word_is_not_answered_again_with_the_last():
    first = query("is swimming ok during decompression therapy", seed=1)
    current = query("and what shouldnt i do", first, seed=2)
    answered = cands((1, 0.8), (2, 0.7))
    excluded: list[frozenset[int]] = []

    def search(q: Query, exclude=frozenset(), prefer=None) -> Outcome:
        if q.search_text == first.search_text:
            return Outcome(answered, COVERED, answered, 0.8)
        if q.search_text == current.search_text:  # alone, it asks nothing the articles answer
            return Outcome([], Coverage(False, 0.0, "not_covered"), [], 0.0)
        excluded.append(frozenset(exclude))
        kept = [c for c in cands((1, 0.6), (2, 0.58), (3, 0.5)) if c.sentence not in exclude]
        return Outcome(kept, COVERED, kept[:1], kept[0].score)

    known = {"swimming": 3.0, "decompression": 4.0, "therapy": 2.0}  # never "shouldnt"
    plan = Conversation(Store([()] * 8), Lexical(known), AnswerTuning()).plan(current, search)
    assert excluded == [{1, 2}]
    assert plan.context_used and [c.sentence for c in plan.selected] == [3]
