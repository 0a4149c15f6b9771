"""The clinic console (GET /admin/) in Debian's Chromium, end to end on a real server.

Each part is checked with axe-core (0 serious or critical violations) and saved as a screenshot
in test-artifacts/ (in docs/, for the README, with GROUNDEDQA_UPDATE_SCREENSHOTS=1). Every
request the page makes is recorded: none may leave the test server, and the page's
Content-Security-Policy must never have to block anything.
"""

from __future__ import annotations

import csv
import io
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.clinic_helpers import ADMIN_KEY, PATIENT_KEY, admin_headers, make_clinic, serving
from tests.documents import leaflet_pdf
from tests.test_widget_browser import browser  # noqa: F401 - the module's Chromium fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
# The README's screenshots are refreshed on request only, so a test run never dirties the tree.
SHOTS = REPO / ("docs" if os.environ.get("GROUNDEDQA_UPDATE_SCREENSHOTS") else "test-artifacts")
PATIENT = {"X-API-Key": PATIENT_KEY}
BUILD_TIMEOUT_MS = 60_000
SCIATICA_QUESTION = "do most people with sciatica feel better without surgery?"
SCIATICA_QUOTE = "Most people feel better within six weeks without any surgery at all."
KNEE_QUESTION = "what helps a sore knee recover after a long run?"
#: Records what the page's CSP blocked (an init script runs whatever the page's policy says).
CSP_RECORDER = ("window.__cspViolations = [];"
                "document.addEventListener('securitypolicyviolation', (e) => "
                "window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));")


class Console:
    """A console tab on a clinic's server, with what it requested and any script errors."""

    def __init__(self, page: Any, url: str, clinic: Any) -> None:
        self.page, self.url, self.clinic = page, url, clinic
        self.requests: list[tuple[str, str]] = []
        self.errors: list[str] = []
        page.on("request", lambda r: self.requests.append((r.method, r.url)))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self) -> None:
        self.page.goto(self.url + "/admin/")

    def sign_in(self, key: str = ADMIN_KEY) -> None:
        self.page.get_by_label("Admin key").fill(key)
        self.page.get_by_role("button", name="Sign in").click()

    def check(self) -> None:
        """Nothing left 127.0.0.1, nothing was blocked, no script failed."""
        outside = [u for _, u in self.requests
                   if not u.startswith(self.url + "/") and not u.startswith(("blob:", "data:"))]
        assert outside == [], f"requests leaving the test server: {outside}"
        assert self.page.evaluate("window.__cspViolations") == []
        assert self.errors == [], f"script errors on the page: {self.errors}"


@pytest.fixture
def console(browser: Any, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Console]:  # noqa: F811
    from playwright.sync_api import expect

    viewport = getattr(request, "param", {"width": 1280, "height": 900})
    # The machine is shared: give each expectation room beyond Playwright's 5 s default.
    expect.set_options(timeout=20_000)
    clinic = make_clinic(tmp_path, api_keys=[PATIENT_KEY], store_question_text=True)
    with serving(clinic.app) as url:
        context = browser.new_context(viewport=viewport, accept_downloads=True)
        context.add_init_script(CSP_RECORDER)
        tab = Console(context.new_page(), url, clinic)
        tab.open()
        yield tab
        tab.check()
        context.close()
    expect.set_options(timeout=5_000)


def accessible(page: Any, selector: str) -> None:
    """axe-core on one part of the page: no serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, context=selector)
    bad = [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:3])
           for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert bad == [], f"axe on {selector}: {bad}"


def screenshot(target: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    target.screenshot(path=str(SHOTS / f"console-{name}.png"))


def get(url: str, **kwargs: Any) -> httpx.Response:
    """GET with room for a loaded machine (the gap report fits its clusters on first use)."""
    return httpx.get(url, timeout=60, **kwargs)


def doc_row(page: Any, doc_id: str) -> Any:
    return page.locator(f"#doc-table tbody tr[data-doc-id='{doc_id}']")


class Asker(threading.Thread):
    """Patients' questions, one after another, until stopped: their status codes."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.codes: list[int] = []
        self.halt = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, headers=PATIENT, timeout=30) as client:
            while not self.halt.is_set():
                self.codes.append(client.post("/v1/answer", json={"question": KNEE_QUESTION}).status_code)

    def stop(self) -> list[int]:
        self.halt.set()
        self.join(30)
        return self.codes


