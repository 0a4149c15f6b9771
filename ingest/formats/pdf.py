"""PDF: the text layer in reading order, without page furniture, as heading / paragraph / list
item blocks that remember their page (pdfplumber over pdfminer.six, both MIT).

1. pdfminer's layout analysis groups characters into lines and lines into text boxes; a line
   never bridges a column gutter (a gap of more than two character widths splits it).
2. Ruled tables (pdfplumber's table finder) are left out, and named in `notes`: a row quoted
   without its table reads as a fragment ("2 | 20 minutes | 5 kg"), so table text is never
   part of a quoted sentence.
3. Reading order is a recursive XY-cut over the boxes: a region is cut at horizontal whitespace
   into bands, except that neighbouring bands sharing a column gutter are one region (so a
   two-column section is read column by column even where both columns have a paragraph break
   at the same height); a region is cut at vertical gutters into columns, left to right.
4. Running headers and footers are lines in a page's top or bottom margin whose text (digits
   aside) recurs at the same height on at least 40% of the pages, two at least; a margin line
   that is only a page number ("7", "Page 3 of 5", "- 3 -") goes on any page, and so does a
   table-of-contents entry (dot leaders up to a page number).
5. Lines become blocks: a bullet glyph or enumerator starts a list item; a change of font size
   or weight starts a block; inside one text box lines join unless an indent or a short
   sentence-final line ends the paragraph; across boxes, columns and pages a paragraph that
   has not ended its sentence runs on (its page break is kept in `RawBlock.page_breaks`).
   A word broken by a line-end hyphen is joined ("rehabil-" + "itation"), unless the document
   itself writes it with the hyphen elsewhere or the first part is a prefix that keeps it
   ("self-", "well-"), or the next line starts with a capital or digit ("COVID-" + "19").
6. Headings: a block set larger than the body text (level by size, largest first) or in bold at
   body size (the next level down), short and without closing punctuation.

A page with no text layer but an image is a scan: it is left out and named in `notes`; a file
where no page has text raises `UnreadableSource`. Nothing is OCRed.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from groundedqa.ingest.blocks import ParsedPage, RawBlock, UnreadableSource, ends_sentence, n_words

__all__ = ["parse"]

# all_texts: text inside form XObjects is laid out too; boxes_flow None: our own reading order.
_LAPARAMS = {"all_texts": True, "boxes_flow": None}
_MARGIN = 0.12  # share of the page height at the top and bottom where headers and footers sit
_REPEAT_SHARE = 0.4  # alternate left/right page headers recur on about half the pages
_SAME_HEIGHT = 5.0  # points: a running header moves less than this between pages
_MIN_COLUMN_SHARE = 0.15  # a column is at least this share of its region's width
_BAND_GAP_LINES = 3.0  # bands further apart than this many body lines are separate sections
_HEADING_RATIO = 1.15  # a heading is set at least this much larger than the body text
_MAX_HEADING_WORDS = 20
_MAX_BOLD_HEADING_WORDS = 12

_BOLD = re.compile(r"bold|black|heavy|semibold|demibold", re.IGNORECASE)
_CID = re.compile(r"\(cid:\d+\)")
_LIGATURES = str.maketrans({ch: unicodedata.normalize("NFKC", ch) for ch in "\ufb00\ufb01\ufb02\ufb03\ufb04\ufb05\ufb06"})
# A list marker at the start of a line: a symbol (or a glyph without a Unicode mapping, which
# pdfminer shows as "(cid:N)" or a private-use character), a dash before a capital, or an
# enumerator "1." "2)" "(a)".
_BULLET = re.compile(
    r"^(?:[•◦▪▫‣⁃∙·●○■□➢➤►▸▹→✓✔✗✘\ue000-\uf8ff]|\(cid:\d+\)|[-–—*](?=\s+[A-Z0-9])"
    r"|\(?\d{1,2}[.)](?=\s)|\(?[a-z]\)(?=\s))\s*"
)
_PAGE_NUMBER = re.compile(
    r"(?:page\s*)?[-–—(\[]?\s*(?:\d{1,4}|[ivxlc]{1,7})\s*[-–—)\]]?(?:\s*(?:of|/)\s*\d{1,4})?",
    re.IGNORECASE,
)
# A table-of-contents entry: dot leaders up to a page number ("Exercises . . . . 4").
_CONTENTS_ENTRY = re.compile(r"(?:\.\s?){4,}\s*\d{1,4}$")
_LINE_END_HYPHEN = re.compile(r"([^\W\d_]+)[-\u2010\u00ad]$")
_FIRST_WORD = re.compile(r"[^\W\d_]+")
_WORDS = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
# Prefixes that keep their hyphen when a line breaks after it ("self-" "care" is "self-care").
_HYPHEN_PREFIXES = frozenset({"self", "non", "well", "ex", "all", "half", "cross", "full", "part"})


@dataclass
class _Line:
    page: int  # 1-based
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float  # the font size most of its characters have
    bold: bool  # every character in a bold face
    marker: str = ""  # the list marker it started with ("•", "2."), not part of `text`
    box: int = 0  # its text box, numbered in reading order across the document
    box_x1: float = 0.0  # right edge of its text box

    @property
    def bullet(self) -> bool:
        return bool(self.marker)

    @property
    def style(self) -> tuple[float, bool]:
        return round(self.size * 2) / 2, self.bold


@dataclass
class _Box:
    lines: list[_Line]
    x0: float = field(init=False)
    x1: float = field(init=False)
    top: float = field(init=False)
    bottom: float = field(init=False)

    def __post_init__(self) -> None:
        self.x0 = min(ln.x0 for ln in self.lines)
        self.x1 = max(ln.x1 for ln in self.lines)
        self.top = min(ln.top for ln in self.lines)
        self.bottom = max(ln.bottom for ln in self.lines)


@dataclass
class _Page:
    number: int
    height: float
    boxes: list[_Box]
    images: bool = False  # the page shows an image
    undecodable: bool = False  # it has text whose font has no Unicode map


def parse(raw: bytes) -> ParsedPage:
    """Blocks of a PDF's text layer in reading order; left-out pages and tables in `notes`.

    Raises `UnreadableSource` for a file pdfminer cannot open, or one without any text.
    """
    import pdfplumber

    notes: list[tuple[int, str]] = []  # (page, what was left out)
    pages: list[_Page] = []
    try:
        with pdfplumber.open(io.BytesIO(raw), laparams=_LAPARAMS) as pdf:
            for page in pdf.pages:
                pages.append(_read_page(page, notes))
                page.close()  # frees the page's layout: long leaflets stay small in memory
    except Exception as exc:  # noqa: BLE001 - pdfminer raises many kinds for broken files
        raise UnreadableSource(_why_unreadable(exc)) from exc
    had_text = any(page.boxes for page in pages)
    _drop_furniture(pages)
    for page in pages:
        if page.undecodable and not page.boxes:
            notes.append((page.number, "not indexed, its text cannot be decoded (fonts without "
                                       "a Unicode map)"))
        elif page.images and not page.boxes:
            notes.append((page.number, "not indexed, no text layer, only an image (a scan?); "
                                       "groundedqa does not OCR"))
    if not any(page.boxes for page in pages):
        raise UnreadableSource(_why_no_text(pages, had_text))
    body = _body_style(pages)
    return ParsedPage(_blocks(_reading_order(pages, body[0]), body),
                      notes=[f"page {n}: {note}" for n, note in sorted(notes)])


def _why_unreadable(exc: Exception) -> str:
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    # pdfplumber wraps pdfminer's own exception.
    cause = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc
    if isinstance(cause, (PDFPasswordIncorrect, PDFEncryptionError)):
        return "a password-protected PDF: save it without a password"
    return f"not a readable PDF ({type(cause).__name__}: {cause})"


def _why_no_text(pages: list[_Page], had_text: bool) -> str:
    what = "its page" if len(pages) == 1 else f"its {len(pages)} pages"
    if not pages:
        return "a PDF without pages"
    if any(page.undecodable for page in pages):
        return f"the text of {what} cannot be decoded (fonts without a Unicode map)"
    besides = " besides running headers, footers and page numbers" if had_text else ""
    return (f"no text layer on {what}{besides} (scanned images?); groundedqa does not OCR: "
            "export or OCR it as a PDF with text first")


# --------------------------------------------------------------------------------------------
# One page: lines and boxes
# --------------------------------------------------------------------------------------------

def _read_page(page: Any, notes: list[tuple[int, str]]) -> _Page:
    """The page's text boxes, without table text (left out, with a note)."""
    from pdfminer.layout import LTChar, LTTextBoxHorizontal

    number = page.page_number
    tables = [t.bbox for t in page.find_tables()]
    if tables:
        notes.append((number, f"{_plural(len(tables), 'table')} left out (table rows are not "
                              "quoted as sentences)"))
    boxes: list[_Box] = []
    undecodable = False
    for box in _text_boxes(page.layout, LTTextBoxHorizontal):
        lines = []
        for item in box:
            chars = [c for c in item if isinstance(c, LTChar)]
            line = _line(page, number, item, chars)
            if line is None:
                undecodable = undecodable or any(_CID.fullmatch(c.get_text()) for c in chars)
            elif not _inside(line, tables):
                lines.append(line)
        if lines:
            boxes.append(_Box(lines))
    return _Page(number, float(page.height), boxes, images=bool(page.images) and not tables,
                 undecodable=undecodable)


