"""The console's server side: the page and its policy, the admin feedback / gaps / eval routes,
citation sections, and the admin key on the patient routes (the console's Try it)."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from html.parser import HTMLParser

import pytest

from groundedqa.eval.grounding import DEFAULT_THRESHOLDS
from fastapi.testclient import TestClient

from groundedqa.eval.grounding import Question
from groundedqa.eval.runs import EvalBusy, EvalRunner
from groundedqa.feedback_export import to_csv
from tests.clinic_helpers import PATIENT_KEY, admin_headers, make_clinic, wait_until_built
from tests.documents import leaflet_pdf

KNEE_QUESTION = "what helps a sore knee recover after a long run?"
KNEE_SENTENCE = "Rest helps a sore knee recover after a long run."
URGENT_QUESTION = "I suddenly can't control my bladder and my groin is numb"
PATIENT = {"X-API-Key": PATIENT_KEY}


@pytest.fixture
def clinic(tmp_path):
    return make_clinic(tmp_path, api_keys=[PATIENT_KEY], store_question_text=True)


@pytest.fixture
def client(clinic):
    with TestClient(clinic.app) as c:
        yield c
    clinic.app.state.admin_worker.stop()


def wait_for_run(client, run_id: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/v1/admin/eval/{run_id}", headers=admin_headers()).json()
        if run["status"] in ("done", "failed"):
            return run
        time.sleep(0.05)
    raise AssertionError(f"evaluation {run_id} did not finish: {run}")


# ------------------------------------------------------------------------------------------------
# the page
# ------------------------------------------------------------------------------------------------

class _Assets(HTMLParser):
    """Every URL the page loads, inline scripts and style attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self.style_attributes = 0
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.style_attributes += "style" in attrs
        if tag == "script":
            self._in_script = "src" not in attrs
        for name in ("src", "href"):
            if attrs.get(name) and not attrs[name].startswith("#"):
                self.urls.append(attrs[name])

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False


