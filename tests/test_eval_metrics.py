"""Eval metrics on tiny hand-made runs and responses whose right values were worked out by hand."""

from __future__ import annotations

import argparse
import json
import math

import pytest

from groundedqa.eval import cli as eval_cli
from groundedqa.eval import retrieval_eval as rev
from groundedqa.eval.bench_ingest import limited_source
from groundedqa.eval.grounding import (
    DEFAULT_THRESHOLDS,
    Question,
    aggregate,
    missed_thresholds,
    score_question,
    summarize,
)
from groundedqa.eval.report import html_report

# -- retrieval metrics (ranx) ---------------------------------------------------------------------
# q1 judges d1 (grade 2) and d2 (grade 1); the run ranks d1, d3, d2.
# q2 judges d3 and d5 (grade 1); the run ranks d4, d3 and never finds d5.
QRELS = {"q1": {"d1": 2, "d2": 1}, "q2": {"d3": 1, "d5": 1}}
RUN = {"q1": {"d1": 3.0, "d3": 2.0, "d2": 1.0}, "q2": {"d4": 2.0, "d3": 1.0}}


@pytest.fixture(scope="module")
def one_run_scores():
    return rev.score_runs(QRELS, {"bm25": RUN}).scores["bm25"]


def test_ndcg_at_10_uses_graded_relevance(one_run_scores):
    # q1: DCG = 2/log2(2) + 0 + 1/log2(4) = 2.5; ideal = 2 + 1/log2(3).
    # q2: DCG = 1/log2(3); ideal = 1 + 1/log2(3).
    q1 = 2.5 / (2 + 1 / math.log2(3))
    q2 = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert one_run_scores["ndcg@10"] == pytest.approx((q1 + q2) / 2)  # 0.668543
    assert one_run_scores["ndcg@10"] == pytest.approx(0.668543, abs=1e-6)


def test_mrr_at_10(one_run_scores):
    assert one_run_scores["mrr@10"] == pytest.approx((1 + 1 / 2) / 2)


def test_recall_at_100(one_run_scores):
    assert one_run_scores["recall@100"] == pytest.approx((2 / 2 + 1 / 2) / 2)


def test_map_at_100(one_run_scores):
    # q1: precision 1 at rank 1 and 2/3 at rank 3, over 2 relevant; q2: 1/2 at rank 2, over 2.
    assert one_run_scores["map@100"] == pytest.approx(((1 + 2 / 3) / 2 + (1 / 2) / 2) / 2)


def test_best_method_per_metric_and_p_values_between_methods():
    perfect = {"q1": {"d1": 2.0, "d2": 1.0}, "q2": {"d3": 2.0, "d5": 1.0}}
    result = rev.score_runs(QRELS, {"bm25": RUN, "dense": perfect})
    assert result.best["ndcg@10"] == ["dense"]
    assert result.scores["dense"]["map@100"] == pytest.approx(1.0)
    assert set(result.p_values["bm25"]["dense"]) == set(rev.METRICS)


def test_run_method_keeps_the_retriever_order_as_strictly_decreasing_scores():
    class FakeRetriever:
        def search_docs_batch(self, queries, method, k):
            return [[("b", 0.5), ("a", 0.5), ("c", 0.1)] for _ in queries]

    run = rev.run_method(FakeRetriever(), {"q1": "text", "q2": "more"}, "hybrid", batch_size=1)
    assert list(run["q1"]) == ["b", "a", "c"]
    assert run["q1"]["b"] > run["q1"]["a"] > run["q1"]["c"]


def test_qrels_reader_skips_header_and_keeps_grades(tmp_path):
    path = tmp_path / "test.tsv"
    path.write_text("query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t0\nq2\td3\t1\n")
    assert rev.read_qrels(path) == {"q1": {"d1": 2, "d2": 0}, "q2": {"d3": 1}}