def _text_boxes(container: Any, kind: type) -> Any:
    """Horizontal text boxes, also inside figures (form XObjects)."""
    for obj in container:
        if isinstance(obj, kind):
            yield obj
        elif hasattr(obj, "_objs"):
            yield from _text_boxes(obj, kind)


def _line(page: Any, number: int, item: Any, chars: list[Any]) -> _Line | None:
    """A pdfminer text line in top-down page coordinates (as pdfplumber's), or None if empty."""
    text = item.get_text().translate(_LIGATURES).strip()
    bullet = _BULLET.match(text)
    body = " ".join(_CID.sub("", text[bullet.end():] if bullet else text).split())
    body = re.sub("\u00ad(?!$)", "", body)  # a soft hyphen inside a line is invisible
    if not any(ch.isalnum() for ch in body):
        return None
    visible = [c for c in chars if c.get_text().strip()]
    sizes = Counter(round(c.size, 1) for c in visible)
    x0, y0, x1, y1 = item.bbox
    mb_x0, mb_top = page.mediabox[0], page.mediabox[1]
    return _Line(
        page=number, text=body, x0=x0 + mb_x0, x1=x1 + mb_x0,
        top=page.height - y1 + mb_top, bottom=page.height - y0 + mb_top,
        size=sizes.most_common(1)[0][0] if sizes else 0.0,
        bold=bool(visible) and all(_BOLD.search(c.fontname or "") for c in visible),
        marker=bullet.group(0).strip() if bullet else "",
    )