def test_console_page_is_local_and_under_a_strict_policy(client):
    response = client.get("/admin/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["default-src"] == "'none'" and directives["connect-src"] == "'self'"
    page = _Assets()
    page.feed(response.text)
    assert page.inline_scripts == 0 and page.style_attributes == 0
    assert set(page.urls) == {"/admin/console.css", "/widget.js", "/admin/console.js", "data:,"}
    for url in ("/admin/console.css", "/widget.js", "/admin/console.js"):
        assert client.get(url).status_code == 200, url
    for url in ("/admin/console.css", "/admin/console.js"):  # no other host named (the browser
        # test records what the page really requests)
        assert "://" not in client.get(url).text.replace("http://www.w3.org/2000/svg", ""), url
    assert client.get("/admin/console.js").headers["content-type"].startswith("application/javascript")
    moved = client.get("/admin", follow_redirects=False)
    assert moved.status_code == 308 and moved.headers["location"] == "/admin/"


def test_every_admin_route_refuses_without_the_admin_key(clinic):
    routes = [(method.upper(), path.replace("{doc_id}", "knee").replace("{run_id}", "abc"))
              for path, operations in clinic.app.openapi()["paths"].items()
              if path.startswith("/v1/admin/") for method in operations]
    assert {"/v1/admin/feedback", "/v1/admin/gaps", "/v1/admin/eval",
            "/v1/admin/eval/abc"} <= {path for _, path in routes}
    refusals = ({}, PATIENT, {"X-Admin-Key": PATIENT_KEY}, {"X-Admin-Key": "wrong"})
    for n, (method, path) in enumerate(routes):
        # Wrong keys are throttled per address: each route is tried from an address of its own.
        with TestClient(clinic.app, client=(f"10.0.0.{n + 1}", 5000)) as client:
            for headers in refusals:
                response = client.request(method, path, headers=headers)
                assert response.status_code == 401, (method, path, headers)
                assert response.json()["error"]["code"] == "unauthorized"
    clinic.app.state.admin_worker.stop()


# ------------------------------------------------------------------------------------------------
# the admin key on the patient routes
# ------------------------------------------------------------------------------------------------

def test_admin_key_asks_like_a_patient_but_leaves_no_records(clinic, client):
    own = client.post("/v1/answer", json={"question": "how do I bake bread?"}, headers=admin_headers())
    assert own.status_code == 200 and own.json()["abstained"]
    patient = client.post("/v1/answer", json={"question": "how do I knit a scarf?"}, headers=PATIENT)
    assert patient.status_code == 200
    clinic.app.state.answer_records.flush()
    state = clinic.app.state.clinic_state
    assert [g.question for g in state.gaps.gaps()] == ["how do I knit a scarf?"]
    assert client.post("/v1/feedback", headers=PATIENT, json={
        "answer_id": own.json()["answer_id"], "helpful": True}).status_code == 404
    assert client.get("/v1/documents/knee", headers=admin_headers()).status_code == 200
    assert client.post("/v1/answer", json={"question": "knee?"},
                       headers={"X-Admin-Key": "wrong"}).status_code == 401


# ------------------------------------------------------------------------------------------------
# documents and citations
# ------------------------------------------------------------------------------------------------

def test_documents_list_format_pages_and_when_updated(client):
    response = client.put("/v1/admin/documents/sciatica", headers=admin_headers(),
                          files={"file": ("sciatica.pdf", leaflet_pdf())}, data={"type": "leaflet"})
    assert response.status_code == 202
    wait_until_built(client)
    docs = {d["doc_id"]: d for d in client.get("/v1/admin/documents", headers=admin_headers()).json()}
    pdf = docs["sciatica"]
    # Five pages, one of them a scan without text: four pages hold the text.
    assert (pdf["format"], pdf["pages"], pdf["metadata"]["doc_type"]) == ("pdf", 4, "leaflet")
    assert pdf["updated"] == pdf["versions"][-1]["published_at"]
    assert (docs["knee"]["format"], docs["knee"]["pages"]) == ("md", 0)


def test_citations_name_the_section_they_quote(client):
    text = ("# Hip Care\n\nHips need care.\n\n## Exercises\n\n### Bridges\n\n"
            "Glute bridges strengthen the hip extensors steadily.\n")
    assert client.put("/v1/admin/documents/hip", headers=admin_headers(),
                      files={"file": ("hip.md", text.encode())}).status_code == 202
    wait_until_built(client)
    body = client.post("/v1/answer", headers=PATIENT,
                       json={"question": "do glute bridges strengthen the hip extensors?"}).json()
    cite = next(c for c in body["citations"] if c["quote"].startswith("Glute bridges"))
    assert cite["section"] == ["Hip Care", "Exercises", "Bridges"]


# ------------------------------------------------------------------------------------------------
# feedback and gaps
# ------------------------------------------------------------------------------------------------

def rate(client, question: str, helpful: bool, comment: str | None = None) -> dict:
    body = client.post("/v1/answer", json={"question": question}, headers=PATIENT).json()
    client.app.state.answer_records.flush()
    response = client.post("/v1/feedback", headers=PATIENT, json={
        "answer_id": body["answer_id"], "helpful": helpful, "comment": comment})
    assert response.status_code == 201
    return body


def test_feedback_by_article_week_and_comment_with_the_cli_csv(clinic, client):
    rate(client, KNEE_QUESTION, True, "clear, thanks")
    rate(client, "do knee braces give support on uneven ground?", False)
    rate(client, "how do I bake bread?", False, "not what I asked")
    data = client.get("/v1/admin/feedback", headers=admin_headers()).json()
    assert (data["total"], data["helpful"], data["not_helpful"]) == (3, 1, 2)
    by_doc = {a["doc_id"]: (a["title"], a["helpful"], a["not_helpful"]) for a in data["by_article"]}
    assert by_doc == {"knee": ("Knee Care Basics", 1, 1), None: (None, 0, 1)}
    assert sum(w["helpful"] + w["not_helpful"] for w in data["by_week"]) == 3
    assert [c["comment"] for c in data["comments"]] == ["not what I asked", None, "clear, thanks"]
    assert data["comments"][0]["question"] == "how do I bake bread?"
    exported = client.get("/v1/admin/feedback?format=csv", headers=admin_headers())
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text == to_csv(clinic.app.state.clinic_state.feedback.export())
    assert len(list(csv.DictReader(io.StringIO(exported.text)))) == 3


def test_gaps_route_groups_uncovered_questions_with_examples(clinic, client):
    for question in ("how do I bake sourdough bread?", "best flour for baking bread at home?",
                     "what is the capital of France?"):
        assert client.post("/v1/answer", json={"question": question}, headers=PATIENT).json()["abstained"]
    clinic.app.state.answer_records.flush()
    data = client.get("/v1/admin/gaps", headers=admin_headers()).json()
    assert data["total"] == 3 and data["with_text"]
    assert sum(t["total"] for t in data["topics"]) == 3
    for topic in data["topics"]:
        assert len(topic["weekly"]) == len(data["weeks"]) and sum(topic["weekly"]) == topic["total"]
    examples = {x for t in data["topics"] for x in t["examples"]}
    assert "what is the capital of France?" in examples
    assert client.get("/v1/admin/gaps?since=0", headers=admin_headers()).status_code == 422


# ------------------------------------------------------------------------------------------------
# eval runs
# ------------------------------------------------------------------------------------------------

QUESTION_FILE = "\n".join(json.dumps(q) for q in (
    {"question": KNEE_QUESTION, "kind": "answer", "docs": ["knee"], "phrases": ["rest helps"]},
    {"question": "how do I bake sourdough bread?", "kind": "abstain"},
    {"question": URGENT_QUESTION, "kind": "urgent"},
    {"question": "what helps a sore knee?", "kind": "answer", "docs": ["shoulder"]},
)) + "\n"


def test_eval_run_scores_an_uploaded_question_file(client):
    started = client.post("/v1/admin/eval", headers=admin_headers(),
                          files={"file": ("mine.jsonl", QUESTION_FILE.encode())})
    assert started.status_code == 202 and started.json()["questions"] == 4
    run = wait_for_run(client, started.json()["run_id"])
    assert run["status"] == "done" and run["source"] == "mine.jsonl"
    outcome = {r["question"]: r["passed"] for r in run["results"]}
    assert outcome == {KNEE_QUESTION: True, "how do I bake sourdough bread?": True,
                       URGENT_QUESTION: True, "what helps a sore knee?": False}
    assert KNEE_SENTENCE in run["results"][0]["answer"]
    wrong_doc = run["results"][3]["failures"]
    assert any("none of the expected documents (shoulder)" in f for f in wrong_doc)
    assert run["metrics"]["answered_rate"] == 0.5
    assert not run["passed"] and any("answered_rate" in m for m in run["missed"])
    default = next(t for t in DEFAULT_THRESHOLDS if t.metric == "answered_rate")
    assert run["thresholds"]["answered_rate"] == {"option": "--min-answered", "bound": default.bound,
                                                  "kind": "min"}
    exported = client.get(f"/v1/admin/eval/{run['run_id']}?format=csv", headers=admin_headers())
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["question"], r["passed"]) for r in rows] == [
        (q, str(p)) for q, p in outcome.items()]
    listed = client.get("/v1/admin/eval", headers=admin_headers()).json()
    assert listed["builtin"] == ["seed", "safety", "answers"]
    assert [r["run_id"] for r in listed["runs"]] == [run["run_id"]]