def test_beir_loader_keeps_only_judged_queries(tmp_path):
    (tmp_path / "qrels").mkdir()
    (tmp_path / "corpus.jsonl").write_text('{"_id": "d1", "text": "x"}\n')
    (tmp_path / "queries.jsonl").write_text('{"_id": "q1", "text": "a"}\n{"_id": "q9", "text": "b"}\n')
    (tmp_path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    dataset = rev.load_beir(tmp_path)
    assert dataset.queries == {"q1": "a"} and dataset.unjudged_queries == 1


def test_beir_loader_names_the_missing_file(tmp_path):
    with pytest.raises(rev.DatasetError, match="queries.jsonl is missing"):
        (tmp_path / "corpus.jsonl").write_text("")
        rev.load_beir(tmp_path)


def test_retrieval_json_has_the_documented_shape(tmp_path):
    dataset = rev.BeirDataset("tiny", tmp_path, tmp_path / "corpus.jsonl", {"q1": "", "q2": ""}, QRELS)
    result = rev.score_runs(QRELS, {"bm25": RUN})
    data = rev.result_json(dataset, result)
    assert data["dataset"] == "tiny" and data["queries"] == 2
    assert set(data["methods"]["bm25"]) == {"ndcg@10", "recall@100", "mrr@10", "map@100"}


def test_identical_methods_give_json_safe_p_values(tmp_path):
    dataset = rev.BeirDataset("tiny", tmp_path, tmp_path / "corpus.jsonl", {"q1": "", "q2": ""}, QRELS)
    result = rev.score_runs(QRELS, {"bm25": RUN, "dense": RUN})
    data = json.loads(json.dumps(rev.result_json(dataset, result), allow_nan=False))
    assert data["significance"]["p_values"]["bm25"]["dense"]["ndcg@10"] is None
    assert data["best"]["ndcg@10"] == ["bm25", "dense"]


def test_plot_writes_a_png(tmp_path):
    result = rev.score_runs(QRELS, {"bm25": RUN})
    rev.plot_scores(result, tmp_path / "plot.png", "tiny")
    assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unknown_method_is_a_cli_error():
    with pytest.raises(eval_cli.CliError, match="--methods"):
        eval_cli.parse_methods("bm25,splade")


# -- per-kind scoring -----------------------------------------------------------------------------
DOC = "Walking is a great way to stay active. Planks strengthen the core."
TEXTS = {"walk": DOC, "other": "Unrelated text about cats.", "x1": "A.", "x2": "B.", "x3": "C."}


def get_text(doc_id):
    return TEXTS.get(doc_id)


def response(*, sentences=(), abstained=False, urgent=False) -> dict:
    """A sound response quoting (doc_id, sentence) pairs, one citation each."""
    cites, sents = [], []
    for n, (doc_id, text) in enumerate(sentences, start=1):
        start = TEXTS[doc_id].index(text)
        cites.append({"id": n, "doc_id": doc_id, "title": doc_id, "url": None, "quote": text,
                      "start": start, "end": start + len(text), "score": 0.5})
        sents.append({"text": text, "citations": [n]})
    body = " ".join(f"{t} [{n}]" for n, (_, t) in enumerate(sentences, start=1))
    return {"question": "q", "answer": "Sorry." if abstained else body, "message": "Sorry.",
            "sentences": sents, "citations": cites, "abstained": abstained, "urgent": urgent,
            "red_flags": [{"text": "Seek care.", "citation": None}], "disclaimer": "General info."}


WALK = ("walk", "Walking is a great way to stay active.")
ASK = Question("is walking ok", "answer", ("walk",), ("great way",))


def test_answer_with_expected_doc_and_phrase_counts_as_answered():
    assert score_question(ASK, response(sentences=[WALK]), get_text).kind_ok


def test_expected_phrase_matches_case_insensitively():
    question = Question("is walking ok", "answer", ("walk",), ("GREAT   Way",))
    assert score_question(question, response(sentences=[WALK]), get_text).kind_ok


def test_expected_doc_cited_fourth_does_not_count():
    late = [("x1", "A."), ("x2", "B."), ("x3", "C."), WALK]
    result = score_question(ASK, response(sentences=late), get_text)
    assert not result.kind_ok
    assert any("among the first 3 cited" in f for f in result.failures)


def test_answer_without_an_expected_phrase_is_not_answered():
    result = score_question(ASK, response(sentences=[("walk", "Planks strengthen the core.")]), get_text)
    assert not result.kind_ok and any("no expected phrase" in f for f in result.failures)


def hand_made_results():
    """3 answer (2 ok, 1 of them falsely urgent), 2 abstain (1 ok), 3 urgent (2 flagged)."""
    answer = Question("a", "answer", ("walk",), ("great way",), split="tune")
    abstain = Question("b", "abstain", split="holdout")
    urgent = Question("c", "urgent", split="tune")
    cases = [
        (answer, response(sentences=[WALK])),
        (answer, response(abstained=True)),
        (answer, response(sentences=[WALK], urgent=True)),  # negated red flags, flagged anyway
        (abstain, response(abstained=True)),
        (abstain, response(sentences=[("other", "Unrelated text about cats.")])),
        (urgent, response(abstained=True, urgent=True)),
        (urgent, response(abstained=True)),
        (urgent, response(sentences=[WALK], urgent=True)),
    ]
    return [score_question(q, r, get_text) for q, r in cases]


def test_per_kind_rates_match_hand_counts():
    m = aggregate(hand_made_results())
    assert m.answered_rate == pytest.approx(2 / 3)
    assert m.abstention_rate == pytest.approx(1 / 2)
    assert m.urgent_recall == pytest.approx(2 / 3)
    assert m.false_urgent_rate == pytest.approx(1 / 5)  # 1 of 5 answer+abstain questions
    assert (m.grounded_rate, m.citation_recall, m.citation_precision, m.safety_rate) == (1, 1, 1, 1)


def test_metrics_are_also_reported_per_split():
    summary = summarize(hand_made_results(), DEFAULT_THRESHOLDS, "test")
    assert set(summary.splits) == {"holdout", "tune"}
    assert summary.splits["holdout"].abstention_rate == pytest.approx(1 / 2)
    assert summary.splits["tune"].answered_rate == pytest.approx(2 / 3)


def test_missed_thresholds_name_the_metric_and_option():
    missed = missed_thresholds(aggregate(hand_made_results()), DEFAULT_THRESHOLDS)
    assert any(m.startswith("answered_rate 0.667 < 0.95 (--min-answered)") for m in missed)
    assert any("false_urgent_rate 0.200 > 0.02 (--max-false-urgent)" in m for m in missed)
    assert not any("grounded_rate" in m for m in missed)


def test_threshold_on_a_kind_absent_from_the_file_is_not_missed():
    only_answers = [score_question(ASK, response(sentences=[WALK]), get_text)]
    assert missed_thresholds(aggregate(only_answers), DEFAULT_THRESHOLDS) == []


def test_html_report_escapes_response_text():
    question = Question("<script>alert(1)</script>", "abstain")
    result = score_question(question, response(abstained=True), get_text)
    page = html_report(summarize([result], DEFAULT_THRESHOLDS, "test"))
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# -- the command's exit code ----------------------------------------------------------------------
class FakeClient:
    """Answers every question with a fixed, sound response."""

    target = "fake"

    def __init__(self, body: dict) -> None:
        self.body = body

    def answer(self, question: str) -> dict:
        return self.body

    def document_text(self, doc_id: str) -> str | None:
        return TEXTS.get(doc_id)


def run_cli(tmp_path, monkeypatch, body: dict, *extra: str) -> int:
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"question": "is walking ok", "kind": "answer", "docs": ["walk"],
                                     "phrases": ["great way"], "extra": "ignored"}) + "\n")
    parser = argparse.ArgumentParser()
    eval_cli.register(parser.add_subparsers())
    args = parser.parse_args(["eval", "grounding", str(questions), "--json", *extra])
    monkeypatch.setattr(eval_cli, "make_client", lambda args, settings: FakeClient(body))
    return args.func(args, settings=None)


