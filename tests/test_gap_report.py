"""The coverage-gap report end to end: synthetic patient traffic through POST /v1/answer over the
seed articles, then `groundedqa report gaps` (terminal table and HTML page)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from groundedqa.api.app import create_app
from groundedqa.cli import main
from groundedqa.state.tables import gaps, now

pytestmark = pytest.mark.slow

#: Three subjects the seed articles (back pain, training) do not cover, asked in different words.
THEMES = {
    "pregnan": ["is it safe to take ibuprofen while pregnant?",
                "can I take painkillers during pregnancy?",
                "which pain medicine is safe when I am pregnant?",
                "pregnant since 03/02/2026 and need something for pain, what can I take? "
                "mail me at sam@example.org"],
    "tooth": ["how do I stop my tooth from aching?", "what helps a toothache at night?",
              "my molar hurts when I chew, what should I do?", "best remedy for tooth pain?"],
    "flu": ["should my child get the flu vaccine?", "is the flu shot safe for kids?",
            "when should children be vaccinated against influenza?"],
}
COVERED = ["can I deadlift with a pinched nerve?", "is swimming ok during spinal decompression?"]


def send_traffic(app) -> None:
    with TestClient(app) as client:
        for question in [q for qs in THEMES.values() for q in qs] + COVERED:
            assert client.post("/v1/answer", json={"question": question}).status_code == 200
    app.state.answer_records.flush()
    app.state.admin_worker.stop()


@pytest.fixture
def gap_app(seed_settings, seed_service, tmp_path, monkeypatch, request):
    opted_in = getattr(request, "param", True)
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    settings = seed_settings.model_copy(update={"state_url": url, "store_question_text": opted_in})
    monkeypatch.setenv("GROUNDEDQA_STATE_URL", url)
    monkeypatch.setenv("GROUNDEDQA_STORE_QUESTION_TEXT", str(opted_in).lower())
    return create_app(settings, seed_service)


def test_gap_topics_group_each_subject_with_terms_examples_and_weeks(gap_app, tmp_path, capsys):
    send_traffic(gap_app)
    state = gap_app.state.clinic_state
    recorded = state.gaps.gaps()
    assert len(recorded) == sum(len(q) for q in THEMES.values())  # covered questions are not gaps
    # Half of the first subject's questions were asked two weeks ago: counts over time.
    with state.engine.begin() as db:
        db.execute(update(gaps).where(gaps.c.gap_id.in_([recorded[0].gap_id, recorded[1].gap_id]))
                   .values(created_at=now() - timedelta(days=14)))
    page = tmp_path / "gaps.html"
    assert main(["report", "gaps", "--html", str(page)]) == 0
    table = capsys.readouterr().out
    assert "Coverage gaps: 11 questions" in table

    html = page.read_text()
    sections = re.findall(r"<section><h2>Topic (\d+): ([^<]*)</h2>(.*?)</section>", html, re.S)
    assert len(sections) == 3, [s[1] for s in sections]
    for stem, questions in THEMES.items():
        (number, label, body), = [s for s in sections if stem in s[1]]
        assert f"<td class=\"n\">{number}</td><td>{label}</td><td class=\"n\">{len(questions)}</td>" in html
        assert body.count("<li>") == min(3, len(questions))
    pregnancy = next(s for s in sections if "pregnan" in s[1])[2]
    assert re.findall(r"<td class=\"n\">(\d+)</td>", pregnancy) == ["2", "0", "2"]
    # Identifiers were redacted before storage; the page loads nothing from anywhere.
    assert "sam@example.org" not in html and "03/02/2026" not in html and "[email]" in html
    assert not re.search(r"<script|<link|<img|src=|@import|url\((?!#)|href=\"(?!#)", html)
    assert "<svg" in html


@pytest.mark.parametrize("gap_app", [False], indirect=True)
def test_without_opt_in_gaps_keep_topics_and_counts_but_no_text(gap_app, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # one table row per line
    send_traffic(gap_app)
    with gap_app.state.clinic_state.engine.connect() as db:
        texts = db.execute(select(gaps.c.question)).scalars().all()
    assert len(texts) == 11 and set(texts) == {None}
    assert main(["report", "gaps"]) == 0
    out = capsys.readouterr().out
    assert "not stored" in out
    rows = [line for line in out.splitlines() if re.match(r"│ \d", line)]
    assert len(rows) == 3 and all(f"topic {n}" in row for n, row in enumerate(rows, 1))
    assert sorted(int(row.split("│")[3]) for row in rows) == [3, 4, 4]
    assert "ibuprofen" not in out and "toothache" not in out
