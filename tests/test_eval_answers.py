"""`eval answers`: robust sentence matching, per-answer scores, the question-file loader, the
BEIR scoring, and the shipped answers.jsonl run in-process on the seed service."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from groundedqa.eval import answers as A
from groundedqa.eval.clients import PipelineClient

REPO = Path(__file__).resolve().parents[1]
ANSWERS = REPO / "eval" / "questions" / "answers.jsonl"

DOC = ("Stop dead-hangs if you develop:\n\nProgressive motor weakness affecting quality of life\n\n"
       "Hamstrings: Sit with legs straight and hold for 20-30 seconds.\n\n"
       + "Core work helps the spine in many ways over time. " * 6 + "\n\n"
       "Walking is safe. Contact our clinic today to book.")


def response(*quotes: tuple[str, str]) -> dict:
    """A well-formed /v1/answer body quoting (doc_id, text) spans of DOC."""
    citations, sentences = [], []
    for n, (doc_id, text) in enumerate(quotes, start=1):
        start = DOC.index(text)
        citations.append({"id": n, "doc_id": doc_id, "title": "T", "url": None, "quote": text,
                          "start": start, "end": start + len(text), "score": 0.5})
        sentences.append({"text": text, "citations": [n]})
    return {"question": "q", "answer": " ".join(f"{s['text']} [{i}]" for i, s in enumerate(sentences, 1)),
            "sentences": sentences, "citations": citations, "abstained": not sentences,
            "urgent": False, "red_flags": [{"text": "Seek care.", "citation": None}],
            "disclaimer": "General information."}


def question(ideal: list[str], acceptable: list[str] = ()) -> A.AnswerQuestion:
    return A.AnswerQuestion("q1", "q", "which", ("doc",), tuple(ideal), tuple(acceptable))


def get_text(doc_id: str) -> str | None:
    return DOC if doc_id == "doc" else None


def test_a_shorter_item_is_not_found_inside_a_longer_one():
    assert not A.contains_sentence("Progressive motor weakness affecting quality of life",
                                   "Progressive motor weakness")
    assert A.contains_sentence("Progressive motor weakness. Bilateral leg symptoms",
                               "Progressive motor weakness.")


def test_typographic_quotes_and_spacing_do_not_matter():
    assert A.normalize("It’s  “fine”\u00a0now") == "It's \"fine\" now"


def test_label_and_sentence_quoted_apart_recall_the_labelled_ideal():
    body = response(("doc", "Hamstrings:"), ("doc", "Sit with legs straight and hold for 20-30 seconds."))
    score = A.score_answer(question(["Hamstrings: Sit with legs straight and hold for 20-30 seconds."]),
                           body, get_text)
    assert score.recalled == 1 and score.precise == 2 and score.noise == 0 and score.one_excerpt


def test_neighbouring_extra_is_imprecise_but_far_or_foreign_text_is_noise():
    body = response(("doc", "Walking is safe."), ("doc", "Contact our clinic today to book."),
                    ("doc", "Stop dead-hangs if you develop:"))
    score = A.score_answer(question(["Walking is safe."]), body, get_text)
    assert score.recalled == 1 and score.precise == 1
    assert score.extra == ["Contact our clinic today to book.", "Stop dead-hangs if you develop:"]
    assert score.noisy == ["Stop dead-hangs if you develop:"]


def test_a_gap_with_words_breaks_the_excerpt():
    body = response(("doc", "Stop dead-hangs if you develop:"), ("doc", "Walking is safe."))
    assert not A.score_answer(question(["Walking is safe."]), body, get_text).one_excerpt


def test_abstention_recalls_nothing():
    score = A.score_answer(question(["Walking is safe."]), response(), get_text)
    assert not score.answered and score.recalled == 0 and score.missing == ["Walking is safe."]
    assert A.aggregate([score]).ideal_recall == 0.0


def test_seed_dev_file_prefixes_map_to_manifest_doc_ids(tmp_path):
    (tmp_path / "manifest.toml").write_text(
        '[[documents]]\nfile = "000_abc.txt"\ndoc_id = "dead-hangs"\n', encoding="utf-8")
    path = tmp_path / "answers.jsonl"
    path.write_text(json.dumps({"id": "a1", "question": "q?", "type": "when", "doc": "000",
                                "ideal": ["x."], "acceptable": []}) + "\n", encoding="utf-8")
    (loaded,) = A.load_answer_questions(path, A.manifest_doc_ids(tmp_path))
    assert loaded.docs == ("dead-hangs",)


def test_beir_scores_the_first_cited_article_and_sentence_precision():
    body = response(("doc", "Walking is safe."), ("other", "Walking is safe."))
    body["citations"][1]["doc_id"] = "other"
    score = A.score_beir_answer("q1", {"doc": 2}, body, get_text)
    assert score.answered and score.first_grade == 2 and score.precise == 1 and score.quoted == 2
    metrics = A.aggregate_beir([score, A.BeirAnswerScore("q2")])
    assert metrics.answered_rate == 0.5 and metrics.first_relevant_rate == 1.0


@pytest.mark.slow
def test_answers_file_on_the_seed_service_stays_above_its_floors(seed_service):
    questions = A.load_answer_questions(ANSWERS)
    scores = A.run_answer_questions(questions, PipelineClient(seed_service, "seed"))
    metrics = A.aggregate(scores)
    # A little under the figures measured at the end of issue 11 (README, "Evaluation").
    assert metrics.grounded_rate == 1.0
    assert metrics.answered_rate >= 0.85
    assert metrics.ideal_recall >= 0.50
    assert metrics.precision >= 0.45
    assert metrics.noise_per_answer <= 1.0
    assert metrics.articles_per_answer <= 1.2
