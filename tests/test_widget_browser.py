"""The chat widget in Debian's headless Chromium, on the demo page of a real server.

Each state is saved as a screenshot in test-artifacts/widget-*.png for a person to look at.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
#: Flags for a headless Chromium in a container that must not phone home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
ANSWER_TIMEOUT_MS = 30_000

IN_SCOPE = "can I go swimming while doing spinal decompression?"
URGENT = "I suddenly can't control my bladder and my groin is numb"
SCRIPT_TAG = "<script>alert(1)</script> can I deadlift?"
OUT_OF_SCOPE = "what is the capital of France?"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium (installed by scripts/install-chromium.sh, never `playwright install`)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `make browser` (scripts/install-chromium.sh) "
                    "installs Debian's Chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, seed_app_server: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The demo page, with dialogs and script errors recorded (the test asserts on them)."""
    viewport = getattr(request, "param", {"width": 1280, "height": 900})
    context = browser.new_context(viewport=viewport)
    tab = context.new_page()
    tab.dialogs, tab.errors = [], []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    tab.goto(seed_app_server + "/")
    yield tab
    context.close()
    assert tab.errors == [], f"script errors on the page: {tab.errors}"


def ask(page: Any, question: str) -> tuple[Any, dict[str, Any]]:
    """Type a question into the widget, press Enter; the new turn and the JSON the server sent."""
    from playwright.sync_api import expect

    if not page.get_by_test_id("gqa-panel").is_visible():
        page.get_by_test_id("gqa-launcher").click()
    field = page.get_by_test_id("gqa-input")
    field.fill(question)
    with page.expect_response(lambda r: r.url.endswith("/v1/answer"),
                              timeout=ANSWER_TIMEOUT_MS) as answered:
        field.press("Enter")
    turn = page.get_by_test_id("gqa-turn").last
    # The red-flag box closes every reply, so once it is there the reply is complete.
    expect(turn.get_by_test_id("gqa-redflags")).to_be_visible()
    return turn, answered.value.json()


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"widget-{name}.png"))


def expect_safety(turn: Any) -> None:
    """Red flags and the disclaimer are on every reply."""
    from playwright.sync_api import expect

    expect(turn.get_by_test_id("gqa-redflags")).to_be_visible()
    expect(turn.get_by_test_id("gqa-redflag").first).to_be_visible()
    expect(turn.get_by_test_id("gqa-disclaimer")).not_to_be_empty()


def test_answer_shows_cited_sentences_and_sources(page: Any) -> None:
    from playwright.sync_api import expect

    turn, body = ask(page, IN_SCOPE)
    assert not body["abstained"] and body["sentences"], body
    sentences = turn.get_by_test_id("gqa-sentence")
    expect(sentences).to_have_count(len(body["sentences"]))
    expect(sentences.first).to_contain_text(body["sentences"][0]["text"])
    first_id = body["sentences"][0]["citations"][0]
    expect(turn.locator("sup > [data-testid=gqa-cite]").first).to_have_text(str(first_id))
    # One source per article, holding the numbers of its quotes.
    sources = turn.get_by_test_id("gqa-source")
    expect(sources).to_have_count(len({c["doc_id"] for c in body["citations"]}))
    expect(sources.first).to_contain_text(body["citations"][0]["title"])
    expect(sources.get_by_test_id("gqa-cite")).to_have_count(len(body["citations"]))
    expect(turn.get_by_test_id("gqa-urgent")).to_have_count(0)
    expect(turn.get_by_test_id("gqa-abstained")).to_have_count(0)
    expect_safety(turn)
    screenshot(page, "answer")


def test_answer_shows_one_block_per_article_in_the_servers_order(page: Any) -> None:
    from playwright.sync_api import expect

    turn, body = ask(page, IN_SCOPE)
    assert body["blocks"], body
    blocks = turn.get_by_test_id("gqa-block")
    expect(blocks).to_have_count(len(body["blocks"]))
    for i, block in enumerate(body["blocks"]):
        shown = blocks.nth(i)
        assert shown.get_attribute("data-doc-id") == block["doc_id"]
        expect(shown.get_by_test_id("gqa-block-title")).to_contain_text(block["title"])
        sentences = shown.get_by_test_id("gqa-sentence")
        expect(sentences).to_have_count(len(block["sentences"]))
        for j, sentence in enumerate(block["sentences"]):
            expect(sentences.nth(j)).to_contain_text(sentence["text"])
    # Every sentence of the answer stands in exactly one block.
    expect(turn.get_by_test_id("gqa-sentence")).to_have_count(len(body["sentences"]))