def _inside(line: _Line, boxes: list[tuple[float, float, float, float]]) -> bool:
    """The line's centre lies in one of `boxes` (x0, top, x1, bottom)."""
    cx, cy = (line.x0 + line.x1) / 2, (line.top + line.bottom) / 2
    return any(x0 <= cx <= x1 and top <= cy <= bottom for x0, top, x1, bottom in boxes)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# --------------------------------------------------------------------------------------------
# Running headers, footers and page numbers
# --------------------------------------------------------------------------------------------

def _drop_furniture(pages: list[_Page]) -> None:
    """Remove running headers/footers and margin page numbers from every page (in place)."""
    def in_margin(line: _Line, page: _Page) -> bool:
        return line.top < _MARGIN * page.height or line.bottom > (1 - _MARGIN) * page.height

    seen: dict[str, list[tuple[int, float]]] = {}
    for page in pages:
        for box in page.boxes:
            for line in box.lines:
                if in_margin(line, page):
                    seen.setdefault(_shape(line.text), []).append((page.number, line.top))
    need = max(2, math.ceil(_REPEAT_SHARE * len(pages)))
    running: dict[str, float] = {}  # shape -> the height it runs at
    for shape, places in seen.items():
        middle = median(top for _, top in places)
        if len({page for page, top in places if abs(top - middle) <= _SAME_HEIGHT}) >= need:
            running[shape] = middle

    def furniture(line: _Line, page: _Page) -> bool:
        if _CONTENTS_ENTRY.search(line.text):
            return True
        if not in_margin(line, page):
            return False
        at = running.get(_shape(line.text))
        # The same words elsewhere (the cover's title under the running title) stay.
        return (at is not None and abs(line.top - at) <= _SAME_HEIGHT) or bool(
            _PAGE_NUMBER.fullmatch(line.text))

    for page in pages:
        for box in page.boxes:
            box.lines = [ln for ln in box.lines if not furniture(ln, page)]
        page.boxes = [_Box(box.lines) for box in page.boxes if box.lines]


def _shape(text: str) -> str:
    """A line's text with every number alike: "Page 3 of 5" and "Page 4 of 5" match."""
    return re.sub(r"\d+", "#", " ".join(text.casefold().split()))


# --------------------------------------------------------------------------------------------
# Reading order
# --------------------------------------------------------------------------------------------

