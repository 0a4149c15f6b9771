"""Word (.docx) ingestion on a leaflet the tests write with python-docx (see tests/documents.py)."""

from __future__ import annotations

import io

import pytest

from groundedqa.ingest.blocks import UnreadableSource
from groundedqa.ingest.clean import clean
from groundedqa.ingest.segment import segment_doc
from tests import documents as d


@pytest.fixture(scope="module")
def leaflet():
    return clean(d.leaflet_docx(), "docx")


def test_heading_styles_become_headings_under_the_title(leaflet):
    headings = [(leaflet.text[b.start:b.end], b.level) for b in leaflet.blocks if b.kind == "heading"]
    assert headings == [(d.DOCX_TITLE, 1), ("Setting up your desk", 2), ("Lifting at work", 3),
                        ("Breaks and pacing", 4)]  # the last one is bold Normal text
    assert leaflet.title == d.DOCX_TITLE


def test_list_paragraphs_become_list_items(leaflet):
    items = [leaflet.text[b.start:b.end] for b in leaflet.blocks if b.kind == "list_item"]
    assert items == d.DOCX_BULLETS


def test_table_and_page_header_stay_out(leaflet):
    for word in ("Posture", "Feet flat", d.HEADER):
        assert word not in leaflet.text
    assert leaflet.notes == ["1 table left out (table rows are not quoted as sentences)"]


def test_sentences_are_verbatim_and_have_no_page(leaflet):
    spans = segment_doc(leaflet)
    assert [s.text for s in spans if s.kind == "sentence"][:2] == [
        "Back pain is common among people who sit at a desk all day.",
        "A good chair supports the curve of your lower back.",
    ]
    for span in spans:
        assert leaflet.text[span.start:span.end] == span.text
        assert span.page is None
    assert leaflet.pages == []


def test_manual_line_breaks_split_lines_like_html_br():
    from docx import Document

    doc = Document()
    paragraph = doc.add_paragraph("Call us if:")
    paragraph.add_run().add_break()
    paragraph.add_run("the pain wakes you at night")
    buf = io.BytesIO()
    doc.save(buf)
    cleaned = clean(buf.getvalue(), "docx")
    assert cleaned.text.split("\n\n") == ["Call us if:", "the pain wakes you at night"]


def test_not_a_word_file_is_refused_with_its_reason():
    with pytest.raises(UnreadableSource, match=r"not a readable Word \(.docx\) file"):
        clean(b"PK\x03\x04 not really a zip", "docx")
