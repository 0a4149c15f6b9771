"""PDF ingestion on leaflets the tests lay out with reportlab (see tests/documents.py)."""

from __future__ import annotations

import pytest

from groundedqa.ingest.blocks import UnreadableSource
from groundedqa.ingest.clean import clean
from groundedqa.ingest.segment import segment_doc
from tests import documents as d


@pytest.fixture(scope="module")
def leaflet():
    """The cleaned leaflet (parsed once: PDF layout analysis is the slow part)."""
    return clean(d.leaflet_pdf(), "pdf")


def _sentences(doc):
    return [s for s in segment_doc(doc) if s.kind != "heading"]


def test_two_columns_are_read_column_by_column(leaflet):
    text = leaflet.text
    left = [text.index(t if isinstance(t, str) else t[0].rstrip("-")) for _, t in d.LEFT_COLUMN]
    right = [text.index("A physiotherapist"), text.index("Self-care matters"),
             text.index("Knee to chest stretch")]
    assert left == sorted(left) and right == sorted(right)
    assert max(left) < min(right), "the right column must follow the whole left column"
    assert text.index(d.TITLE) < min(left)


def test_running_header_footer_and_page_numbers_are_removed(leaflet):
    for furniture in (d.HEADER, d.FOOTER, "Page 1 of", "Page 4 of"):
        assert furniture not in leaflet.text
    # ... while the title at the top of page one stays.
    assert leaflet.title == d.TITLE


def test_line_end_hyphenation_is_joined_and_real_hyphens_kept(leaflet):
    assert "design a rehabilitation programme" in leaflet.text
    assert "rehabil-" not in leaflet.text and "rehabil itation" not in leaflet.text
    # A hyphen written mid-line, and one after a prefix that keeps it, stay.
    assert "Self-care matters: use a well-being diary" in leaflet.text


def test_headings_and_bullets_become_blocks(leaflet):
    blocks = [(b.kind, leaflet.text[b.start:b.end], b.level) for b in leaflet.blocks]
    headings = {text: level for kind, text, level in blocks if kind == "heading"}
    assert headings[d.TITLE] == 1
    assert headings["What is sciatica?"] == headings["Your recovery plan"] == 2
    assert headings["Exercises to try"] == 3  # bold at body size: below the larger headings
    items = [text for kind, text, _ in blocks if kind == "list_item"]
    # Bullet glyphs are gone; a wrapped item is one block.
    assert items == [d.RIGHT_COLUMN[-2][1], d.RIGHT_COLUMN[-1][1]]
    paragraphs = [text for kind, text, _ in blocks if kind == "paragraph"]
    assert d.LEFT_COLUMN[1][1] in paragraphs  # three wrapped lines, one paragraph


def test_table_text_stays_out_of_the_sentences(leaflet):
    for row in d.TABLE:
        for cell in row:
            if not cell.isdigit():
                assert cell not in leaflet.text
    assert any("table left out" in note for note in leaflet.notes)


def test_scanned_page_is_left_out_with_its_reason(leaflet):
    (note,) = [n for n in leaflet.notes if n.startswith("page 3")]
    assert "no text layer" in note and "OCR" in note
    assert [p.page for p in leaflet.pages] == [1, 2, 4, 5]


def test_sentence_across_a_page_break_is_whole_and_on_its_first_page(leaflet):
    spans = {s.text: s.page for s in _sentences(leaflet)}
    assert spans[d.SPLIT_SENTENCE] == 4
    assert spans[d.PAGE_FOUR] == 5
    assert spans[d.LEFT_COLUMN[1][1]] == 1 and spans[d.PAGE_TWO[2][1]] == 2
    # The page map agrees: page 5 starts inside the sentence that began on page 4.
    page5 = next(p for p in leaflet.pages if p.page == 5)
    assert leaflet.text[page5.start:].startswith("recover.")


def test_every_sentence_is_verbatim_in_the_cleaned_text(leaflet):
    spans = segment_doc(leaflet)
    assert spans
    for span in spans:
        assert leaflet.text[span.start:span.end] == span.text


def test_pdf_without_any_text_is_refused_with_its_reason():
    with pytest.raises(UnreadableSource, match=r"no text layer on its 2 pages.*does not OCR"):
        clean(d.scanned_pdf(pages=2), "pdf")


def test_scans_under_a_running_header_are_refused_as_without_text():
    with pytest.raises(UnreadableSource, match=r"no text layer on its 3 pages besides running "
                                               r"headers, footers and page numbers"):
        clean(d.scanned_pdf(pages=3, running_header=True), "pdf")


def test_broken_pdf_is_refused_with_its_reason():
    with pytest.raises(UnreadableSource, match="not a readable PDF"):
        clean(d.leaflet_pdf()[:400], "pdf")


def test_password_protected_pdf_is_refused_with_its_reason():
    import io

    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    canvas = Canvas(buf, encrypt=pdfencrypt.StandardEncryption("secret"))
    canvas.drawString(72, 700, "Rest your back for a day or two.")
    canvas.showPage()
    canvas.save()
    with pytest.raises(UnreadableSource, match="password-protected PDF"):
        clean(buf.getvalue(), "pdf")


def test_page_break_stays_on_its_words_when_cleaning_cuts_text_before_it():
    from groundedqa.ingest.blocks import RawBlock, with_text

    text = "Rest helps the back heal. 12 Walking daily helps too."
    block = RawBlock("paragraph", text, page=4, page_breaks=((text.index("Walking"), 5),))
    cut = with_text(block, "Rest helps the back heal. Walking daily helps too.")
    ((at, page),) = cut.page_breaks
    assert (cut.text[at:].startswith("Walking"), page) == (True, 5)
