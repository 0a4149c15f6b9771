"""What page furniture looks like: the patterns and predicates the furniture rules apply.

Every rule is general: line shapes (dates, bylines, opening hours, phone numbers, share bars),
phrase patterns ("click here", "all rights reserved") and heading names ("Related Posts",
"Comments"), never one site's strings. A phrase rule only fires on a short block: a long block is
prose, and prose is the article.
"""

from __future__ import annotations

import re

from groundedqa.ingest.blocks import RawBlock, ends_sentence, n_words, squash

__all__ = [
    "SHORT_LINE_WORDS",
    "is_boilerplate",
    "is_boilerplate_sentence",
    "is_contact_line",
    "is_furniture_heading",
    "is_furniture_line",
    "is_meta_line",
    "is_nav_line",
    "is_references_heading",
    "is_site_name_line",
]

# Phrase rules only fire on short blocks: a long block is prose, and prose is the article.
_MAX_BOILERPLATE_WORDS = 40
# "Short line": the size of a menu entry, a widget label or an opening-hours line.
SHORT_LINE_WORDS = 6

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


def _norm_heading(text: str) -> str:
    return squash(text).strip(" :?.!").lower()


def is_furniture_heading(text: str) -> bool:
    """A heading that opens a furniture section ("Related Posts", "Comments", "Contact us")."""
    return bool(_FURNITURE_HEADING.match(_norm_heading(text)))


def is_references_heading(text: str) -> bool:
    """A heading that opens the article's reference list ("References", "Sources")."""
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


def is_boilerplate_sentence(sentence: str) -> bool:
    """A short sentence matching a boilerplate phrase ("Click here to ...", "All rights reserved")."""
    if n_words(sentence) > _MAX_BOILERPLATE_WORDS:
        return False
    words = set(_TRIGGER_TOKEN.findall(sentence.lower()))
    if not words & _ALL_TRIGGERS:
        return False
    return any(triggers & words and pattern.search(sentence) for triggers, pattern in _BOILERPLATE)


def is_furniture_line(block: RawBlock) -> bool:
    """Whole-block furniture by shape: placeholder, link entries, hours, share bars, contacts, meta."""
    text = block.text
    if _PLACEHOLDER.search(text):  # placeholder text taints its whole block, however long
        return True
    words = n_words(text)
    if words > _MAX_BOILERPLATE_WORDS:
        return False
    if block.link_ratio >= 0.7 and words <= 15:  # a link list entry, not a sentence
        return True
    if words <= SHORT_LINE_WORDS and is_furniture_heading(text):
        return True
    return (
        _is_schedule_line(text)
        or _is_share_line(text)
        or (words <= 12 and is_contact_line(text))
        or is_meta_line(text)
    )


def is_contact_line(text: str) -> bool:
    """Only a phone number, e-mail address, URL, street address or "City, ST 12345"."""
    return bool(_CONTACT_LINE.match(text) or _CITY_LINE.match(text))


def is_boilerplate(block: RawBlock) -> bool:
    """Furniture by shape or by phrase."""
    return is_furniture_line(block) or is_boilerplate_sentence(block.text)


def is_meta_line(text: str) -> bool:
    """A date, byline or "2 min read" line."""
    return n_words(text) <= 15 and bool(
        _DATE_LINE.match(text) or _META_LINE.search(text) or _BYLINE.match(text)
    )


def is_nav_line(text: str) -> bool:
    """A menu entry ("Home", "Our Team") or any other boilerplate line."""
    return _norm_heading(text) in _NAV_WORDS or is_boilerplate(RawBlock("paragraph", text))


def is_site_name_line(text: str) -> bool:
    """A short line shaped like a site name: "Clinic: City, ST", "Site | Tagline", "site.com"."""
    return n_words(text) <= 8 and not ends_sentence(text) and bool(_SITE_HEADER.search(text))

