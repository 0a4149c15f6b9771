"""Structure kept: sections, list items with their labels, lead-ins with the items a question
needs, dependent sentences with their antecedents, one block per article. Built on a tiny corpus
with the fake encoder; candidate scores are set by hand so each rule is tested on its own."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from groundedqa.answer.select import SectionSelector
from groundedqa.answer.structure import StructureReader, depends_on_previous, is_lead_in
from groundedqa.answer.types import AnswerTuning, Candidate, Query
from groundedqa.service import Service
from tests.fakes import fake_service

STRETCHING = """# Stretching for a sore back

## Stretches

Common stretches may include:

- Hamstrings: Sit on the floor with legs straight. Hold for 20-30 seconds.
- Quadriceps: Stand and hold one ankle. Hold for 15 seconds.

## Warning signs

Stop stretching and see a doctor if you develop:

- Numbness in both legs
- Weakness getting worse

Then stretching should wait until a doctor has examined you.

## Walking

It is important to walk every day. Walking keeps the back moving. It also improves mood.
"""
SWIMMING = """# Swimming with back pain

Swimming supports the body while the muscles work. Water takes weight off the spine.
"""
REDFLAGS = """
disclaimer = "General information."
seek_care_message = "Seek care now."
abstain_message = "Not covered."
[[red_flags]]
boilerplate = true
text = "Numbness in both legs needs care."
"""


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Service:
    return fake_service(tmp_path_factory.mktemp("structure"),
                        {"stretching.md": STRETCHING, "swimming.md": SWIMMING}, REDFLAGS,
                        abstain_below=0.0)


@pytest.fixture(scope="module")
def rows(service) -> dict[str, int]:
    """Sentence text -> row, over both documents."""
    store = service.index.store
    return {r.text: r.idx for r in store.sentences(range(store.n_sentences))}


def doc_idx(service, doc_id: str) -> int:
    return service.index.store.doc_ids.index(doc_id)


def selected_texts(service, candidates: list[Candidate], limit: int = 8,
                   tuning: AnswerTuning | None = None) -> list[str]:
    store = service.index.store
    selector = SectionSelector(store, tuning or AnswerTuning(), StructureReader(store))
    query = Query(asked="q", text="q", search_text="q", vector=np.zeros(384, dtype=np.float32),
                  limit=limit)
    return [c.text for c in selector.select(query, candidates)]


def scored(service, rows: dict[str, int], scores: dict[str, float]) -> list[Candidate]:
    """Candidates for every quotable sentence: the given scores, 0.1 (background) for the rest."""
    store = service.index.store
    out = []
    for text, row in rows.items():
        (rec,) = store.sentences([row])
        if rec.kind != "sentence":
            continue
        out.append(Candidate(row, rec.doc_idx, scores.get(text, 0.1), text, store.section(row).start))
    return sorted(out, key=lambda c: -c.score)


# -- the store knows sections and block kinds ---------------------------------------------------

def test_section_runs_from_its_heading_to_the_next(service, rows):
    store = service.index.store
    section = store.section(rows["Hold for 15 seconds."])
    texts = [r.text for r in store.sentences(section)]
    assert texts[0] == "Common stretches may include:"
    assert texts[-1] == "Hold for 15 seconds."
    assert "Warning signs" not in texts


def test_store_marks_list_items(service, rows):
    store = service.index.store
    kinds = store.sentence_block_kinds([rows["Numbness in both legs"], rows["Common stretches may include:"]])
    assert kinds == ["list_item", "paragraph"]


# -- what a sentence leans on -------------------------------------------------------------------

@pytest.mark.parametrize("text", ["Then dead-hangs should be deferred.", "These represent a risk.",
                                  "However, rest helps.", "It also improves mood.", "This suggests so."])
def test_openers_that_point_back_depend_on_the_sentence_before(text):
    assert depends_on_previous(text)


@pytest.mark.parametrize("text", ["It is important to walk every day.", "It’s also important to rest.",
                                  "Walking keeps the back moving.", "There are many options.",
                                  "In addition, steroid injections can reduce swelling.",
                                  "Also, swimming is gentle on the spine.",
                                  "Similarly, cycling keeps the hips moving.",
                                  "Likewise, rest days matter."])
def test_sentences_that_stand_alone_do_not(text):
    # An additive opener ("In addition", "Also", "Similarly") adds a point of its own: the
    # sentence says all it means without the one before, so it does not bring it along.
    assert not depends_on_previous(text)


def test_a_sentence_ending_in_a_colon_is_a_lead_in():
    assert is_lead_in("While undergoing decompression, steer clear of:")
    assert not is_lead_in("Hamstrings: Sit on the floor.")


def test_layout_knows_labels_items_and_lead_ins(service, rows):
    layout = StructureReader(service.index.store).layout(doc_idx(service, "stretching"))
    hold = rows["Hold for 20-30 seconds."]
    assert layout.text(layout.label(hold)) == "Hamstrings:"
    assert layout.is_item(hold)
    assert layout.text(layout.lead_in(hold)) == "Common stretches may include:"
    items = layout.items(rows["Common stretches may include:"])
    assert [[layout.text(r) for r in item] for item in items][1] == [
        "Quadriceps:", "Stand and hold one ankle.", "Hold for 15 seconds."]


def test_then_after_a_list_leans_on_the_list_and_its_lead_in(service, rows):
    store = service.index.store
    layout = StructureReader(store).layout(doc_idx(service, "stretching"))
    then = rows["Then stretching should wait until a doctor has examined you."]
    assert [layout.text(r) for r in layout.antecedents(then, store.section(then))] == [
        "Stop stretching and see a doctor if you develop:", "Numbness in both legs",
        "Weakness getting worse"]


def test_expletive_it_needs_no_antecedent_but_it_also_does(service, rows):
    store = service.index.store
    layout = StructureReader(store).layout(doc_idx(service, "stretching"))
    important = rows["It is important to walk every day."]
    mood = rows["It also improves mood."]
    assert layout.antecedents(important, store.section(important)) == []
    assert [layout.text(r) for r in layout.antecedents(mood, store.section(mood))] == [
        "Walking keeps the back moving."]


# -- selection keeps the structure --------------------------------------------------------------

def test_list_item_comes_whole_with_its_label_and_without_its_siblings(service, rows):
    texts = selected_texts(service, scored(service, rows, {"Hold for 20-30 seconds.": 0.9}))
    assert texts == ["Hamstrings:", "Sit on the floor with legs straight.", "Hold for 20-30 seconds."]


def test_unlabelled_item_brings_its_lead_in(service, rows):
    texts = selected_texts(service, scored(service, rows, {"Numbness in both legs": 0.9}))
    assert texts == ["Stop stretching and see a doctor if you develop:", "Numbness in both legs"]


def test_lead_in_brings_only_the_items_the_question_needs(service, rows):
    texts = selected_texts(service, scored(service, rows, {
        "Common stretches may include:": 0.9, "Stand and hold one ankle.": 0.7}))
    assert texts == ["Common stretches may include:", "Quadriceps:", "Stand and hold one ankle.",
                     "Hold for 15 seconds."]


def test_lead_in_brings_every_item_when_the_question_is_about_the_list(service, rows):
    texts = selected_texts(service, scored(service, rows, {
        "Stop stretching and see a doctor if you develop:": 0.9,
        "Numbness in both legs": 0.6, "Weakness getting worse": 0.6}))
    assert texts == ["Stop stretching and see a doctor if you develop:", "Numbness in both legs",
                     "Weakness getting worse"]


def test_lead_in_without_a_needed_item_is_not_quoted(service, rows):
    texts = selected_texts(service, scored(service, rows, {
        "Common stretches may include:": 0.9, "Walking keeps the back moving.": 0.85}))
    assert "Common stretches may include:" not in texts
    assert texts == ["Walking keeps the back moving."]


def test_dependent_sentence_brings_its_antecedent(service, rows):
    texts = selected_texts(service, scored(service, rows, {"It also improves mood.": 0.9}))
    assert texts == ["Walking keeps the back moving.", "It also improves mood."]


def test_one_sentence_when_one_sentence_answers(service, rows):
    texts = selected_texts(service, scored(service, rows, {
        "Walking keeps the back moving.": 0.9, "It is important to walk every day.": 0.35}))
    assert texts == ["Walking keeps the back moving."]


def test_close_sentences_of_the_section_are_quoted_in_reading_order(service, rows):
    texts = selected_texts(service, scored(service, rows, {
        "Walking keeps the back moving.": 0.9, "It is important to walk every day.": 0.88}))
    assert texts == ["It is important to walk every day.", "Walking keeps the back moving."]


def test_second_article_only_when_nearly_as_good_and_never_interleaved(service, rows):
    close = scored(service, rows, {"Walking keeps the back moving.": 0.9,
                                   "Water takes weight off the spine.": 0.895,
                                   "It is important to walk every day.": 0.89})
    texts = selected_texts(service, close)
    assert texts == ["It is important to walk every day.", "Walking keeps the back moving.",
                     "Water takes weight off the spine."]
    far = scored(service, rows, {"Walking keeps the back moving.": 0.9,
                                 "Water takes weight off the spine.": 0.7})
    assert selected_texts(service, far) == ["Walking keeps the back moving."]


def with_retrieval(candidates: list[Candidate], strength: dict[str, float]) -> list[Candidate]:
    """The candidates with their section's retrieval strength set by the text of one of its
    sentences (0 for the sections not named)."""
    by_section = {c.section: strength[c.text] for c in candidates if c.text in strength}
    return [replace(c, retrieval=by_section.get(c.section, 0.0)) for c in candidates]


@pytest.mark.parametrize("weight, expected", [
    # Retrieval found the swimming section first: with the weight it answers, not the lone
    # walking sentence scoring a little higher; without it the best sentence picks the section.
    (1.25, ["Water takes weight off the spine."]),
    (0.0, ["Walking keeps the back moving."]),
])
def test_sections_rank_by_their_best_sentence_plus_retrieval_strength(service, rows, weight, expected):
    candidates = with_retrieval(scored(service, rows, {
        "Walking keeps the back moving.": 0.9, "Water takes weight off the spine.": 0.85}),
        {"Water takes weight off the spine.": 0.0, "Walking keeps the back moving.": -0.3})
    assert selected_texts(service, candidates, tuning=AnswerTuning(retrieval_weight=weight)) == expected


def test_request_limit_caps_the_sentences(service, rows):
    texts = selected_texts(service, scored(service, rows, {
        "Stop stretching and see a doctor if you develop:": 0.9,
        "Numbness in both legs": 0.6, "Weakness getting worse": 0.6}), limit=1)
    assert texts == ["Numbness in both legs"]


# -- composed: labels ride with their sentence, one block per article ---------------------------

def test_label_is_quoted_with_its_sentence_as_one_verbatim_span(service):
    answer = service.answer("how long do I hold the hamstrings stretch on the floor?", max_sentences=8)
    assert not answer.abstained
    joined = [c for c in answer.citations if c.quote.startswith("Hamstrings:")]
    assert joined and joined[0].quote == "Hamstrings: Sit on the floor with legs straight."
    text = service.document(joined[0].doc_id).text
    assert text[joined[0].start:joined[0].end] == joined[0].quote


def test_blocks_hold_each_article_once_in_reading_order(service):
    answer = service.answer("walking and swimming with back pain", max_sentences=8)
    docs = [b.doc_id for b in answer.blocks]
    assert len(docs) == len(set(docs))
    flat = [s for b in answer.blocks for s in b.sentences]
    assert flat == list(answer.sentences)
    for block in answer.blocks:
        starts = [c.start for c in answer.citations if c.doc_id == block.doc_id]
        assert starts == sorted(starts)


def test_located_candidates_carry_their_sections_retrieval_strength(service, rows):
    from groundedqa.index.ports import PassageHit

    store = service.index.store
    swimming = store.section(rows["Water takes weight off the spine."]).start
    passages = {store.section(store.passage_sentences(p).start).start: p
                for p in range(service.index.dense.size)}
    walking = store.section(rows["Walking keeps the back moving."]).start
    hits = [PassageHit(passages[swimming], 2.0), PassageHit(passages[walking], 1.0)]
    query = service.pipeline.reader.read("walking and swimming", None, ())
    strength = {c.section: c.retrieval for c in service.pipeline.locator.locate(query, hits)}
    assert strength == {swimming: 0.0, walking: -1.0}
