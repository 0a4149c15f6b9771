"""PDF and DOCX leaflets made by the tests themselves (reportlab, python-docx): no binary fixtures.

`leaflet_pdf()` lays out what real clinic leaflets do: a running header and a numbered footer on
every page, a title across the page over two columns, a word hyphenated at a line end, a ruled
table, a bulleted list, a paragraph that runs on to the next page, and a page that is only a
scanned image (no text layer).
"""

from __future__ import annotations

import io

#: Running header and footer of every text page of the leaflet (the footer adds "Page N of M").
HEADER = "Northside Spine Clinic - Patient Information"
FOOTER = "Leaflet SP-7, reviewed 2024"
TITLE = "Recovering from Sciatica"
LEFT_COLUMN = [
    ("h", "What is sciatica?"),
    ("p", "Sciatica is pain that travels along the sciatic nerve from the lower back into the leg."),
    ("p", "Most people feel better within six weeks without any surgery at all."),
    ("h", "Gentle movement"),
    ("p", "Short walks several times a day help the nerve settle and keep the back supple."),
]
RIGHT_COLUMN = [
    ("h", "Your recovery plan"),
    # "rehabil-" ends a line; "itation" starts the next one (the word appears nowhere else).
    ("p", ["A physiotherapist will design a rehabil-", "itation programme that suits your job."]),
    ("p", ["Self-care matters: use a well-", "being diary to note what eases the pain."]),
    ("bold", "Exercises to try"),  # a heading in bold at body size
    ("b", "Knee to chest stretch, held for twenty seconds."),
    ("b", "Pelvic tilts while lying on your back."),
]
TABLE = [["Week", "Walking time", "Lifting limit"], ["1", "10 minutes", "2 kg"],
         ["2", "20 minutes", "5 kg"]]
PAGE_TWO = [
    ("h", "When to seek help"),
    ("p", ["Call your doctor if the pain spreads to both legs or gets worse", "at night, because",
           "these signs need a closer look."]),
    ("p", "Keep taking your usual pain relief as your pharmacist advised."),
]
# Page three's paragraph runs on to page four mid-sentence.
PAGE_THREE = ["Most flare-ups settle with time, and staying active is the best way to",
              "recover."]
PAGE_FOUR = "Lift light objects close to your body."
SPLIT_SENTENCE = ("Most flare-ups settle with time, and staying active is the best way to "
                  "recover.")


def _header_footer(canvas, page: int, pages: int, width: float, height: float) -> None:
    canvas.setFont("Helvetica", 8)
    canvas.drawString(50, height - 30, HEADER)
    canvas.drawString(50, 30, FOOTER)
    canvas.drawRightString(width - 50, 30, f"Page {page} of {pages}")


def _column(canvas, items: list, x: float, y: float) -> float:
    for kind, text in items:
        lines = text if isinstance(text, list) else [text]
        if kind in ("h", "bold"):
            y -= 8
            canvas.setFont("Helvetica-Bold", 13 if kind == "h" else 10)
            canvas.drawString(x, y, text)
            y -= 20
        elif kind == "b":
            canvas.setFont("Helvetica", 10)
            canvas.drawString(x, y, "\u2022")
            canvas.drawString(x + 12, y, text if len(text) < 40 else text[:text.rfind(" ", 0, 40)])
            if len(text) >= 40:
                y -= 13
                canvas.drawString(x + 12, y, text[text.rfind(" ", 0, 40) + 1:])
            y -= 16
        else:
            canvas.setFont("Helvetica", 10)
            for line in _wrap(lines, 44):
                canvas.drawString(x, y, line)
                y -= 13
            y -= 6
    return y


def _wrap(lines: list[str], width: int) -> list[str]:
    """Word-wrap each given line to `width` characters; a given line break is always kept."""
    import textwrap

    return [part for line in lines for part in textwrap.wrap(line, width)]


