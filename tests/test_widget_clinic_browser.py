"""The widget's clinic side in Debian's Chromium: helpful / not helpful on an answer, and a
citation opening the article in the version it quoted after the article was replaced."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.clinic_helpers import ANKLE, ANKLE_V2, admin_headers, make_clinic, serving, wait_until_built
from tests.test_widget_browser import ask, browser, screenshot  # noqa: F401 - `browser` is a fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BRUISING = "what reduces ankle bruising quickly?"
OLD_QUOTE = "Elevating a sprained ankle above the heart reduces bruising quickly."


@pytest.fixture
def clinic_page(browser: Any, tmp_path) -> Iterator[tuple[Any, str, Any]]:  # noqa: F811
    clinic = make_clinic(tmp_path)
    with serving(clinic.app) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        tab = context.new_page()
        tab.errors = []
        tab.on("pageerror", lambda error: tab.errors.append(str(error)))
        tab.goto(url + "/")
        yield tab, url, clinic
        context.close()
        assert tab.errors == [], f"script errors on the page: {tab.errors}"


def upload(url: str, text: str) -> str:
    with httpx.Client(base_url=url, headers=admin_headers(), timeout=30) as admin:
        response = admin.put("/v1/admin/documents/ankle", files={"file": ("ankle.md", text.encode())})
        assert response.status_code == 202, response.text
        wait_until_built(admin)
    return response.json()["version"]


def test_feedback_buttons_store_the_patients_choice(clinic_page):
    from playwright.sync_api import expect

    page, _, clinic = clinic_page
    turn, body = ask(page, "what helps a sore knee recover after a long run?")
    assert not body["abstained"]
    helpful, not_helpful = turn.get_by_test_id("gqa-helpful"), turn.get_by_test_id("gqa-not-helpful")
    with page.expect_response(lambda r: r.url.endswith("/v1/feedback")) as sent:
        helpful.click()
    assert sent.value.status == 201
    assert sent.value.request.post_data_json == {"answer_id": body["answer_id"], "helpful": True}
    expect(helpful).to_have_attribute("aria-pressed", "true")
    expect(not_helpful).to_have_attribute("aria-pressed", "false")
    expect(turn.get_by_test_id("gqa-feedback-status")).to_have_text("Thank you for your feedback.")
    screenshot(page, "feedback")
    with page.expect_response(lambda r: r.url.endswith("/v1/feedback")):
        not_helpful.click()
    expect(not_helpful).to_have_attribute("aria-pressed", "true")
    stored = clinic.app.state.clinic_state.feedback.export()
    assert [(r.answer_id, r.helpful) for r in stored] == [(body["answer_id"], False)]


def test_feedback_failure_is_said_and_buttons_stay_usable(clinic_page):
    from playwright.sync_api import expect

    page, _, _ = clinic_page
    turn, _ = ask(page, "what helps a sore knee recover after a long run?")
    page.route("**/v1/feedback", lambda route: route.abort())
    turn.get_by_test_id("gqa-helpful").click()
    expect(turn.get_by_test_id("gqa-feedback-status")).to_contain_text("could not be sent")
    expect(turn.get_by_test_id("gqa-helpful")).to_have_attribute("aria-pressed", "false")
    expect(turn.get_by_test_id("gqa-helpful")).to_be_enabled()


def test_old_citation_highlights_the_version_it_quoted(clinic_page):
    from playwright.sync_api import expect

    page, url, _ = clinic_page
    first = upload(url, ANKLE)
    turn, body = ask(page, BRUISING)
    cite = next(c for c in body["citations"] if c["quote"] == OLD_QUOTE)
    assert cite["doc_version"] == first
    upload(url, ANKLE_V2)  # the article changes: that sentence is gone from the live version
    live = httpx.get(f"{url}/v1/documents/ankle").json()
    assert OLD_QUOTE not in live["text"]
    button = turn.locator("sup > [data-testid=gqa-cite]").nth(
        [s["citations"][0] for s in body["sentences"]].index(cite["id"]))
    with page.expect_response(lambda r: "/v1/documents/ankle" in r.url) as fetched:
        button.click()
    assert f"version={first}" in fetched.value.url
    mark = page.get_by_test_id("gqa-viewer").locator("mark[data-testid=gqa-highlight]")
    expect(mark).to_have_text(OLD_QUOTE, use_inner_text=False)
    expect(page.get_by_test_id("gqa-older-version")).to_be_visible()
    screenshot(page, "old-version-citation")
