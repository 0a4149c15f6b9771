"""Turn a raw article (plain text, markdown or HTML) into a `CleanDoc` without page furniture.

The one rule everything here obeys: a kept sentence keeps every character it had in the source.
Cleaning may only drop whole lines or blocks, list markers, leading decoration symbols and
citation markers that follow a sentence, and collapse whitespace. For markdown and HTML the
"source" is the visible text (markup syntax is not part of a sentence).

The furniture rules are generic (line shapes, phrase patterns, short-line density, link density,
section headings), never a list of one site's strings. Stages:

1. parse into raw blocks (heading / paragraph / list_item);
2. set the article's own reference list aside;
3. drop furniture: sections under furniture headings, runs of short menu-like lines, the site
   header, the byline run under the title, boilerplate blocks and sentences, runs of bare
   questions;
4. strip citation markers; drop headings whose section cleaning emptied;
5. join the blocks with blank lines, recording offsets.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PreformattedString
from markdown_it import MarkdownIt

from groundedqa.ingest.models import Block, BlockKind, CleanDoc, SourceFormat

__all__ = ["clean"]

# Phrase rules only fire on short blocks: a long block is prose, and prose is the article.
_MAX_BOILERPLATE_WORDS = 40
# "Short line": the size of a menu entry, a widget label or an opening-hours line.
_SHORT_LINE_WORDS = 6
_MAX_HEADING_WORDS = 12
_MAX_TITLE_WORDS = 30


@dataclass
class _Raw:
    """A block before furniture removal; `text` is whitespace-collapsed, list marker removed."""

    kind: BlockKind
    text: str
    level: int = 0
    bulleted: bool = False  # carried an explicit list marker (or was an <li> / markdown item)
    link_ratio: float = 0.0  # share of visible characters inside links (HTML / markdown)
    had_content: bool = False  # heading: its section had body blocks before cleaning


# --------------------------------------------------------------------------- text predicates

_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*$")
_ANY_END_PUNCT = re.compile(r"[.,;:!][\"'”’)\]]*$")
_TWO_SENTENCES = re.compile(r"[.!?]\s+[A-Z]")
_LABEL = re.compile(r"^[A-Z][\w'’/&()+ -]{0,40}:\s+\S")  # "Walking: Walking is ..."
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_SMALL_WORDS = frozenset(
    "a an the and or but nor of to in on at for with by from as vs via into onto per than "
    "after before over under about up out off is are be your my our you i it its".split()
)


def _squash(text: str) -> str:
    return " ".join(text.split())


def _n_words(text: str) -> int:
    return len(text.split())


def _ends_sentence(text: str) -> bool:
    return bool(_SENTENCE_END.search(text))


def _is_title_case(text: str, min_words: int = 2) -> bool:
    words = _WORD.findall(text)
    significant = [w for w in words if w.lower() not in _SMALL_WORDS]
    if len(words) < min_words or not significant:
        return False
    capitalised = sum(w[0].isupper() for w in significant)
    return capitalised / len(significant) >= 0.75


def _starts_like_heading(text: str) -> bool:
    return bool(text) and (text[0].isupper() or text[0].isdigit()) and any(c.isalpha() for c in text)


def _is_heading_candidate(text: str) -> bool:
    """A short line that could be a heading: no closing sentence punctuation ("?" is allowed)."""
    return (
        1 <= _n_words(text) <= _MAX_HEADING_WORDS
        and len(text) <= 100
        and _starts_like_heading(text)
        and not _ANY_END_PUNCT.search(text)
        and not _TWO_SENTENCES.search(text)
    )


def _is_title_candidate(text: str) -> bool:
    # A page's first line may be a long question ("Is it safe for a patient with ... ?").
    return (
        _n_words(text) <= _MAX_TITLE_WORDS
        and len(text) <= 250
        and _starts_like_heading(text)
        and not _ANY_END_PUNCT.search(text)
        and not re.search(r"[.!]\s+[A-Z]", text)  # "Title? Subtitle" is fine, two statements are not
    )


def _is_short_line(block: _Raw) -> bool:
    text = block.text
    return _n_words(text) <= _SHORT_LINE_WORDS and not re.search(r"[.!?:][\"'”’)\]]*$", text)


def _is_prose(block: _Raw) -> bool:
    return block.kind != "heading" and _n_words(block.text) >= 8 and bool(re.search(r"[.!?]", block.text))


_DECORATION_CATEGORIES = frozenset({"So", "Sm", "Sk", "Cf", "Mn"})


def _strip_decoration(text: str) -> str:
    """Drop leading symbols (⊗, ✓, emoji): they stand outside the sentence. ASCII is kept ("< 5%")."""
    i = 0
    while i < len(text) and (
        text[i].isspace() or (ord(text[i]) > 127 and unicodedata.category(text[i]) in _DECORATION_CATEGORIES)
    ):
        i += 1
    return text[i:]


_SYMBOL_BULLET = re.compile(r"^[•◦▪▫‣⁃∙·●○■□➢➤►▸▹→✓✔✗✘]\s*")
_INLINE_BULLETS = re.compile(r"\s{2,}(?:[-*•–]|\d{1,2}[.)])\s+")
_BULLET = re.compile(
    r"""^(?:
        [•◦▪▫‣⁃∙·●○■□➢➤►▸▹→✓✔✗✘]\s*      # symbol bullets
      | [-*+–—](?:\s+|(?=[A-Z]))           # dash bullets, also "-Quadriceps: ..."
      | \(?\d{1,2}[.)]\s+                  # 1.  2)  (3)
      | \(?[a-zA-Z]\)\s+                   # a)  (b)
    )""",
    re.X,
)


# --------------------------------------------------------------------------- furniture patterns

_FURNITURE_HEADING = re.compile(
    r"""^(?:
        related\s+(?:questions|articles|posts|content|topics|reading|stories|links|pages|resources
                     |videos|searches|guides)
      | see\s+also | you\s+(?:may|might)\s+(?:also\s+)?(?:like|enjoy|be\s+interested(?:\s+in)?)
      | similar\s+(?:posts|articles|questions|stories|topics) | read\s+(?:next|more|this\s+next)
      | more\s+(?:from\b.*|like\s+this|articles|posts|stories|to\s+explore|on\s+this\s+topic)
      | (?:recommended|popular|recent|latest|trending|top)
        \s+(?:for\s+you|reading|articles|posts|stories|questions|news)
      | (?:\d+\s+)?comments? | leave\s+a\s+(?:comment|reply) | join\s+the\s+(?:discussion|conversation)
      | .*\bdisclaimer | have\s+a\s+(?:follow[-\s]?up\s+)?question | ask\s+(?:a|an|our)\s+\w+
      | share(?:\s+this\b.*)? | follow\s+us\b.* | (?:our\s+)?socials?(?:\s+media)? | connect\s+with\s+us
      | (?:working|opening|office|business|clinic)\s+hours | hours(?:\s+of\s+operation)?
      | contact(?:\s+us|\s+information|\s+info)? | get\s+in\s+touch | find\s+us
      | (?:our\s+)?(?:address|locations?)
      | subscribe\b.* | sign\s+up\b.* | .*\bnewsletter | personali[sz]e\b.* | about\s+(?:the\s+)?authors?
      | tags | categories | advertisement | sponsored\b.*
      | check\s*out\s+this\s+video | watch\s+(?:the|this|our)\s+video
      | quick\s+links | useful\s+links | navigation | menu
    )$""",
    re.X | re.I,
)

_REFERENCES_HEADING = re.compile(
    r"^(?:references?|sources?|bibliography|citations?|works\s+cited|literature(?:\s+cited)?"
    r"|further\s+reading|footnotes|references\s+and\s+further\s+reading|sources\s+and\s+references)$",
    re.I,
)

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DATE_LINE = re.compile(
    rf"^(?:{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|\d{{1,2}}\s+{_MONTH}\.?,?\s+\d{{4}}"
    rf"|{_MONTH}\.?\s+\d{{4}}|\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}/\d{{1,2}}/\d{{2,4}})$",
    re.I,
)
_META_LINE = re.compile(
    r"\b\d+\s*(?:-|\s)?min(?:ute)?s?\.?\s+read\b"  # "2 min read"
    r"|^(?:written|posted|published|authored|edited|updated|reviewed)(?:\s+and\s+\w+)?\s+(?:by|on)\b"
    r"|^(?:author|editor|reviewer|posted\s+in|filed\s+under|tags?|categories|category)\s*:",
    re.I,
)
# "By Jane Doe, PT": two to four capitalised names, then only credentials ("By Monday, ..." is prose).
_BYLINE = re.compile(r"^[Bb]y\s+(?:[A-Z][\w.'’-]*\s+){1,3}[A-Z][\w.'’-]*(?:\s*,\s*[A-Z][A-Za-z.]{1,6})*$")


def _phrase(triggers: str, pattern: str) -> tuple[frozenset[str], re.Pattern[str]]:
    """A boilerplate phrase rule; its regex only runs when one of its trigger words is present
    (a set lookup is far cheaper than 30 regex scans per sentence over 16k MedQuAD articles)."""
    return frozenset(triggers.split("|")), re.compile(pattern, re.I)


_BOILERPLATE = [
    # review-status and editorial widgets
    _phrase("advisory", r"\bmedical advisory board\b"),
    _phrase("reviewed", r"^(?:medically |clinically )?reviewed (?:for accuracy )?by\b"),
    _phrase("fact", r"\bfact[- ]checked\b"),
    _phrase("educational", r"\beducational purposes? only\b"),
    _phrase("pending", r"\bpending (?:human )?review\b"),
    _phrase("status", r"^(?:article )?review status$"),
    _phrase(
        "submitted|review|approved|pending|draft",
        r"^(?:submitted|under review|in review|approved|pending|draft)$",
    ),
    _phrase(
        "updated|reviewed|modified|published",
        r"^(?:page |article )?(?:last )?(?:updated|reviewed|modified|published)\b.{0,40}\b(?:19|20)\d\d\b",
    ),
    _phrase("editorial", r"\beditorial (?:policy|process|standards|guidelines)\b"),
    # personalisation widgets
    _phrase("help", r"\bhelp us (?:tailor|personali[sz]e|improve)\b"),
    _phrase("describes", r"\bwhich (?:best )?describes you\b"),
    _phrase("choice", r"\byour choice helps us\b"),
    # marketing, sharing, comments, newsletters, cookies, legal footer
    _phrase("question|questions", r"\b(?:have|got) (?:a|any) (?:follow[- ]?up )?questions?\??$"),
    _phrase("question", r"\bask (?:a|any|your) (?:follow[- ]?up )?question\b"),
    _phrase("share", r"\bshare (?:this|on|via)\b"),
    _phrase("follow", r"\bfollow us\b"),
    _phrase("leave", r"\bleave a (?:comment|reply)\b"),
    _phrase("subscribe", r"\bsubscribe\b"),
    _phrase("newsletter", r"\bnewsletter\b"),
    _phrase("sign", r"\bsign up (?:for|to)\b"),
    _phrase("cookie|cookies", r"\b(?:we|this (?:site|website)) uses? cookies\b|\baccept (?:all )?cookies\b"),
    _phrase("cookie", r"\bcookie (?:policy|settings|preferences|consent|notice)\b"),
    _phrase("rights|©|copyright", r"\ball rights reserved\b|^©|\bcopyright\b"),
    _phrase(
        "privacy|terms", r"\bprivacy policy\b|\bterms (?:of (?:use|service)|and conditions|& conditions)\b"
    ),
    _phrase("video", r"\bcheck\s*out (?:this|our|the) video\b|\bwatch (?:this|the|our) video\b"),
    _phrase("advertisement|sponsored|ad", r"^(?:advertisement|sponsored(?: content)?|ad)$"),
    _phrase(
        "more|previous|next|older|newer",
        r"\bread more\W*$|^(?:previous|next|older|newer) (?:post|article|story)\b",
    ),
    _phrase("skip|top|click", r"\bskip to (?:main )?content\b|\bback to top\b|\bclick here\b"),
    # placeholder text
    _phrase("here|soon", r"\b(?:your|insert|add) (?:text|content|title) here\b|^coming soon\W*$"),
]
_ALL_TRIGGERS = frozenset().union(*(triggers for triggers, _ in _BOILERPLATE))
_TRIGGER_TOKEN = re.compile(r"[a-z]+|©")
_PLACEHOLDER = re.compile(r"\blorem ipsum\b|\bdolor sit amet\b|\bconsectetur adipiscing\b", re.I)

_DAY = r"(?:mon|tue|tues|wed|wednes|thu|thur|thurs|fri|sat|satur|sun)(?:day)?s?\.?"
_TIME = r"\d{1,2}(?:[:.]\d{2})?\s*(?:[ap]\.?m\.?)?"
_SCHEDULE_HINT = re.compile(rf"\b{_DAY}(?!\w)|\d{{1,2}}[:.]\d{{2}}|\b\d{{1,2}}\s*[ap]\.?m\b", re.I)
_SCHEDULE_WORDS = re.compile(
    rf"\b{_DAY}(?!\w)|{_TIME}|\b(?:closed|open|to|and|through|thru|daily|weekdays?|weekends?|hours|noon|midnight"
    r"|by appointment(?: only)?)\b",
    re.I,
)
_CONTACT_LINE = re.compile(
    r"^(?:(?:tel|phone|call(?:\s+us)?(?:\s+(?:now|today))?|fax|mobile|text)\b\.?:?\s*)?\+?\(?\d[\d\s().-]{6,}\d$"
    r"|^(?:e-?mail\s*:?\s*)?[\w.+-]+@[\w-]+\.[\w.]+$"
    r"|^(?:https?://|www\.)\S+$"
    r"|^\d{1,5}\s+[\w .'-]+\b(?:st|street|ave|avenue|rd|road|blvd|boulevard|dr|drive|ln|lane|hwy|highway"
    r"|suite|ste)\b\.?(?:,.*)?$",
    re.I,
)
_CITY_LINE = re.compile(r"^[A-Z][A-Za-z .'-]+,\s*[A-Z]{2}\s+\d{5}(?:-\d{4})?$")  # "Springfield, IL 62701"
_SHARE_WORDS = frozenset(
    "share shares tweet pin email e-mail print facebook twitter x linkedin pinterest reddit whatsapp "
    "telegram instagram youtube tiktok copy link like likes follow comment comments subscribe save "
    "on this us via post article page and or".split()
)
_SHARE_ANCHORS = frozenset(
    "share tweet facebook twitter linkedin pinterest whatsapp instagram youtube tiktok follow "
    "subscribe email print like comment comments".split()
)
_NAV_WORDS = frozenset(
    {
        "home",
        "about",
        "about us",
        "services",
        "blog",
        "contact",
        "contact us",
        "login",
        "log in",
        "sign in",
        "register",
        "search",
        "menu",
        "shop",
        "cart",
        "faq",
        "faqs",
        "careers",
        "team",
        "our team",
        "locations",
        "privacy policy",
        "terms",
        "sitemap",
        "news",
        "resources",
        "events",
        "donate",
        "book now",
        "appointments",
        "testimonials",
        "reviews",
        "gallery",
        "pricing",
        "patient forms",
        "insurance",
        "specials",
        "our socials",
        "socials",
    }
)
_SITE_HEADER = re.compile(r"\||,\s*[A-Z]{2}(?:\s+\d{5})?$|\b[\w-]+\.(?:com|org|net|co|io|health|clinic)\b")

_CITATION_AUTHOR_START = re.compile(
    r"^(?:\[\d+\]\s*)?[A-Z][A-Za-z'’-]+(?:\s[A-Z][A-Za-z'’-]+)?\s[A-Z]{1,3}[,.]"
)
_CITATION_EVIDENCE = re.compile(
    r"\bdoi\b|doi\.org/|\bpmid\b|\bet al\.|\b(?:19|20)\d\d\s*;\s*\d|\((?:19|20)\d\d\)", re.I
)
_CITATION_STRONG = re.compile(r"\bdoi\s*:|doi\.org/|\bpmid\s*:?\s*\d", re.I)


def _norm_heading(text: str) -> str:
    return _squash(text).strip(" :?.!").lower()


def _is_furniture_heading(text: str) -> bool:
    return bool(_FURNITURE_HEADING.match(_norm_heading(text)))


def _is_references_heading(text: str) -> bool:
    return bool(_REFERENCES_HEADING.match(_norm_heading(text)))


def _is_schedule_line(text: str) -> bool:
    """Opening-hours lines: only day names, times and words like "closed" remain."""
    if not _SCHEDULE_HINT.search(text):
        return False
    return not re.search(r"[^\W_]", _SCHEDULE_WORDS.sub(" ", text))


def _is_share_line(text: str) -> bool:
    words = re.findall(r"[a-z][a-z-]*", text.lower())
    return (
        0 < len(words) <= 12
        and all(w in _SHARE_WORDS for w in words)
        and any(w in _SHARE_ANCHORS for w in words)
    )


def _is_citation(block: _Raw) -> bool:
    text = block.text
    if _CITATION_AUTHOR_START.match(text) and _CITATION_EVIDENCE.search(text):
        return True
    return block.kind == "list_item" and bool(_CITATION_STRONG.search(text))


def _is_boilerplate_sentence(sentence: str) -> bool:
    if _n_words(sentence) > _MAX_BOILERPLATE_WORDS:
        return False
    words = set(_TRIGGER_TOKEN.findall(sentence.lower()))
    if not words & _ALL_TRIGGERS:
        return False
    return any(triggers & words and pattern.search(sentence) for triggers, pattern in _BOILERPLATE)


def _is_furniture_line(block: _Raw) -> bool:
    """Whole-block furniture by shape: placeholder, link entries, hours, share bars, contacts, meta."""
    text = block.text
    if _PLACEHOLDER.search(text):  # placeholder text taints its whole block, however long
        return True
    words = _n_words(text)
    if words > _MAX_BOILERPLATE_WORDS:
        return False
    if block.link_ratio >= 0.7 and words <= 15:  # a link list entry, not a sentence
        return True
    if words <= _SHORT_LINE_WORDS and _is_furniture_heading(text):
        return True
    return (
        _is_schedule_line(text)
        or _is_share_line(text)
        or (words <= 12 and bool(_CONTACT_LINE.match(text) or _CITY_LINE.match(text)))
        or _is_meta_line(text)
    )


def _is_boilerplate(block: _Raw) -> bool:
    return _is_furniture_line(block) or _is_boilerplate_sentence(block.text)


def _is_meta_line(text: str) -> bool:
    return _n_words(text) <= 15 and bool(
        _DATE_LINE.match(text) or _META_LINE.search(text) or _BYLINE.match(text)
    )


def _is_nav_line(text: str) -> bool:
    return _norm_heading(text) in _NAV_WORDS or _is_boilerplate(_Raw("paragraph", text))


# --------------------------------------------------------------------------- plain-text parsing


@dataclass
class _Group:
    """Consecutive source lines that form one block candidate."""

    text: str
    bulleted: bool = False
    indented: bool = False
    last_line_len: int = 0
    chunk_single: bool = False  # its blank-line-separated chunk holds nothing else
    chunk_end: bool = False  # a blank line (or the end) follows it


def _chunks(raw: str) -> list[list[str]]:
    """Split text into runs of non-blank lines (blank lines separate blocks)."""
    chunks: list[list[str]] = []
    current: list[str] = []
    for line in raw.expandtabs(4).splitlines():
        if line.strip():
            current.append(line.rstrip())
        elif current:
            chunks.append(current)
            current = []
    if current:
        chunks.append(current)
    return chunks


def _looks_wrapped(chunk: list[str]) -> bool:
    """A hard-wrapped paragraph: most continuation lines start mid-sentence (lowercase)."""
    continuations = [line.strip() for line in chunk[1:] if not _BULLET.match(line.strip())]
    lower = sum(1 for line in continuations if line[:1].islower())
    return lower >= 1 and lower * 2 >= len(continuations)


def _joins_previous(prev: _Group, line: str, wrapped: bool, width: int) -> bool:
    if not prev.text:  # a bullet alone on its line: its text follows
        return True
    if line[:1].islower() and not re.search(r"[.!?:][\"'”’)\]]*$", prev.text):
        return True
    # In a wrapped paragraph a line ending a sentence still continues, unless it is a short
    # line of its own (a heading above the paragraph).
    return wrapped and prev.last_line_len >= 0.6 * width


def _groups(chunks: list[list[str]]) -> list[_Group]:
    """Turn chunks of lines into groups: bullets start items, wrapped lines are joined."""
    # Indentation means "list item" only relative to the page's usual body indentation: some
    # pages indent every paragraph.
    indents = Counter(
        len(line) - len(line.lstrip())
        for chunk in chunks
        for line in chunk
        if not _BULLET.match(line.strip())
    )
    base = min(indents, key=lambda indent: (-indents[indent], indent), default=0)
    out: list[_Group] = []
    for chunk in chunks:
        wrapped = _looks_wrapped(chunk)
        width = max(len(line.strip()) for line in chunk)
        groups: list[_Group] = []
        for line in chunk:
            text = line.strip()
            bullet = _BULLET.match(text)
            if bullet:
                # Flattened lists put several items on one line: "- Rest.  - Ice.  - Elevate."
                for item in _INLINE_BULLETS.split(text[bullet.end() :]):
                    groups.append(_Group(_strip_decoration(item), bulleted=True, last_line_len=len(text)))
            elif groups and _joins_previous(groups[-1], text, wrapped, width):
                groups[-1].text = f"{groups[-1].text} {text}".strip()
                groups[-1].last_line_len = len(text)
            else:
                indent = len(line) - len(line.lstrip()) - base
                groups.append(_Group(_strip_decoration(text), indented=indent > 0, last_line_len=len(text)))
        groups = [g for g in groups if g.text]
        for g in groups:
            g.text = _squash(g.text)
            g.chunk_single = len(groups) == 1
        if groups:
            groups[-1].chunk_end = True
        out.extend(groups)
    return out


def _followed_by_body(group: _Group, nxt: _Group | None) -> bool:
    if nxt is None or group.chunk_end:
        return True
    return not _is_heading_candidate(nxt.text) and not nxt.text.endswith("?")


def _kind_of(
    group: _Group, nxt: _Group | None, first: bool, list_style: str | None, compact_list: bool
) -> BlockKind:
    """Classify one line group of a plain-text page.

    Bulleted or indented lines are list items. The first line is the title when it is
    heading-shaped (up to 30 words, no closing punctuation but "?"). A short line without closing
    punctuation is a heading when it stands alone between blank lines, or when it is Title Case or
    a question and body text follows it. After a line ending in ":", unpunctuated or "Label: text"
    lines are list items until a heading-like line introduces new body text.
    """
    text = group.text
    if group.bulleted or group.indented:
        return "list_item"
    if first and nxt is not None and _is_title_candidate(text):
        return "heading"
    # A list written as consecutive lines ends where a line stands alone between blank lines.
    in_plain_list = list_style == "open" or (
        list_style == "plain" and not (compact_list and group.chunk_single)
    )
    if not _is_heading_candidate(text):
        if in_plain_list and (_LABEL.match(text) or not _ends_sentence(text)):
            return "list_item"
        return "paragraph"
    if _is_furniture_heading(text) or _is_references_heading(text):
        return "heading"
    strong = text.endswith("?") or _is_title_case(text)
    if in_plain_list:
        # "Fever" after "Symptoms include:" is an item; a Title Case or question line that
        # introduces body text ends the list.
        strong = text.endswith("?") or _is_title_case(text, min_words=3)
        return "heading" if strong and _followed_by_body(group, nxt) else "list_item"
    if nxt is None:  # nothing follows: a heading needs a section under it
        return "paragraph"
    if group.chunk_single:
        return "heading"
    return "heading" if strong and _followed_by_body(group, nxt) else "paragraph"


def _classify(groups: list[_Group], doc_start: bool) -> list[_Raw]:
    """Give each group a block kind, tracking whether a list is open ("...include:")."""
    out: list[_Raw] = []
    list_style: str | None = None  # None | "open" (after a colon) | "bullet" | "plain"
    compact_list = False  # the open plain list's items share one chunk
    for i, group in enumerate(groups):
        nxt = groups[i + 1] if i + 1 < len(groups) else None
        kind = _kind_of(group, nxt, doc_start and i == 0, list_style, compact_list)
        compact_list = kind == "list_item" and not group.chunk_single
        level = (1 if doc_start and i == 0 else 2) if kind == "heading" else 0
        out.append(_Raw(kind, group.text, level, bulleted=group.bulleted))
        if kind == "list_item":
            if list_style in (None, "open"):
                list_style = "bullet" if group.bulleted else "plain"
        elif kind == "paragraph" and group.text.endswith(":"):
            list_style = "open"
        else:
            list_style = None
    return out


def _parse_text(raw: str) -> list[_Raw]:
    return _classify(_groups(_chunks(raw)), doc_start=True)


# --------------------------------------------------------------------------- markdown parsing

_MARKDOWN = MarkdownIt("commonmark")


def _render_inline(children: list) -> tuple[str, float]:
    """Visible text of a markdown inline run and the share of it that is link text."""
    parts: list[str] = []
    link_chars = 0
    depth = 0
    for tok in children:
        if tok.type == "link_open":
            depth += 1
        elif tok.type == "link_close":
            depth -= 1
        elif tok.type in ("text", "code_inline"):
            parts.append(tok.content)
            if depth:
                link_chars += len("".join(tok.content.split()))
        elif tok.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        # images, raw inline HTML and emphasis markers carry no sentence text
    text = "".join(parts)
    total = len("".join(text.split()))
    return text, (link_chars / total if total else 0.0)


def _parse_markdown(raw: str) -> list[_Raw]:
    """Blocks from markdown syntax; a paragraph's lines go through the plain-text rules."""
    tokens = _MARKDOWN.parse(raw)
    out: list[_Raw] = []
    item_depth = 0
    for i, tok in enumerate(tokens):
        if tok.type == "list_item_open":
            item_depth += 1
        elif tok.type == "list_item_close":
            item_depth -= 1
        elif tok.type == "inline":
            text, ratio = _render_inline(tok.children or [])
            opener = tokens[i - 1]
            if opener.type == "heading_open":
                out.append(
                    _Raw("heading", _strip_decoration(_squash(text)), int(opener.tag[1]), link_ratio=ratio)
                )
            elif item_depth:
                out.append(
                    _Raw("list_item", _strip_decoration(_squash(text)), bulleted=True, link_ratio=ratio)
                )
            else:
                for block in _classify(_groups(_chunks(text)), doc_start=not out):
                    block.link_ratio = ratio
                    out.append(block)
        # fences, code blocks and raw HTML blocks are not patient prose
    return [b for b in out if b.text]