def test_citation_opens_article_with_quote_highlighted(page: Any) -> None:
    from playwright.sync_api import expect

    turn, body = ask(page, IN_SCOPE)
    cite_id = body["sentences"][0]["citations"][0]
    citation = next(c for c in body["citations"] if c["id"] == cite_id)
    button = turn.locator("sup > [data-testid=gqa-cite]").first
    button.click()
    viewer = page.get_by_test_id("gqa-viewer")
    expect(viewer.get_by_test_id("gqa-article-title")).to_have_text(citation["title"])
    mark = viewer.locator("mark[data-testid=gqa-highlight]")
    expect(mark).to_have_text(citation["quote"], use_inner_text=False)
    assert mark.evaluate("m => m.textContent") == citation["quote"]
    # The whole article is there, the quote scrolled into the viewer's visible part.
    article = viewer.get_by_test_id("gqa-article")
    assert len(article.evaluate("a => a.textContent")) > len(citation["quote"])
    box, view = mark.bounding_box(), viewer.bounding_box()
    assert view["y"] <= box["y"] < view["y"] + view["height"]
    screenshot(page, "citation")
    # Esc goes back to the answers, with focus on the number that opened the article.
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    expect(button).to_be_focused()


def test_urgent_question_shows_seek_care_banner(page: Any) -> None:
    from playwright.sync_api import expect

    turn, body = ask(page, URGENT)
    assert body["urgent"], body
    banner = turn.get_by_test_id("gqa-urgent")
    expect(banner).to_be_visible()
    expect(banner).to_have_attribute("role", "alert")
    expect(banner).to_contain_text(body["urgent_message"])
    # The banner comes first in the reply.
    assert turn.get_by_test_id("gqa-reply").evaluate(
        "r => r.firstElementChild.dataset.testid") == "gqa-urgent"
    expect_safety(turn)
    screenshot(page, "urgent")


def test_markup_in_a_question_is_shown_as_text_and_never_runs(page: Any) -> None:
    from playwright.sync_api import expect

    turn, _ = ask(page, SCRIPT_TAG)
    expect(turn.get_by_test_id("gqa-question")).to_have_text(SCRIPT_TAG)
    assert turn.locator("script, img, iframe").count() == 0
    screenshot(page, "script-question")
    turn2, _ = ask(page, '<img src=x onerror="alert(2)"> is deadlifting safe?')
    expect(turn2.get_by_test_id("gqa-question")).to_contain_text('<img src=x onerror="alert(2)">')
    page.wait_for_timeout(300)  # a dialog, if any, would open by now
    assert page.dialogs == []
    assert turn2.locator("img").count() == 0


def test_abstention_shows_the_not_covered_message(page: Any) -> None:
    from playwright.sync_api import expect

    turn, body = ask(page, OUT_OF_SCOPE)
    assert body["abstained"], body
    expect(turn.get_by_test_id("gqa-abstained")).to_have_text(
        "Our articles don't cover this question.")
    expect(turn.get_by_test_id("gqa-sentence")).to_have_count(0)
    expect_safety(turn)
    screenshot(page, "abstained")


def test_error_bodies_show_their_message_and_red_flags(page: Any) -> None:
    from playwright.sync_api import expect

    ask(page, IN_SCOPE)  # a real reply first: its red flags are kept for network failures
    error = {"error": {"status": 429, "code": "rate_limited", "message": "too many questions"},
             "red_flags": [{"text": "Call emergency services for sudden leg weakness.",
                            "citation": None}],
             "disclaimer": "Not medical advice."}
    page.route("**/v1/answer", lambda route: route.fulfill(
        status=429, headers={"Retry-After": "30"}, json=error))
    turn, _ = ask(page, "another question")
    expect(turn.get_by_test_id("gqa-error")).to_contain_text("30 seconds")
    expect(turn.get_by_test_id("gqa-redflag")).to_have_text(error["red_flags"][0]["text"])
    expect(turn.get_by_test_id("gqa-disclaimer")).to_have_text("Not medical advice.")
    screenshot(page, "error")
    page.unroute("**/v1/answer")
    page.route("**/v1/answer", lambda route: route.abort())
    page.get_by_test_id("gqa-input").fill("and if the network fails?")
    page.get_by_test_id("gqa-input").press("Enter")
    offline = page.get_by_test_id("gqa-turn").last
    expect(offline.get_by_test_id("gqa-error")).to_contain_text("couldn't reach")
    expect(offline.get_by_test_id("gqa-redflag").first).to_be_visible()