def _body_style(pages: list[_Page]) -> tuple[float, bool]:
    """The (size, bold) most of the document's text is set in."""
    styles: Counter[tuple[float, bool]] = Counter()
    for page in pages:
        for box in page.boxes:
            for line in box.lines:
                styles[line.style] += len(line.text)
    size, bold = styles.most_common(1)[0][0]
    return (size or 10.0), bold


def _reading_order(pages: list[_Page], body_size: float) -> list[_Line]:
    """Every line of the document in reading order, each numbered with its box."""
    out: list[_Line] = []
    n = 0
    for page in pages:
        for box in _xy_cut(page.boxes, body_size):
            for line in box.lines:
                line.box, line.box_x1 = n, box.x1
                out.append(line)
            n += 1
    return out


def _xy_cut(boxes: list[_Box], body: float) -> list[_Box]:
    """`boxes` in reading order (see the module docstring, step 3)."""
    if len(boxes) <= 1:
        return boxes
    bands = _merge_column_bands(_split(boxes, vertical=False), body)
    if len(bands) > 1:
        return [b for band in bands for b in _xy_cut(band, body)]
    columns = _columns(boxes, body)
    if columns:
        return [b for column in columns for b in _xy_cut(column, body)]
    return sorted(boxes, key=lambda b: (b.top, b.x0))


def _split(boxes: list[_Box], vertical: bool, min_gap: float = 0.0) -> list[list[_Box]]:
    """Groups of boxes separated by whitespace across the whole region: columns left to right
    (`vertical`, gaps of at least `min_gap`) or bands top to bottom."""
    def lo(b: _Box) -> float:
        return b.x0 if vertical else b.top

    def hi(b: _Box) -> float:
        return b.x1 if vertical else b.bottom

    groups: list[list[_Box]] = []
    reach = -math.inf
    for box in sorted(boxes, key=lo):
        if groups and lo(box) < reach + max(min_gap, 0.5):
            groups[-1].append(box)
            reach = max(reach, hi(box))
        else:
            groups.append([box])
            reach = hi(box)
    return groups


def _columns(boxes: list[_Box], body: float) -> list[list[_Box]] | None:
    """The region's columns, left to right: gutters at least a body em wide, every column at
    least `_MIN_COLUMN_SHARE` of the region's width (a bullet glyph is no column); else None."""
    columns = _split(boxes, vertical=True, min_gap=max(body, 6.0))
    width = max(b.x1 for b in boxes) - min(b.x0 for b in boxes)
    if len(columns) > 1 and all(
        max(b.x1 for b in c) - min(b.x0 for b in c) >= _MIN_COLUMN_SHARE * width for c in columns
    ):
        return columns
    return None


def _merge_column_bands(bands: list[list[_Box]], body: float) -> list[list[_Box]]:
    """Join neighbouring bands that share a column gutter and lie close together."""
    out: list[list[_Box]] = []
    for band in bands:
        if out:
            gap = min(b.top for b in band) - max(b.bottom for b in out[-1])
            merged = out[-1] + band
            if gap <= _BAND_GAP_LINES * body and _columns(merged, body):
                out[-1] = merged
                continue
        out.append(band)
    return out


# --------------------------------------------------------------------------------------------
# Blocks
# --------------------------------------------------------------------------------------------

@dataclass
class _Draft:
    """A block being gathered from lines."""

    lines: list[_Line]
    text: str
    breaks: list[tuple[int, int]] = field(default_factory=list)

    @property
    def last(self) -> _Line:
        return self.lines[-1]


def _blocks(lines: list[_Line], body: tuple[float, bool]) -> list[RawBlock]:
    """Join lines into blocks and classify them (module docstring, steps 5 and 6)."""
    words = _vocabulary(lines)
    drafts: list[_Draft] = []
    for line in lines:
        draft = drafts[-1] if drafts else None
        if draft is not None and _continues(draft, line, body[0]):
            text, at = _join(draft.text, line.text, words)
            if line.page != draft.last.page:
                draft.breaks.append((at, line.page))
            draft.text = text
            draft.lines.append(line)
        else:
            drafts.append(_Draft([line], line.text))
    # A block without a letter (a stray figure, a contents page number) is never prose; a
    # paragraph's last line "100." joined its paragraph above.
    drafts = [d for d in drafts if any(ch.isalpha() for ch in d.text)]
    heading_sizes = sorted({d.lines[0].style[0] for d in drafts
                            if _heading_text(d, body) is not None}, reverse=True)
    return [_block(d, body, heading_sizes) for d in drafts]