# --------------------------------------------------------------------------- HTML parsing

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
        self.blocks: list[_Raw] = []
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
            one_line = _strip_decoration(_SYMBOL_BULLET.sub("", _squash(text)))
            self.blocks.append(_Raw(kind, one_line, level, bulleted=kind == "list_item", link_ratio=ratio))
            return
        # A lone line stays a paragraph unless it names a furniture or reference section
        # (<p><b>References</b></p>); lines split by <br> get the plain-text rules.
        for block in _classify(_groups(_chunks(text)), doc_start=False):
            block.link_ratio = ratio
            self.blocks.append(block)


def _parse_html(raw: str) -> tuple[list[_Raw], str | None]:
    """Blocks of an HTML page's content, and the page title (<h1>, else <title>)."""
    soup = BeautifulSoup(raw, "lxml")
    h1 = soup.find("h1")
    title_el = soup.find("title")
    page_title = _squash(h1.get_text(" ")) if h1 else None
    if not page_title and title_el:
        page_title = re.split(r"\s+[|–—-]\s+", _squash(title_el.get_text(" ")))[0] or None
    _remove_chrome(soup)
    walker = _HtmlWalker()
    walker.walk(_content_root(soup), "paragraph", 0)
    walker.flush("paragraph", 0)
    return [b for b in walker.blocks if b.text], page_title