def test_keyboard_only(page: Any) -> None:
    from playwright.sync_api import expect

    launcher = page.get_by_test_id("gqa-launcher")
    for _ in range(10):  # Tab through the page until the launcher has focus
        page.keyboard.press("Tab")
        if launcher.evaluate("b => b.getRootNode().activeElement === b"):
            break
    else:
        pytest.fail("the launcher is not reachable with Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("gqa-input")).to_be_focused()
    page.keyboard.type(IN_SCOPE)
    with page.expect_response(lambda r: r.url.endswith("/v1/answer"), timeout=ANSWER_TIMEOUT_MS):
        page.keyboard.press("Enter")
    turn = page.get_by_test_id("gqa-turn").last
    expect(turn.get_by_test_id("gqa-redflags")).to_be_visible()
    cite = turn.locator("sup > [data-testid=gqa-cite]").first
    cite.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("gqa-highlight")).to_be_visible()
    page.keyboard.press("Escape")  # back to the answers
    expect(cite).to_be_focused()
    page.keyboard.press("Escape")  # closes the panel, focus back on the launcher
    expect(page.get_by_test_id("gqa-panel")).to_be_hidden()
    expect(launcher).to_be_focused()


@pytest.mark.parametrize("page", [{"width": 360, "height": 740}], indirect=True)
def test_phone_width_has_no_horizontal_overflow(page: Any) -> None:
    from playwright.sync_api import expect

    turn, _ = ask(page, IN_SCOPE)
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    box = page.get_by_test_id("gqa-panel").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360
    for test_id in ("gqa-log", "gqa-form"):
        assert page.get_by_test_id(test_id).evaluate("e => e.scrollWidth <= e.clientWidth"), test_id
    screenshot(page, "phone")
    turn.locator("sup > [data-testid=gqa-cite]").first.click()
    expect(page.get_by_test_id("gqa-highlight")).to_be_visible()
    assert page.get_by_test_id("gqa-viewer").evaluate("e => e.scrollWidth <= e.clientWidth")
    screenshot(page, "phone-citation")


# ------------------------------------------------------------------------------------------------
# A PDF leaflet: the article view names the page of the highlighted quote
# ------------------------------------------------------------------------------------------------

PDF_QUESTION = "is it good to stay active when my sciatica flares up?"


@pytest.fixture(scope="module")
def pdf_app_server(tmp_path_factory, embedder) -> Iterator[str]:
    """A real server over an index of the test leaflet PDF (tests/documents.py)."""
    import shutil

    from groundedqa.api.app import create_app
    from groundedqa.ingest.build import build_index
    from groundedqa.service import Service
    from groundedqa.settings import Settings
    from tests import documents
    from tests.conftest import CORPUS
    from tests.servers import serving as serve

    root = tmp_path_factory.mktemp("pdf-widget")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "sciatica.pdf").write_bytes(documents.leaflet_pdf())
    shutil.copy(CORPUS / "redflags.toml", corpus / "redflags.toml")
    settings = Settings(index=root / "index", corpus=corpus, rate_limit=None)
    build_index([corpus], settings.index, settings, embedder=embedder)
    service = Service.load(settings, encoder=embedder)
    try:
        with serve(create_app(settings, service)) as url:
            yield url
    finally:
        service.close()