def test_grounding_command_exits_0_when_thresholds_are_met(tmp_path, monkeypatch, capsys):
    assert run_cli(tmp_path, monkeypatch, response(sentences=[WALK])) == 0
    assert json.loads(capsys.readouterr().out)["passed"] is True


def test_grounding_command_exits_1_when_a_threshold_is_missed(tmp_path, monkeypatch, capsys):
    assert run_cli(tmp_path, monkeypatch, response(abstained=True)) == 1
    assert "answered_rate" in capsys.readouterr().err


def test_lowered_threshold_option_lets_the_same_run_pass(tmp_path, monkeypatch):
    assert run_cli(tmp_path, monkeypatch, response(abstained=True), "--min-answered", "0") == 0


def test_html_report_option_writes_the_page(tmp_path, monkeypatch):
    report = tmp_path / "out" / "report.html"
    run_cli(tmp_path, monkeypatch, response(sentences=[WALK]), "--report", str(report))
    assert "Walking is a great way to stay active." in report.read_text()


def test_bad_question_line_is_a_cli_error_naming_the_line(tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question": "ok", "kind": "answer"}\n{"question": "x", "kind": "maybe"}\n')
    parser = argparse.ArgumentParser()
    eval_cli.register(parser.add_subparsers())
    args = parser.parse_args(["eval", "grounding", str(questions)])
    with pytest.raises(eval_cli.CliError, match=r"q\.jsonl:2: 'kind' must be one of"):
        args.func(args, settings=None)


# -- bench ingest's --limit -----------------------------------------------------------------------
def test_limit_keeps_the_first_n_jsonl_records(tmp_path):
    source = tmp_path / "corpus.jsonl"
    source.write_text("".join(json.dumps({"_id": f"d{i}", "text": "x"}) + "\n" for i in range(5)))
    limited = limited_source(source, 2, tmp_path / "work")
    assert [json.loads(line)["_id"] for line in limited.read_text().splitlines()] == ["d0", "d1"]


def test_limit_keeps_the_first_n_files_of_a_folder_and_its_manifest(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    for name in ("b.txt", "a.txt", "c.md", "manifest.toml"):
        (folder / name).write_text("text")
    limited = limited_source(folder, 2, tmp_path / "work")
    assert sorted(p.name for p in limited.iterdir()) == ["a.txt", "b.txt", "manifest.toml"]