# --------------------------------------------------------------------------- references


def _is_body_prose(block: _Raw) -> bool:
    """Article prose, as opposed to a citation's title or journal line (one sentence, a year)."""
    text = block.text
    return (
        block.kind != "heading"
        and _n_words(text) >= 20
        and bool(_TWO_SENTENCES.search(text))
        and not re.search(r"\b(?:19|20)\d\d\b", text)
        and not _is_citation(block)
    )


def _split_references(blocks: list[_Raw], reliable_headings: bool) -> tuple[list[_Raw], list[str]]:
    """Move the reference section and citation-like lines out of the body.

    With markdown/HTML the section ends at the next heading of its level; in plain text, where a
    citation's title looks like a heading, it ends at a furniture heading or at real prose.
    """
    body: list[_Raw] = []
    refs: list[_Raw] = []
    section_level: int | None = None
    for block in blocks:
        if section_level is not None:
            if block.kind == "heading" and (
                _is_furniture_heading(block.text) or (reliable_headings and block.level <= section_level)
            ):
                section_level = None
            elif not reliable_headings and _is_body_prose(block):
                section_level = None
                if refs and refs[-1].kind == "heading":
                    body.append(refs.pop())
            else:
                refs.append(block)
                continue
        if block.kind == "heading" and _is_references_heading(block.text):
            section_level = block.level
        elif _is_citation(block):
            refs.append(block)
        else:
            body.append(block)
    # Single-word lines ("Research", "Guideline") are type labels, not references.
    return body, [b.text for b in refs if _n_words(b.text) > 1 or any(c.isdigit() for c in b.text)]