def _continues(draft: _Draft, line: _Line, body_size: float) -> bool:
    """Does `line` carry on the block gathered so far?"""
    prev = draft.last
    if line.bullet or line.style != prev.style:
        return False
    hyphenated = _LINE_END_HYPHEN.search(draft.text) is not None and line.text[:1].islower()
    ended = ends_sentence(prev.text)
    if line.box == prev.box:
        if draft.lines[0].bullet:  # a list item's lines hang right of its marker
            return hyphenated or not (ended and line.x0 <= draft.lines[0].x0 + 1)
        indented = line.x0 > prev.x0 + body_size
        short_end = ended and prev.x1 < prev.box_x1 - 3 * body_size
        return hyphenated or not ((indented and ended) or short_end)
    # Another box, column or page: only a paragraph that has not finished its sentence goes
    # on, when its last line ran to the edge of its box or the next line starts in lower case.
    if ended or draft.text.endswith(":"):
        return False
    first = draft.lines[0]
    if first.bullet and line.page == prev.page and line.x0 > first.x0 + 1:
        # a list item's next line, hanging right of the marker, that layout put in a box of its own
        return line.top - prev.bottom < body_size
    # (A one-line box always reaches its own edge: that says nothing.)
    full_line = (prev.x1 >= prev.box_x1 - 2 * body_size
                 and sum(ln.box == prev.box for ln in draft.lines) > 1)
    return hyphenated or line.text[:1].islower() or full_line


def _vocabulary(lines: list[_Line]) -> set[str]:
    """Words and hyphenated compounds the document writes within its lines (lower case)."""
    words: set[str] = set()
    for line in lines:
        inner = _LINE_END_HYPHEN.sub("", line.text)
        for word in _WORDS.findall(inner):
            words.add(word.casefold())
    return words


def _join(left: str, right: str, words: set[str]) -> tuple[str, int]:
    """`left` and the next line `right` as one text, and where `right` starts in it."""
    end = _LINE_END_HYPHEN.search(left)
    if end is None or not right[:1].isalnum():
        return f"{left} {right}", len(left) + 1
    if left.endswith("\u00ad"):  # a soft hyphen only ever marks a break inside a word
        return left[:-1] + right, len(left) - 1
    first, second = end.group(1), (_FIRST_WORD.match(right) or [""])[0]
    keep = (
        not right[0].islower()  # "COVID-" "19", "Non-" "Hodgkin"
        or f"{first}-{second}".casefold() in words
        or (first + second).casefold() not in words and first.casefold() in _HYPHEN_PREFIXES
    )
    if keep:
        return left + right, len(left)
    return left[:-1] + right, len(left) - 1


def _heading_text(draft: _Draft, body: tuple[float, bool]) -> str | None:
    """The block's text as a heading, or None when it is none: set larger than the body text,
    or in bold at body size; short, not ending like a sentence, no bullet glyph. A number it
    starts with ("1. Introduction") is kept."""
    size, bold = draft.lines[0].style
    if size >= body[0] * _HEADING_RATIO:
        max_words = _MAX_HEADING_WORDS
    elif bold and not body[1] and size >= body[0] * 0.95:
        max_words = _MAX_BOLD_HEADING_WORDS
    else:
        return None
    marker = draft.lines[0].marker
    numbered = bool(marker) and marker[-1] != ")" and any(ch.isalnum() for ch in marker)
    if marker and not numbered:
        return None
    text = f"{marker} {draft.text}" if numbered else draft.text
    if n_words(text) > max_words or re.search(r"[.,;:!]$", text):
        return None
    return text


def _block(draft: _Draft, body: tuple[float, bool], heading_sizes: list[float]) -> RawBlock:
    """Classify a gathered block: heading (with its level), list item or paragraph."""
    page = draft.lines[0].page
    heading = _heading_text(draft, body)
    if heading is not None:
        shift = len(heading) - len(draft.text)
        size = draft.lines[0].style[0]
        larger = [s for s in heading_sizes if s > body[0] * 1.01]  # bold body-size ones come last
        level = larger.index(size) + 1 if size in larger else len(larger) + 1
        return RawBlock("heading", heading, min(level, 6), page=page,
                        page_breaks=tuple((at + shift, p) for at, p in draft.breaks))
    marker = bool(draft.lines[0].marker)
    return RawBlock("list_item" if marker else "paragraph", draft.text.rstrip("\u00ad"),
                    bulleted=marker, page=page, page_breaks=tuple(draft.breaks))