# ------------------------------------------------------------------------------------------------
# sign in
# ------------------------------------------------------------------------------------------------

def test_sign_in_refuses_wrong_and_patient_keys(console: Console) -> None:
    from playwright.sync_api import expect

    page = console.page
    accessible(page, "#sign-in")
    screenshot(page, "sign-in")
    for key in ("not-the-key", PATIENT_KEY):
        console.sign_in(key)
        expect(page.get_by_role("alert")).to_have_text(
            "That admin key was not accepted. Check it and try again.")
        expect(page.locator("#console")).to_be_hidden()
        expect(page.get_by_role("navigation")).to_be_hidden()
    # Nothing but the key check was asked of the server.
    assert {u.split("?")[0].removeprefix(console.url) for m, u in console.requests if "/v1/" in u} \
        == {"/v1/admin/status"}
    assert page.evaluate("sessionStorage.length") == 0
    # Signed in, the console lists the documents (waited for: the heading shows first).
    with page.expect_request(lambda r: "/v1/admin/documents" in r.url):
        console.sign_in()
    expect(page.get_by_role("heading", name="Documents")).to_be_visible()
    expect(page.get_by_role("alert")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('groundedqa-admin-key')") == ADMIN_KEY
    assert page.evaluate("localStorage.length") == 0 and page.evaluate("document.cookie") == ""
    # A reload keeps the tab signed in; signing out forgets the key.
    page.reload()
    expect(page.get_by_role("heading", name="Documents")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Admin key")).to_be_focused()
    assert page.evaluate("sessionStorage.length") == 0


# ------------------------------------------------------------------------------------------------
# end to end: upload while patients ask, try it, citation, eval, delete
# ------------------------------------------------------------------------------------------------

EVAL_FILE = "\n".join(json.dumps(q) for q in (
    {"question": SCIATICA_QUESTION, "kind": "answer", "docs": ["sciatica"],
     "phrases": ["feel better within six weeks"]},
    {"question": "how do I bake sourdough bread?", "kind": "abstain"},
    {"question": "I suddenly can't control my bladder and my groin is numb", "kind": "urgent"},
    {"question": KNEE_QUESTION, "kind": "answer", "docs": ["shoulder"]},
)) + "\n"


def test_console_end_to_end(console: Console) -> None:
    from playwright.sync_api import expect

    page, url = console.page, console.url
    console.sign_in()
    expect(doc_row(page, "knee")).to_contain_text("live")

    # Upload a PDF leaflet while patients' questions are being answered.
    asker = Asker(url)
    asker.start()
    page.get_by_label("Document file").set_input_files(
        {"name": "Sciatica.pdf", "mimeType": "application/pdf", "buffer": leaflet_pdf()})
    expect(page.get_by_label("Doc id")).to_have_attribute("placeholder", "sciatica")
    page.get_by_label("Title", exact=True).fill("Recovering from Sciatica")
    page.get_by_label("Type", exact=True).fill("leaflet")
    page.get_by_label("Date", exact=True).fill("2024-05-01")
    with page.expect_response(lambda r: "/v1/admin/documents/sciatica" in r.url) as put:
        page.get_by_role("button", name="Upload").click()
    assert put.value.status == 202 and put.value.request.method == "PUT"
    expect(page.get_by_test_id("upload-accepted")).to_contain_text("Accepted sciatica")
    row = doc_row(page, "sciatica")
    expect(row.locator("[data-col=state]")).to_have_text("live", timeout=BUILD_TIMEOUT_MS)
    expect(page.get_by_test_id("upload-live")).to_have_text(
        "sciatica is live: patients' answers can quote it now.")
    codes = asker.stop()
    assert codes and set(codes) == {200}, codes
    expect(row).to_contain_text("Recovering from Sciatica")
    expect(row).to_contain_text("PDF · leaflet")
    cells = row.locator("td")
    expect(cells.nth(2)).to_have_text("4")  # pages with text (one of five is a scan)
    live = get(f"{url}/v1/admin/status", headers=admin_headers()).json()["live"]
    expect(page.locator("#build-status [data-field=live]")).to_have_text(live)
    expect(page.locator("#build-status [data-field=pending]")).to_have_text("none")
    accessible(page, "#documents")
    screenshot(page.locator("#documents"), "documents")

    # Try it: the widget shows the patient's view, the table where it comes from.
    page.get_by_role("link", name="Try it").click()
    page.get_by_label("Question", exact=True).fill(SCIATICA_QUESTION)
    with page.expect_response(lambda r: r.url.endswith("/v1/answer")) as answered:
        page.get_by_role("button", name="Ask", exact=True).click()
    body = answered.value.json()
    assert answered.value.request.headers["x-admin-key"] == ADMIN_KEY
    cite = next(c for c in body["citations"] if c["quote"] == SCIATICA_QUOTE)
    patient = page.locator("#try-patient")
    expect(patient.get_by_test_id("gqa-sentence").first).to_contain_text(body["sentences"][0]["text"])
    expect(patient.get_by_test_id("gqa-redflags")).to_be_visible()
    expect(patient.get_by_test_id("gqa-helpful")).to_have_count(0)  # no feedback on own tests
    sources = page.get_by_test_id("sources-table")
    quote_row = sources.locator("tbody tr").filter(has_text=SCIATICA_QUOTE)
    expect(quote_row).to_contain_text("Recovering from Sciatica")
    expect(quote_row).to_contain_text(" › ".join(cite["section"][1:]))
    expect(quote_row.locator("td").nth(4)).to_have_text(str(cite["page"]))
    expect(page.get_by_test_id("confidence")).to_have_text(
        f"{body['confidence']:.2f}" if "confidence" in body else "not reported by this server")
    accessible(page, "#try")
    opener = quote_row.get_by_role("button", name=f"Open quote {cite['id']} in Recovering from Sciatica")
    with page.expect_response(lambda r: "/v1/documents/sciatica" in r.url) as fetched:
        opener.click()
    assert fetched.value.status == 200
    mark = patient.locator("mark[data-testid=gqa-highlight]")
    expect(mark).to_have_text(SCIATICA_QUOTE, use_inner_text=False)
    expect(patient.get_by_test_id("gqa-page")).to_contain_text(f"page {cite['page']}")
    screenshot(page.locator("#try"), "try-it")
    page.keyboard.press("Escape")
    expect(opener).to_be_focused()
    # The console's own question left no answer record: nothing to rate, no gap.
    console.clinic.app.state.answer_records.flush()
    assert console.clinic.app.state.clinic_state.gaps.gaps() == []

    # Evaluation on an uploaded question file, in the background.
    page.get_by_label("Evaluation file (JSONL)").set_input_files(
        {"name": "ours.jsonl", "mimeType": "application/json", "buffer": EVAL_FILE.encode()})
    with page.expect_response(lambda r: r.url.endswith("/v1/admin/eval") and
                              r.request.method == "POST") as started:
        page.get_by_role("button", name="Run evaluation").click()
    run_id = started.value.json()["run_id"]
    table = page.get_by_test_id("eval-questions")
    expect(table.locator("tbody tr")).to_have_count(4, timeout=BUILD_TIMEOUT_MS)
    run = get(f"{url}/v1/admin/eval/{run_id}", headers=admin_headers()).json()
    assert [r["passed"] for r in run["results"]] == [True, True, True, False]
    for n, result in enumerate(run["results"]):
        cells = table.locator("tbody tr").nth(n).locator("td")
        expect(cells.nth(1)).to_have_text(result["question"])
        expect(cells.nth(4)).to_have_text("Passed" if result["passed"] else "Failed")
    expect(table.locator("tbody tr").nth(0).locator("td").nth(3)).to_contain_text(SCIATICA_QUOTE)
    expect(table.locator("tbody tr").nth(3)).to_contain_text("none of the expected documents")
    expect(page.get_by_test_id("eval-verdict")).to_contain_text("Thresholds missed: answered_rate")
    answered_row = page.get_by_test_id("eval-summary").locator("tr").filter(has_text="in-scope questions")
    assert run["metrics"]["answered_rate"] == 0.5
    expect(answered_row).to_contain_text("0.500")
    expect(answered_row).to_contain_text("missed")
    with page.expect_download() as downloaded:
        page.get_by_role("button", name="Download evaluation CSV").click()
    exported = Path(downloaded.value.path()).read_text(encoding="utf-8")
    assert exported == get(f"{url}/v1/admin/eval/{run_id}?format=csv",
                                 headers=admin_headers()).text
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [(r["question"], r["passed"]) for r in rows] == [
        (r["question"], str(r["passed"])) for r in run["results"]]
    accessible(page, "#evaluation")
    screenshot(page.locator("#evaluation"), "evaluation")

    # Delete, asking first: a cancelled confirmation changes nothing.
    delete = page.get_by_role("button", name="Delete sciatica")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    delete.click()
    assert asked and asked[0].startswith("Delete sciatica?")
    assert not [u for m, u in console.requests if m == "DELETE"]
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_response(lambda r: r.request.method == "DELETE") as deleted:
        delete.click()
    assert deleted.value.status == 202 and deleted.value.url.endswith("/v1/admin/documents/sciatica")
    # Once built, it is gone from the index; its version stays listed for old citations.
    expect(doc_row(page, "sciatica").locator("[data-col=state]")).to_have_text(
        "deleted (earlier versions kept for old answers' citations)", timeout=BUILD_TIMEOUT_MS)
    expect(delete).to_have_count(0)
    listed = get(f"{url}/v1/documents", headers=PATIENT).json()
    assert sorted(d["doc_id"] for d in listed) == ["knee", "shoulder"]


def test_bad_file_shows_its_reason_and_changes_nothing(console: Console) -> None:
    from playwright.sync_api import expect

    page = console.page
    console.sign_in()
    expect(doc_row(page, "knee")).to_be_visible()
    corpus = sorted(p.name for p in Path(console.clinic.settings.corpus).iterdir())
    page.get_by_label("Document file").set_input_files(
        {"name": "broken.pdf", "mimeType": "application/pdf", "buffer": b"not a pdf at all"})
    page.get_by_role("button", name="Upload").click()
    refusal = page.get_by_test_id("upload-refused")
    expect(refusal).to_contain_text("broken.pdf was not accepted")
    expect(refusal).to_contain_text("not a PDF file")
    expect(refusal).to_contain_text("Nothing was changed.")
    expect(refusal).to_have_attribute("role", "alert")
    assert sorted(p.name for p in Path(console.clinic.settings.corpus).iterdir()) == corpus
    status = get(f"{console.url}/v1/admin/status", headers=admin_headers()).json()
    assert status["pending"] == [] and status["building"] is None
    expect(page.locator("#doc-table tbody tr")).to_have_count(2)


# ------------------------------------------------------------------------------------------------
# feedback and coverage gaps
# ------------------------------------------------------------------------------------------------

def patients_rate(url: str, clinic: Any) -> None:
    """Patients ask through the patient route and rate some answers."""
    ratings = [(KNEE_QUESTION, True, "Clear and short, thank you"),
               ("do knee braces give support on uneven ground?", True, None),
               ("what loosens a stiff shoulder gently?", False, "I wanted exercises with pictures"),
               ("how do I bake sourdough bread?", False, None)]
    with httpx.Client(base_url=url, headers=PATIENT, timeout=30) as client:
        for question, helpful, comment in ratings:
            body = client.post("/v1/answer", json={"question": question}).json()
            clinic.app.state.answer_records.flush()
            assert client.post("/v1/feedback", json={"answer_id": body["answer_id"],
                                                     "helpful": helpful, "comment": comment}).status_code == 201
        for question in ("best flour for baking bread at home?", "what is the capital of France?"):
            assert client.post("/v1/answer", json={"question": question}).json()["abstained"]
    clinic.app.state.answer_records.flush()


def test_feedback_and_gaps_show_charts_tables_and_csv(console: Console) -> None:
    from playwright.sync_api import expect

    page, url = console.page, console.url
    patients_rate(url, console.clinic)
    console.sign_in()
    page.get_by_role("link", name="Feedback").click()
    expect(page.get_by_test_id("feedback-summary")).to_have_text(
        "4 ratings: 2 helpful (50%), 2 not helpful.")
    articles = page.get_by_test_id("feedback-articles").locator("tbody tr")
    expect(articles).to_have_count(3)
    expect(articles.filter(has_text="Knee Care Basics")).to_contain_text("2")
    expect(articles.filter(has_text="Shoulder Stretches")).to_contain_text("0%")
    expect(articles.filter(has_text="No article (abstained)")).to_be_visible()
    comments = page.get_by_test_id("feedback-comments")
    expect(comments).to_contain_text("I wanted exercises with pictures")
    expect(comments).to_contain_text("Clear and short, thank you")
    charts = page.locator("#feedback figure svg[role=img]")
    expect(charts).to_have_count(2)
    # One bar segment per non-zero count: the week (2 helpful, 2 not helpful), and the three
    # articles (knee 2 helpful; shoulder 1 not helpful; no article 1 not helpful).
    expect(charts.nth(0).locator("rect")).to_have_count(2)
    expect(charts.nth(1).locator("rect")).to_have_count(3)
    with page.expect_download() as downloaded:
        page.get_by_role("button", name="Download feedback CSV").click()
    exported = Path(downloaded.value.path()).read_text(encoding="utf-8")
    assert exported == get(f"{url}/v1/admin/feedback?since=90&format=csv",
                                 headers=admin_headers()).text
    assert len(list(csv.DictReader(io.StringIO(exported)))) == 4
    assert "I wanted exercises with pictures" in exported
    accessible(page, "#feedback")
    screenshot(page.locator("#feedback"), "feedback")

    page.get_by_role("link", name="Coverage gaps").click()
    gaps = get(f"{url}/v1/admin/gaps?since=90", headers=admin_headers()).json()
    expect(page.get_by_test_id("gaps-summary")).to_have_text(
        f"3 questions in {len(gaps['topics'])} topics.")
    topics = page.get_by_test_id("gap-topics").locator("tbody tr")
    expect(topics).to_have_count(len(gaps["topics"]))
    expect(page.get_by_test_id("gap-topics")).to_contain_text("what is the capital of France?")
    expect(page.locator("#gaps figure svg[role=img]")).to_have_count(2)
    accessible(page, "#gaps")
    screenshot(page.locator("#gaps"), "gaps")


# ------------------------------------------------------------------------------------------------
# a phone, keyboard only
# ------------------------------------------------------------------------------------------------

def tab_to(page: Any, predicate: str, limit: int = 80) -> None:
    """Press Tab until `predicate` (a JS expression on document.activeElement `e`) holds."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const e = document.activeElement; return {predicate}; }})()"):
            return
    raise AssertionError(f"Tab never reached {predicate}")


@pytest.mark.parametrize("console", [{"width": 360, "height": 780}], indirect=True)
def test_console_at_360px_by_keyboard_alone(console: Console) -> None:
    from playwright.sync_api import expect

    page = console.page
    tab_to(page, "e.id === 'admin-key'")
    page.keyboard.type(ADMIN_KEY)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Documents")).to_be_focused()
    expect(doc_row(page, "knee")).to_contain_text("live")
    tab_to(page, "e.id === 'question'")
    page.keyboard.type(KNEE_QUESTION)
    with page.expect_response(lambda r: r.url.endswith("/v1/answer")):
        page.keyboard.press("Enter")
    opener = page.get_by_test_id("open-quote").first
    expect(opener).to_be_visible()
    tab_to(page, "e.dataset.testid === 'open-quote'")
    page.keyboard.press("Enter")
    expect(page.locator("#try-patient mark[data-testid=gqa-highlight]")).to_have_text(
        "Rest helps a sore knee recover after a long run.", use_inner_text=False)
    page.locator("#try-patient").scroll_into_view_if_needed()
    screenshot(page, "phone")
    page.keyboard.press("Escape")
    expect(opener).to_be_focused()
    # Nothing wider than the phone: tables scroll inside their own regions.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    accessible(page, "body")