# --------------------------------------------------------------------------- furniture rules


def _mark_sections(blocks: list[_Raw]) -> None:
    """Remember which headings had a body, so a heading emptied by cleaning can be dropped."""
    for i, block in enumerate(blocks):
        if block.kind == "heading":
            nxt = blocks[i + 1] if i + 1 < len(blocks) else None
            block.had_content = nxt is not None and not (nxt.kind == "heading" and nxt.level <= block.level)


def _drop_furniture_sections(blocks: list[_Raw]) -> list[_Raw]:
    """Drop a furniture heading ("Related Questions", "Comments", ...) and its whole section."""
    out: list[_Raw] = []
    skip_level: int | None = None
    for block in blocks:
        if skip_level is not None:
            # A furniture-looking heading ("Sunday: Closed" under "Opening hours") does not end it.
            if block.kind == "heading" and block.level <= skip_level and not _is_boilerplate(block):
                skip_level = None
            else:
                continue
        if block.kind == "heading" and _is_furniture_heading(block.text):
            skip_level = block.level
            continue
        out.append(block)
    return out


def _drop_site_header(blocks: list[_Raw]) -> list[_Raw]:
    """A first short line shaped like a site name ("Clinic: City, ST", "Site | Tagline") above the title."""
    if len(blocks) >= 2 and blocks[1].kind == "heading":
        first = blocks[0]
        if _n_words(first.text) <= 8 and not _ends_sentence(first.text) and _SITE_HEADER.search(first.text):
            return blocks[1:]
    return blocks


