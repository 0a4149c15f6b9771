"""PDF and Word leaflets through a whole build: pages stored per sentence, served with the
document, carried by citations; scanned pages and text-less PDFs named in the ingest summary."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from groundedqa.answer.compose import CitedComposer
from groundedqa.answer.redflags import load_redflags
from groundedqa.answer.triage import TriageResult
from groundedqa.answer.types import Candidate, Coverage, Query
from groundedqa.api.schemas import AnswerResponse
from groundedqa.index.builds import builds_dir, current_build_id, file_records, open_index
from groundedqa.ingest.build import build_index
from groundedqa.settings import Settings
from tests import documents as d
from tests.fakes import HashingEncoder

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(settings, build report) of a corpus of a PDF leaflet, a Word leaflet and a scanned PDF."""
    root = tmp_path_factory.mktemp("paged")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "sciatica.pdf").write_bytes(d.leaflet_pdf())
    (corpus / "desk.docx").write_bytes(d.leaflet_docx())
    (corpus / "scan.pdf").write_bytes(d.scanned_pdf())
    shutil.copy(CORPUS / "redflags.toml", corpus / "redflags.toml")
    settings = Settings(index=root / "index", corpus=corpus, rate_limit=None)
    report = build_index([corpus], settings.index, settings, embedder=HashingEncoder())
    return settings, report


def _stored(index, doc_id):
    store = index.store
    document = store.document(doc_id)
    return document, store.sentences(list(store.doc_sentences(store.doc_ids.index(doc_id))))


def test_scanned_page_and_textless_pdf_are_named_in_the_summary(built):
    _, report = built
    reasons = {(Path(s.source).name, s.reason) for s in report.skipped}
    assert ("scan.pdf", "no text layer on its 2 pages (scanned images?); groundedqa does not OCR: "
            "export or OCR it as a PDF with text first") in reasons
    assert any(name == "sciatica.pdf" and reason.startswith("page 3: not indexed, no text layer")
               for name, reason in reasons)
    assert report.documents == 2


def test_stored_sentences_are_verbatim_with_their_page(built):
    settings, _ = built
    index = open_index(settings.index)
    try:
        for doc_id in ("sciatica", "desk"):
            document, sentences = _stored(index, doc_id)
            assert sentences
            for rec in sentences:
                assert document.text[rec.start:rec.end] == rec.text
        pdf_doc, pdf_sentences = _stored(index, "sciatica")
        pages = {rec.text: rec.page for rec in pdf_sentences}
        assert pages[d.SPLIT_SENTENCE] == 4 and pages[d.PAGE_FOUR] == 5
        assert pages[d.PAGE_TWO[2][1]] == 2 and pages[d.LEFT_COLUMN[1][1]] == 1
        assert [p.page for p in pdf_doc.pages] == [1, 2, 4, 5]
        _, word_sentences = _stored(index, "desk")
        assert {rec.page for rec in word_sentences} == {None}
    finally:
        index.close()


def test_document_route_serves_the_page_map(built):
    settings, _ = built
    from groundedqa.api.app import create_app
    from groundedqa.service import Service

    service = Service.load(settings, encoder=HashingEncoder())
    try:
        client = TestClient(create_app(settings, service))
        body = client.get("/v1/documents/sciatica").json()
        pages = body["pages"]
        assert [p["page"] for p in pages] == [1, 2, 4, 5]
        page4 = next(p for p in pages if p["page"] == 4)
        assert d.SPLIT_SENTENCE in body["text"][page4["start"]:]
        assert body["text"][page4["start"]:page4["end"]].endswith("the best way to")
        assert client.get("/v1/documents/desk").json()["pages"] == []
    finally:
        service.close()


def test_citations_carry_the_page_of_their_sentence(built):
    settings, _ = built
    index = open_index(settings.index)
    try:
        store = index.store
        _, sentences = _stored(index, "sciatica")
        picked = [rec for rec in sentences if rec.text in (d.SPLIT_SENTENCE, d.PAGE_FOUR)]
        _, word = _stored(index, "desk")
        picked.append(next(rec for rec in word if rec.kind == "sentence"))
        composer = CitedComposer(store, load_redflags(settings.redflags_path()), index.build_id)
        query = Query("can I stay active?", "can I stay active?", "can I stay active?",
                      np.zeros(384, dtype=np.float32), 5)
        answer = composer.compose(
            query, [Candidate(r.idx, r.doc_idx, 0.9, r.text) for r in picked],
            TriageResult(urgent=False), Coverage(True, 0.9))
        body = AnswerResponse.model_validate(answer.to_dict()).model_dump()
        assert [(c["quote"], c["page"]) for c in body["citations"]] == [
            (d.SPLIT_SENTENCE, 4), (d.PAGE_FOUR, 5), (picked[2].text, None)]
    finally:
        index.close()


def test_unchanged_leaflets_are_not_parsed_again(built, monkeypatch):
    settings, _ = built
    from groundedqa.ingest.formats import PARSERS

    def refuse(raw):
        raise AssertionError("an unchanged file was parsed again")

    monkeypatch.setitem(PARSERS, "pdf", refuse)
    monkeypatch.setitem(PARSERS, "docx", refuse)
    report = build_index([settings.corpus], settings.index, settings, embedder=HashingEncoder())
    assert not report.changed


def test_build_without_stored_pages_reads_pages_as_none(tmp_path, built):
    settings, _ = built
    # A copy of the build with its page column and page table taken out, as builds made before
    # pages existed are: it still opens, and its pages read as unknown.
    index_dir = tmp_path / "index"
    shutil.copytree(settings.index, index_dir)
    build = builds_dir(index_dir) / current_build_id(index_dir)
    with sqlite3.connect(build / "records.sqlite") as db:
        db.execute("DROP TABLE pages")
        db.execute("ALTER TABLE sentences DROP COLUMN page")
    # Re-record the edited file's checksum, as if the build had been written that way.
    manifest_path = build / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["files"] = file_records(build)
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    index = open_index(index_dir)
    try:
        document, sentences = _stored(index, "sciatica")
        assert document.pages == [] and sentences
        assert {rec.page for rec in sentences} == {None}
        assert all(document.text[r.start:r.end] == r.text for r in sentences)
    finally:
        index.close()
