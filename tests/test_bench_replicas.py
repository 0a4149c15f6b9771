"""`groundedqa bench load --url ... --url ...` drives running replicas: one, then all."""

from __future__ import annotations

import json

from groundedqa.cli import main
from tests.clinic_helpers import make_clinic
from tests.servers import serving


def answered(app) -> float:
    return app.state.metrics.requests.labels(path="/v1/answer", status="200")._value.get()


def test_bench_load_compares_one_replica_with_all_of_them(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = make_clinic(tmp_path / "a"), make_clinic(tmp_path / "b")
    with serving(first.app) as url_a, serving(second.app) as url_b:
        code = main(["bench", "load", "--url", url_a, "--url", url_b, "--clients", "4",
                     "--requests", "24", "--json"])
        report = json.loads(capsys.readouterr().out)
        counts = answered(first.app), answered(second.app)
    assert code == 0
    one, both = report["phases"]
    assert (one["replicas"], both["replicas"]) == (1, 2)
    for phase in (one, both):
        [round_] = phase["rounds"]
        assert round_["non_2xx"] == 0 and round_["transport_errors"] == 0
        assert round_["answers_per_s"] > 0 and round_["p95_ms"] is not None
        assert all(rss and rss > 0 for rss in phase["rss_bytes"].values())
    # warm-up 16 + 24 + 24, none lost or counted twice; the second replica only in the
    # warm-up and the spread phase
    assert sum(counts) == 16 + 24 + 24 and counts[0] >= 24 and 0 < counts[1] <= 16 + 24
    assert [r["replica"] for r in report["replicas"]] == [
        first.settings.replica_name(), second.settings.replica_name()]