def _drop_byline_run(blocks: list[_Raw]) -> list[_Raw]:
    """Drop the short meta lines right under the title (site name, date, "2 min read")."""
    start = 1 if blocks and blocks[0].kind == "heading" else 0
    end = start
    while end < len(blocks) and end - start < 6 and _is_short_line(blocks[end]):
        end += 1
    run = blocks[start:end]
    if end < len(blocks) and run and run[-1].kind == "heading" and _is_prose(blocks[end]):
        run, end = run[:-1], end - 1  # the last short line introduces the body: a real heading
    if len(run) >= 2 and any(_is_meta_line(b.text) for b in run):
        return blocks[:start] + blocks[end:]
    return blocks


_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[\"“‘(]?[A-Z])")


def _without_boilerplate(block: _Raw) -> _Raw | None:
    """Drop a boilerplate block, or only the boilerplate sentences ("Click here to ...") of prose."""
    if _is_furniture_line(block):
        return None
    sentences = _SENTENCE_BREAK.split(block.text)
    if len(sentences) < 2:
        return None if _is_boilerplate_sentence(block.text) else block
    kept = [s for s in sentences if not _is_boilerplate_sentence(s)]
    if len(kept) == len(sentences):
        return block
    return replace(block, text=" ".join(kept)) if kept else None


