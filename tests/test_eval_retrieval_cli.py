"""`groundedqa eval retrieval` end to end on a BEIR folder built inside the test."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from groundedqa.cli import main
from groundedqa.retrieval.weights import HybridWeights

pytestmark = pytest.mark.slow

CORPUS = [
    {"_id": "knee-1", "title": "Knee pain", "text": "Knee pain often comes from overuse in runners."},
    {"_id": "knee-2", "title": "Knee pain", "text": "Rest, ice and gentle strengthening help it heal."},
    {"_id": "gout-1", "title": "Gout", "text": "Gout is caused by uric acid crystals in a joint."},
    {"_id": "gout-2", "title": "Gout", "text": "Medicines that lower uric acid prevent new attacks."},
]
QUERIES = {"q1": "What causes gout?", "q2": "How is knee pain treated?", "q3": "Why do runners' knees hurt?"}
QRELS = {"q1": "gout-1", "q2": "knee-2", "q3": "knee-1"}


def make_beir(root):
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in CORPUS) + "\n")
    (root / "queries.jsonl").write_text(
        "\n".join(json.dumps({"_id": q, "text": t}) for q, t in QUERIES.items()) + "\n")
    (root / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t1\n" for q, d in QRELS.items()))
    return root


def run_json(args, capsys) -> dict:
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def test_eval_retrieval_scores_every_method_and_reuses_its_index(tmp_path, capsys):
    dataset = make_beir(tmp_path / "tiny")
    args = ["eval", "retrieval", str(dataset), "--json", "--index-dir", str(tmp_path / "index")]
    first = run_json(args, capsys)
    assert first["dataset"] == "tiny" and first["queries"] == 3
    assert set(first["methods"]) == {"bm25", "dense", "hybrid"}
    for scores in first["methods"].values():
        assert set(scores) == {"ndcg@10", "recall@100", "mrr@10", "map@100"}
        assert scores["recall@100"] == 1.0  # four documents: every method finds each one
    assert first["hybrid_weights"] == asdict(HybridWeights())  # the report names the mix it ran
    assert not first["index"]["reused"]
    second = run_json(args + ["--methods", "hybrid"], capsys)
    assert second["index"]["reused"] and set(second["methods"]) == {"hybrid"}
    assert second["methods"]["hybrid"] == first["methods"]["hybrid"]