def leaflet_pdf(*, scanned_page: bool = True) -> bytes:
    """The four- (or five-) page leaflet described in the module docstring, as PDF bytes."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import Table, TableStyle

    width, height = A4
    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=A4)
    pages = 5 if scanned_page else 4
    # Page 1: title across the page, then two columns, then a table.
    _header_footer(canvas, 1, pages, width, height)
    canvas.setFont("Helvetica-Bold", 20)
    canvas.drawString(50, height - 80, TITLE)
    top = height - 120
    left_end = _column(canvas, LEFT_COLUMN, 50, top)
    right_end = _column(canvas, RIGHT_COLUMN, 310, top)
    table = Table(TABLE)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                               ("FONT", (0, 0), (-1, -1), "Helvetica", 9)]))
    _, table_height = table.wrapOn(canvas, width - 100, height)
    table.drawOn(canvas, 50, min(left_end, right_end) - 20 - table_height)
    canvas.showPage()
    # Page 2: one column.
    _header_footer(canvas, 2, pages, width, height)
    _column(canvas, PAGE_TWO, 50, height - 80)
    canvas.showPage()
    number = 3
    if scanned_page:
        # A scanned page: an image and nothing else (no header, no footer, no text layer).
        canvas.drawImage(_scan_image(), 50, 100, width - 100, height - 200)
        canvas.showPage()
        number += 1
    # A paragraph that starts at the bottom of one page and ends on the next.
    _header_footer(canvas, number, pages, width, height)
    canvas.setFont("Helvetica-Bold", 13)
    canvas.drawString(50, height - 80, "Staying active")
    canvas.setFont("Helvetica", 10)
    canvas.drawString(50, 80, PAGE_THREE[0])
    canvas.showPage()
    _header_footer(canvas, number + 1, pages, width, height)
    canvas.setFont("Helvetica", 10)
    canvas.drawString(50, height - 80, PAGE_THREE[1])
    canvas.drawString(50, height - 100, PAGE_FOUR)
    canvas.showPage()
    canvas.save()
    return buf.getvalue()


def _scan_image():
    """A grey 'photo of a page' with dark bars where a scan would show lines of print."""
    from PIL import Image, ImageDraw
    from reportlab.lib.utils import ImageReader

    image = Image.new("L", (400, 560), 235)
    draw = ImageDraw.Draw(image)
    for y in range(40, 520, 18):
        draw.rectangle((30, y, 370, y + 8), fill=60)
    return ImageReader(image)


def scanned_pdf(pages: int = 2, *, running_header: bool = False) -> bytes:
    """A PDF whose every page is an image: no text layer at all (but, if asked, the running
    header and footer a scanning app may stamp on each page)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=A4)
    for n in range(1, pages + 1):
        if running_header:
            _header_footer(canvas, n, pages, *A4)
        canvas.drawImage(_scan_image(), 50, 100, 400, 560)
        canvas.showPage()
    canvas.save()
    return buf.getvalue()


DOCX_TITLE = "Caring for Your Back at Work"
DOCX_BULLETS = ["Stand up and stretch every half hour.", "Keep your screen at eye level."]


def leaflet_docx() -> bytes:
    """A Word leaflet: a Title, Heading 1/2 sections, a bulleted list, a table and a bold
    pseudo-heading typed as a normal paragraph."""
    from docx import Document

    doc = Document()
    doc.sections[0].header.paragraphs[0].text = HEADER  # Word's own header: not body text
    doc.add_paragraph(DOCX_TITLE, style="Title")
    doc.add_paragraph("Back pain is common among people who sit at a desk all day.")
    doc.add_paragraph("Setting up your desk", style="Heading 1")
    doc.add_paragraph("A good chair supports the curve of your lower back.")
    for item in DOCX_BULLETS:
        doc.add_paragraph(item, style="List Bullet")
    table = doc.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [["Posture", "Advice"], ["Sitting", "Feet flat"]]):
        for cell, text in zip(row.cells, cells):
            cell.text = text
    doc.add_paragraph("Lifting at work", style="Heading 2")
    doc.add_paragraph("Bend your knees and keep the load close to your body.")
    bold = doc.add_paragraph()
    bold.add_run("Breaks and pacing").bold = True
    doc.add_paragraph("Change position often, even when the pain has eased.")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