def _drop_boilerplate_blocks(blocks: list[_Raw]) -> list[_Raw]:
    return [b for b in map(_without_boilerplate, blocks) if b is not None]


def _runs(blocks: list[_Raw], member: Callable[[_Raw], bool]) -> list[tuple[int, int]]:
    """Maximal [start, end) index ranges of consecutive blocks satisfying `member`."""
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(blocks):
        if member(blocks[i]):
            j = i
            while j < len(blocks) and member(blocks[j]):
                j += 1
            spans.append((i, j))
            i = j
        else:
            i += 1
    return spans


def _introduced(blocks: list[_Raw], start: int) -> bool:
    """The run follows a line ending in a colon: it is the article's own list."""
    return start > 0 and blocks[start - 1].text.endswith(":")


def _drop_indexes(blocks: list[_Raw], drop: set[int]) -> list[_Raw]:
    return [b for i, b in enumerate(blocks) if i not in drop]


def _is_bare_question(block: _Raw) -> bool:
    text = block.text.rstrip("\"'”’)")
    return text.endswith("?") and not _TWO_SENTENCES.search(text[:-1])


def _drop_question_runs(blocks: list[_Raw]) -> list[_Raw]:
    """Three or more questions in a row with no answers are a "related questions" list."""
    drop: set[int] = set()
    # An article's own bulleted questions ("Your doctor may ask: - Have you had surgery?") stay,
    # unless they are links.
    for start, end in _runs(
        blocks, lambda b: _is_bare_question(b) and (not b.bulleted or b.link_ratio >= 0.5)
    ):
        if end - start >= 3 and not _introduced(blocks, start):
            drop.update(range(start, end))
    return _drop_indexes(blocks, drop)