def test_eval_runs_a_built_in_question_set(client):
    started = client.post("/v1/admin/eval", headers=admin_headers(), data={"questions": "seed"})
    assert started.status_code == 202
    run = wait_for_run(client, started.json()["run_id"])
    assert run["status"] == "done" and run["source"] == "built-in: seed"
    assert len(run["results"]) == run["metrics"]["questions"] == started.json()["questions"] > 0


def test_eval_refuses_a_bad_question_file_by_its_line(client):
    bad = '{"question": "ok?", "kind": "answer"}\n{"question": "no kind"}\n'
    response = client.post("/v1/admin/eval", headers=admin_headers(),
                           files={"file": ("bad.jsonl", bad.encode())})
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("bad.jsonl:2: 'kind' must be one of")
    assert client.post("/v1/admin/eval", headers=admin_headers(),
                       data={"questions": "nope"}).status_code == 422
    assert client.post("/v1/admin/eval", headers=admin_headers()).status_code == 422
    assert client.get("/v1/admin/eval/nope", headers=admin_headers()).status_code == 404
    assert client.get("/v1/admin/eval", headers=admin_headers()).json()["runs"] == []


class _HeldClient:
    """Answers only once released: a run that stays in progress while the test looks."""

    target = "held"

    def __init__(self, release: threading.Event) -> None:
        self.release = release

    def answer(self, question: str) -> dict:
        self.release.wait(10)
        return {}

    def document_text(self, doc_id: str) -> None:
        return None


def test_a_second_run_waits_for_the_first():
    release = threading.Event()
    runner = EvalRunner(lambda: _HeldClient(release))
    first = runner.start([Question("q?", "abstain")], "first")
    with pytest.raises(EvalBusy):
        runner.start([Question("q?", "abstain")], "second")
    release.set()
    deadline = time.monotonic() + 10
    while first.status != "done" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert first.status == "done" and first.done == 1
    assert runner.start([Question("q?", "abstain")], "third").source == "third"


def test_an_overlong_question_file_is_refused(client):
    from groundedqa.eval.runs import MAX_QUESTIONS

    line = json.dumps({"question": "knee?", "kind": "answer"}) + "\n"
    response = client.post("/v1/admin/eval", headers=admin_headers(),
                           files={"file": ("big.jsonl", (line * (MAX_QUESTIONS + 1)).encode())})
    assert response.status_code == 422
    assert f"a run takes {MAX_QUESTIONS} at most" in response.json()["error"]["message"]
