"""HTML: the visible text of the page's content element, one block per block-level element.

Chrome (nav, header, footer, sidebars, cookie and share widgets, hidden elements) is removed by
tag, class, id and role before the walk; the content root is the largest <article> or <main>
when it holds most of the page's text.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PreformattedString

from groundedqa.ingest.blocks import ParsedPage, RawBlock, squash, strip_decoration
from groundedqa.ingest.formats import text as text_format
from groundedqa.ingest.models import BlockKind

__all__ = ["parse"]

# An <li> already says "list item"; a symbol typed in front of its text is decoration.
_SYMBOL_BULLET = re.compile(r"^[•◦▪▫‣⁃∙·●○■□➢➤►▸▹→✓✔✗✘]\s*")

_DROP_TAGS = [
    "script",
    "style",
    "noscript",
    "nav",
    "aside",
    "form",
    "iframe",
    "svg",
    "button",
    "template",
    "select",
    "input",
    "textarea",
    "canvas",
    "video",
    "audio",
    "object",
    "embed",
    "map",
    "dialog",
    "head",
]
_BLOCK_TAGS = frozenset(
    "address article aside blockquote caption center dd details dialog div dl dt fieldset figcaption "
    "figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr li main nav ol p pre section summary table "
    "tbody td tfoot th thead tr ul".split()
)
_CHROME_TOKENS = frozenset(
    "nav navbar navigation menu menubar sidebar breadcrumb breadcrumbs cookie cookies consent gdpr "
    "share sharing social socials related comment comments newsletter subscribe subscription advert "
    "advertisement ads ad sponsored promo popup modal pagination toolbar".split()
)
# Prefixes catch run-together names ("relatedPosts", "socialIcons"); "shared" is a layout word.
_CHROME_PREFIXES = re.compile(
    r"(?:^|[^a-z])(?:breadcrumb|cookie|newsletter|sidebar|advert|navbar|navigation|related|social|share(?!d)|sharing)"
)
_CHROME_ROLES = frozenset(
    {"navigation", "banner", "contentinfo", "complementary", "search", "dialog", "alertdialog"}
)
_KEEP_ALWAYS = frozenset({"html", "body", "main", "article"})


def _is_chrome(el: Tag) -> bool:
    attrs = " ".join([*el.get("class", []), el.get("id", "") or ""]).lower()
    tokens = set(re.split(r"[^a-z0-9]+", attrs))
    role = (el.get("role") or "").lower()
    return bool(tokens & _CHROME_TOKENS or _CHROME_PREFIXES.search(attrs) or role in _CHROME_ROLES)


def _is_hidden(el: Tag) -> bool:
    style = (el.get("style") or "").replace(" ", "").lower()
    return (
        el.has_attr("hidden")
        or (el.get("aria-hidden") or "").lower() == "true"
        or "display:none" in style
        or "visibility:hidden" in style
    )


def _remove_chrome(soup: BeautifulSoup) -> None:
    """Drop non-content elements by tag, by class/id/role, and hidden ones."""
    for el in soup(_DROP_TAGS):
        el.decompose()
    for el in soup(["header", "footer"]):
        # A page header/footer is chrome; an <article>'s own <header> holds its title.
        if not (el.decomposed or el.find_parent(["article", "main"])):
            el.decompose()
    body_chars = len(soup.get_text()) or 1
    for el in soup.find_all(True):
        if el.decomposed or el.name in _KEEP_ALWAYS:
            continue
        # A wrapper named e.g. "content has-sidebar" may hold the whole article: keep it.
        if (_is_hidden(el) or _is_chrome(el)) and len(el.get_text()) < 0.6 * body_chars:
            el.decompose()


def _content_root(soup: BeautifulSoup) -> Tag | BeautifulSoup:
    """The largest <article> or <main> when it holds most of the page's text, else <body>."""
    body = soup.body or soup
    candidates = soup.find_all(["article", "main"])
    if not candidates:
        return body
    best = max(candidates, key=lambda el: len(el.get_text()))
    return best if len(best.get_text()) >= 0.4 * len(body.get_text()) else body


class _HtmlWalker:
    """Collects visible text into blocks: every block-level element starts a new block."""

    def __init__(self) -> None:
        self.blocks: list[RawBlock] = []
        self._parts: list[tuple[str, bool]] = []  # (text, inside a link)

    def walk(self, node: Tag, kind: BlockKind, level: int, in_link: bool = False) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if not isinstance(child, PreformattedString):  # comments, doctypes, CDATA
                    self._parts.append((str(child), in_link))
            elif isinstance(child, Tag):
                if child.name == "br":
                    self._parts.append(("\n", False))
                elif child.name in _BLOCK_TAGS:
                    self.flush(kind, level)
                    child_kind, child_level = self._kind(child, kind, level)
                    self.walk(child, child_kind, child_level, in_link)
                    self.flush(child_kind, child_level)
                else:
                    self.walk(child, kind, level, in_link or child.name == "a")

    @staticmethod
    def _kind(el: Tag, parent_kind: BlockKind, parent_level: int) -> tuple[BlockKind, int]:
        if re.fullmatch(r"h[1-6]", el.name):
            return "heading", int(el.name[1])
        if el.name == "li":
            return "list_item", 0
        if parent_kind in ("heading", "list_item"):  # a <p> inside an <li> is still the item
            return parent_kind, parent_level
        return "paragraph", 0

    def flush(self, kind: BlockKind, level: int) -> None:
        if not self._parts:
            return
        # Source newlines in HTML are plain spaces; only <br> breaks a line.
        text = "".join(t if t == "\n" else re.sub(r"\s+", " ", t) for t, _ in self._parts)
        text = "\n".join(line.strip() for line in text.split("\n"))  # source indentation means nothing
        total = len("".join(text.split()))
        linked = sum(len("".join(t.split())) for t, in_link in self._parts if in_link)
        ratio = linked / total if total else 0.0
        self._parts = []
        if not total:
            return
        if kind in ("heading", "list_item"):
            one_line = strip_decoration(_SYMBOL_BULLET.sub("", squash(text)))
            self.blocks.append(
                RawBlock(kind, one_line, level, bulleted=kind == "list_item", link_ratio=ratio)
            )
            return
        # A lone line stays a paragraph unless it names a furniture or reference section
        # (<p><b>References</b></p>); lines split by <br> get the plain-text rules.
        for block in text_format.parse(text, doc_start=False).blocks:
            block.link_ratio = ratio
            self.blocks.append(block)


def parse(raw: str) -> ParsedPage:
    """Blocks of an HTML page's content, and the page title (<h1>, else <title>)."""
    soup = BeautifulSoup(raw, "lxml")
    h1 = soup.find("h1")
    title_el = soup.find("title")
    page_title = squash(h1.get_text(" ")) if h1 else None
    if not page_title and title_el:
        page_title = re.split(r"\s+[|–—-]\s+", squash(title_el.get_text(" ")))[0] or None
    _remove_chrome(soup)
    walker = _HtmlWalker()
    walker.walk(_content_root(soup), "paragraph", 0)
    walker.flush("paragraph", 0)
    return ParsedPage([b for b in walker.blocks if b.text], title=page_title)