def _drop_short_line_runs(blocks: list[_Raw]) -> list[_Raw]:
    """Runs of 3+ short unpunctuated lines are menus/widgets when menu-like or after the article."""
    drop: set[int] = set()
    last_prose = max((i for i, b in enumerate(blocks) if _is_prose(b)), default=-1)
    for start, end in _runs(blocks, lambda b: _is_short_line(b) and not b.bulleted):
        run = blocks[start:end]
        if len(run) < 3 or _introduced(blocks, start):
            continue
        # Menus are mostly menu words; after the article's last sentence one menu word is enough
        # (a trailing list of plain terms may still be the article's own).
        nav = sum(_is_nav_line(b.text) for b in run)
        if not (nav * 2 >= len(run) or (start > last_prose and nav)):
            continue
        # Drop the menu entries; a heading among them that is not a menu word is the article's.
        drop.update(
            i for i in range(start, end) if blocks[i].kind != "heading" or _is_nav_line(blocks[i].text)
        )
    return _drop_indexes(blocks, drop)


_FURNITURE_RULES: list[Callable[[list[_Raw]], list[_Raw]]] = [
    _drop_furniture_sections,
    _drop_short_line_runs,  # before the byline rule: a menu above the title is not a byline
    _drop_site_header,
    _drop_byline_run,
    _drop_boilerplate_blocks,
    _drop_question_runs,
]