@pytest.fixture
def pdf_page(browser: Any, pdf_app_server: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.errors = []
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    tab.goto(pdf_app_server + "/")
    yield tab
    context.close()
    assert tab.errors == [], f"script errors on the page: {tab.errors}"


def _open_latest_paged_citation(page: Any, turn: Any, body: dict[str, Any]) -> dict[str, Any]:
    """Click the answer's citation from the latest page of the PDF; return that citation."""
    paged = [c for c in body["citations"] if c.get("page") is not None]
    assert paged, body
    citation = max(paged, key=lambda c: c["page"])
    turn.locator(f"sup > [data-testid=gqa-cite]:text-is('{citation['id']}')").click()
    return citation


def test_article_view_shows_the_page_of_the_highlighted_quote(pdf_page: Any) -> None:
    from playwright.sync_api import expect

    turn, body = ask(pdf_page, PDF_QUESTION)
    citation = _open_latest_paged_citation(pdf_page, turn, body)
    viewer = pdf_page.get_by_test_id("gqa-viewer")
    mark = viewer.locator("mark[data-testid=gqa-highlight]")
    expect(mark).to_have_text(citation["quote"], use_inner_text=False)
    note = viewer.get_by_test_id("gqa-page")
    expect(note).to_have_text(
        f"Highlighted text is on page {citation['page']} of the original document.")
    # In sight together with the highlight, which is scrolled into the viewer.
    expect(note).to_be_in_viewport()
    expect(mark).to_be_in_viewport()
    screenshot(pdf_page, "pdf-page")


def test_article_view_finds_the_page_from_the_document_when_the_citation_has_none(
        pdf_page: Any) -> None:
    """Red-flag citations and older servers carry no page: the document's page map tells it."""
    from playwright.sync_api import expect

    originals: list[dict[str, Any]] = []

    def without_pages(route: Any) -> None:
        body = route.fetch().json()
        originals.append(copy.deepcopy(body))
        for c in body["citations"]:
            c.pop("page", None)
        route.fulfill(json=body)

    pdf_page.route("**/v1/answer", without_pages)
    turn, body = ask(pdf_page, PDF_QUESTION)
    assert all("page" not in c for c in body["citations"])
    # The server's own answer says which page to expect.
    expected = _open_latest_paged_citation(pdf_page, turn, originals[0])
    expect(pdf_page.get_by_test_id("gqa-page")).to_have_text(
        f"Highlighted text is on page {expected['page']} of the original document.")


# ------------------------------------------------------------------------------------------------
# conversations
# ------------------------------------------------------------------------------------------------

HAMSTRING = "how long should I hold the hamstring stretch?"
QUAD = "and the quad one?"


def ask_sending(page: Any, question: str) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """`ask`, and the JSON body the widget sent."""
    with page.expect_request(lambda r: r.url.endswith("/v1/answer")) as sent:
        turn, body = ask(page, question)
    return turn, body, sent.value.post_data_json


def stored_conversation(page: Any) -> Any:
    return page.evaluate("""() => {
        const key = Object.keys(sessionStorage).find(k => k.startsWith("groundedqa-conversation"));
        return key ? JSON.parse(sessionStorage.getItem(key)) : null;
    }""")


def test_each_message_is_sent_with_the_earlier_ones_as_history(page: Any) -> None:
    from playwright.sync_api import expect

    _, _, first = ask_sending(page, HAMSTRING)
    assert "history" not in first
    turn, body, second = ask_sending(page, QUAD)
    assert second["history"] == [HAMSTRING]
    assert body["context_used"] and not body["abstained"], body
    expect(turn.get_by_test_id("gqa-follow-up")).to_be_visible()
    assert stored_conversation(page)["messages"] == [HAMSTRING, QUAD]
    screenshot(page, "follow-up")


def test_the_conversation_survives_a_reload_of_the_page(page: Any) -> None:
    from playwright.sync_api import expect

    ask(page, HAMSTRING)
    page.reload()
    page.get_by_test_id("gqa-launcher").click()
    expect(page.get_by_test_id("gqa-continuing")).to_be_visible()
    _, _, sent = ask_sending(page, QUAD)
    assert sent["history"] == [HAMSTRING]


def test_new_conversation_forgets_the_earlier_messages(page: Any) -> None:
    from playwright.sync_api import expect

    ask(page, HAMSTRING)
    page.get_by_test_id("gqa-new-conversation").click()
    assert stored_conversation(page) is None
    expect(page.get_by_test_id("gqa-turn")).to_have_count(0)
    expect(page.get_by_test_id("gqa-input")).to_be_focused()
    turn, body, sent = ask_sending(page, QUAD)
    assert "history" not in sent and body["abstained"] and not body["context_used"]


def test_urgent_banner_stays_on_later_answers_of_the_conversation(page: Any) -> None:
    from playwright.sync_api import expect

    ask(page, URGENT)
    turn, body, sent = ask_sending(page, "what stretches help a pinched nerve?")
    assert sent["history"] == [URGENT]
    expect(turn.get_by_test_id("gqa-urgent")).to_be_visible()
    # Even were the server to stop flagging it (older messages dropped), the widget keeps it.
    page.route("**/v1/answer", lambda route: route.fulfill(json={**body, "urgent": False}))
    later, _ = ask(page, "and walking?")
    expect(later.get_by_test_id("gqa-urgent")).to_be_visible()
    screenshot(page, "urgent-conversation")
    page.unroute("**/v1/answer")
    page.get_by_test_id("gqa-new-conversation").click()
    fresh, fresh_body = ask(page, IN_SCOPE)
    assert not fresh_body["urgent"]
    expect(fresh.get_by_test_id("gqa-urgent")).to_have_count(0)


def test_the_conversation_panel_passes_axe(page: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe

    ask(page, HAMSTRING)
    ask(page, QUAD)
    results = Axe().run(page, context="[data-groundedqa-widget]")
    bad = [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:3])
           for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert bad == [], bad
    # axe looked inside the widget's shadow root (its targets there are [host, inner] lists).
    assert any(isinstance(n["target"][0], list) for v in results.response["passes"]
               for n in v["nodes"])