# --------------------------------------------------------------------------- citation markers

# A bare number (or "5, 4") after sentence punctuation, before the next sentence's capitalised
# word: ". 1 Specifically". Not before "XXX" or "HIV": "cells. 47 XXX syndrome ..." is content.
_NEXT_SENTENCE = r"(?=\s+(?:[A-Z][a-z]|[AI]\s))"
_MARKER_MID = re.compile(r"(?<=[.!?)\]])\s+\d{1,2}(?:\s*,\s*\d{1,2})*" + _NEXT_SENTENCE)
# The same glued to the punctuation: "pain.1 The" (copied superscripts).
_MARKER_GLUED = re.compile(r"(?<=[a-z][.!?])\d{1,2}(?:,\d{1,2})*(?:" + _NEXT_SENTENCE + r"|$)")
# At the end of a block: "... decompression. 5, 4", "(p < .01) 1", "... disability.[2]".
_MARKER_END = re.compile(
    r"(?<=[.!?)\]\"”’])\s+\d{1,2}(?:\s*,\s*\d{1,2})*$"
    r"|(?<=[.!?\"”’)])(?:\s*\[\d{1,3}(?:\s*[-–,]\s*\d{1,3})*\])+"
)
# A list item's trailing number after a word: a citation only when every sibling has one.
_MARKER_TAIL = re.compile(r"\s\d{1,2}(?:\s*,\s*\d{1,2})*$")


def _is_marker_doc(blocks: list[_Raw]) -> bool:
    """Does the article cite with bare numbers? (two or more markers after sentences)."""
    hits = sum(len(_MARKER_MID.findall(b.text)) + len(_MARKER_END.findall(b.text)) for b in blocks)
    return hits >= 2


def _strip_citation_markers(blocks: list[_Raw]) -> list[_Raw]:
    marker_doc = _is_marker_doc(blocks)
    tail_items: set[int] = set()
    if marker_doc:
        for start, end in _runs(blocks, lambda b: b.kind == "list_item"):
            if end - start >= 2 and all(_MARKER_TAIL.search(b.text) for b in blocks[start:end]):
                tail_items.update(range(start, end))
    out: list[_Raw] = []
    for i, block in enumerate(blocks):
        text = _MARKER_END.sub("", block.text)
        if marker_doc:
            text = _MARKER_GLUED.sub("", _MARKER_MID.sub("", text))
        if i in tail_items:
            text = _MARKER_TAIL.sub("", text)
        text = text.strip()
        if text:
            out.append(replace(block, text=text))
    return out


def _drop_emptied_headings(blocks: list[_Raw]) -> list[_Raw]:
    """Drop headings left with nothing under them, and any heading that ends the article."""
    out: list[_Raw] = []
    for block in reversed(blocks):
        if block.kind == "heading":
            nxt = out[-1] if out else None
            empty = nxt is None or (nxt.kind == "heading" and nxt.level <= block.level)
            if empty and (block.had_content or nxt is None):
                continue
        out.append(block)
    return out[::-1]


# --------------------------------------------------------------------------- assembly


def _assemble(
    blocks: list[_Raw], references: list[str], fallback_title: str | None, fmt: SourceFormat
) -> CleanDoc:
    title = None
    if blocks and blocks[0].kind == "heading":
        if fmt == "text":
            blocks[0].level = 1  # the first heading of a plain-text page is its title
        title = blocks[0].text
    if fmt != "text":
        title = (
            next((b.text for b in blocks if b.kind == "heading" and b.level == 1), title) or fallback_title
        )
    parts: list[str] = []
    out_blocks: list[Block] = []
    offset = 0
    for block in blocks:
        if parts:
            offset += 2  # the "\n\n" separator
        parts.append(block.text)
        out_blocks.append(Block(block.kind, offset, offset + len(block.text), block.level))
        offset += len(block.text)
    return CleanDoc(text="\n\n".join(parts), blocks=out_blocks, title=title, references=references)


def clean(raw: str, fmt: SourceFormat = "text") -> CleanDoc:
    """Remove page furniture from one article and structure what remains.

    `fmt` is "text", "markdown" or "html". The result's `text` is the kept blocks joined by
    blank lines; `blocks` locate each heading, paragraph and list item in it; `references` holds
    the article's own reference list, which is never part of `text`. Kept sentences are verbatim
    (whitespace aside); only lines, blocks, list markers, leading decoration symbols and citation
    markers after sentences are removed.
    """
    fallback_title: str | None = None
    if fmt == "text":
        blocks = _parse_text(raw)
    elif fmt == "markdown":
        blocks = _parse_markdown(raw)
    elif fmt == "html":
        blocks, fallback_title = _parse_html(raw)
    else:
        raise ValueError(f"unknown source format {fmt!r} (expected 'text', 'markdown' or 'html')")
    blocks, references = _split_references(blocks, reliable_headings=fmt != "text")
    _mark_sections(blocks)
    for rule in _FURNITURE_RULES:
        blocks = rule(blocks)
    blocks = _drop_emptied_headings(_strip_citation_markers(blocks))
    return _assemble(blocks, references, fallback_title, fmt)
