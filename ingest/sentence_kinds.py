"""Tell an article's content sentences from the sentences around it that are not content.

Cleaning removes whole furniture blocks; what survives inside the article's own paragraphs still
holds sentences a patient should never be quoted as an answer: calls to action ("Contact us today
to book"), promotion ("At Harbour Physio, we ..."), the article talking about itself ("In this
post we'll explore ..."), the site's disclaimer, byline leftovers and figure or table residue.
Each gets its own span kind; only "sentence" stays quotable.

The rules are phrase and line shapes, never one site's strings. They lean towards content: a
content sentence wrongly hidden is an answer lost, while a stray "call us" costs little. So
"consult your doctor before ..." is a disclaimer only when it points at the site or the article,
"we" is promotion only with what a clinic says about itself (we offer, our team is ...), never
with advice ("We recommend starting with short hangs"), and "call ..." is no call to action when
it sends the reader to care ("call our office right away if the wound bleeds").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property

from groundedqa.ingest.boilerplate import is_contact_line, is_meta_line
from groundedqa.ingest.models import CleanDoc, Span, SpanKind

__all__ = ["classify_spans"]


@dataclass(frozen=True)
class _Site:
    """The publisher's own name, and the shapes in which a page promotes it."""

    words: frozenset[str]  # the name's lowercase words: a sentence without them cannot name it
    name: re.Pattern[str]
    call_to_action: re.Pattern[str]  # "Contact Harbour Physio ...", "visit Harbour Physio"
    promotion: re.Pattern[str]  # "At Harbour Physio ...", "Harbour Physio offers ..."


@dataclass
class _Sentence:
    """One sentence span and what the rules need to know around it."""

    span: Span
    doc_text: str
    words: frozenset[str]  # lowercase letter runs, plus _NAMES_SITE when it names the publisher
    label: str | None  # the label span right before it on its line ("Source:"), if any
    site: _Site | None

    @property
    def text(self) -> str:
        return self.span.text

    @cached_property
    def whole_line(self) -> bool:
        """Nothing but the sentence (and its label) stands on its line."""
        text, span = self.doc_text, self.span
        line_start = text.rfind("\n", 0, span.start) + 1
        line_end = text.find("\n", span.end)
        before = text[line_start : span.start].strip()
        after = text[span.end : line_end if line_end >= 0 else len(text)].strip()
        return not after and (not before or before == self.label)


@dataclass(frozen=True)
class _Rule:
    """A test that runs only when the sentence holds one word of each `needs` set."""

    needs: tuple[frozenset[str], ...]
    test: Callable[[_Sentence], bool]

    def __call__(self, s: _Sentence) -> bool:
        for need in self.needs:
            if s.words.isdisjoint(need):
                return False
        return self.test(s)


def _rule(needs: str, test: str | Callable[[_Sentence], bool]) -> _Rule:
    """A rule from a regex (searched case-insensitively) or a function; `needs` lists word sets
    separated by "&" ("not never & site page": one word of each), the rarest first."""
    groups = tuple(frozenset(group.split()) for group in needs.split("&") if group.strip())
    if isinstance(test, str):
        pattern = re.compile(test, re.I)
        return _Rule(groups, lambda s: pattern.search(s.text) is not None)
    return _Rule(groups, test)


@dataclass(frozen=True)
class _Kind:
    """A span kind and the rules that give it."""

    name: SpanKind
    ungated: list[_Rule]  # rules that need no word (cheap line-shape tests)
    gated: list[_Rule]
    # Every gated rule needs one of these words. Nearly every sentence is content, and one set
    # lookup spares it a dozen regex scans.
    gate: frozenset[str]

    @classmethod
    def of(cls, name: SpanKind, rules: list[_Rule]) -> _Kind:
        """The kind given by `rules`."""
        gated = [rule for rule in rules if rule.needs]
        gate = frozenset().union(*(rule.needs[0] for rule in gated))
        return cls(name, [rule for rule in rules if not rule.needs], gated, gate)

    def matches(self, s: _Sentence) -> bool:
        """Whether any of the kind's rules holds for `s`."""
        for rule in self.ungated:
            if rule(s):
                return True
        if s.words.isdisjoint(self.gate):
            return False
        for rule in self.gated:
            if rule(s):
                return True
        return False


def classify_spans(spans: list[Span], doc: CleanDoc, *, publisher: str | None = None) -> list[Span]:
    """`spans` (from `segment_doc(doc)`) with each non-content "sentence" span given its kind.

    Kinds: "call_to_action", "promotion", "meta", "disclaimer", "byline", "residue". Other spans
    (headings, labels, questions) and content sentences come back unchanged. `publisher` is the
    site or clinic name from the document's metadata ("Harbour Physio, Leeds" or "Harbour
    Physio"); with it, "Harbour Physio offers ..." is promotion too. "At Harbour Physio, we ..."
    is caught for any capitalised name without it.
    """
    site = _site(publisher)
    out: list[Span] = []
    for i, span in enumerate(spans):
        if span.kind != "sentence" or span.text.count(" ") >= _RUN_ON_WORDS:
            out.append(span)
            continue
        label = _label_before(spans, i, doc.text)
        sentence = _Sentence(span, doc.text, _words(span.text, site), label, site)
        kind = _kind_of(sentence)
        out.append(replace(span, kind=kind) if kind else span)
    return out


def _kind_of(s: _Sentence) -> SpanKind | None:
    for kind in _KINDS:
        if kind.matches(s):
            return kind.name
    return None


# Past this many words a "sentence" is run-on text (a scraper glued lines together), and its
# content outweighs a "please click here" at its end.
_RUN_ON_WORDS = 60
_TOKEN = re.compile(r"[a-z]+")
# A pseudo-word for sentences that name the publisher, so its rules pass the word gates.
_NAMES_SITE = "<site>"


def _words(text: str, site: _Site | None) -> frozenset[str]:
    words = frozenset(_TOKEN.findall(text.lower()))
    if site is not None and site.words <= words and site.name.search(text):
        return words | {_NAMES_SITE}
    return words


# A proper name in running text: "The Spinal Decompression Center", "Harbour Physio & Rehab".
# Case-sensitive inside patterns that are otherwise case-insensitive.
_NAME = r"(?-i:(?:The\s+)?[A-Z][\w&'’.-]*(?:\s+(?:[A-Z][\w&'’.-]*|of|and|&|for|in|at|on)){0,6})"
# Where an imperative can start: the sentence start, or a new clause ("If unsure, ask us!").
_CLAUSE = r"(?:^|[,;:—–]\s*|\b(?:and|or|so|then|just|simply|please)\s+)"
_DOC_NOUN = r"(?:blog(?:\s+post)?|article|post|guide|piece|section|video|page|write-?up|series)"
_DOC_WORDS = "blog article post guide piece section video page write writeup series"


def _site(publisher: str | None) -> _Site | None:
    # "SoFloPT SPORT, Fort Lauderdale, FL": the name is what comes before the place.
    name = re.sub(r"^the\s+", "", (publisher or "").split(",")[0].strip(), flags=re.I)
    if len(name) < 3:
        return None
    words = r"(?:the\s+)?" + r"\s+".join(re.escape(w) for w in name.split()) + r"(?!\w)"
    return _Site(
        words=frozenset(_TOKEN.findall(name.lower())),
        name=re.compile(words, re.I),
        call_to_action=re.compile(rf"{_CLAUSE}(?:contact|call|visit|e-?mail|message)\s+{words}", re.I),
        promotion=re.compile(
            rf"\bat\s+{words}|^{words}\s+(?:is|are|offers?|provides?|has|speciali[sz]es?|was\s+founded|helps?"
            r"|can\s+help|will)\b",
            re.I,
        ),
    )


def _label_before(spans: list[Span], i: int, text: str) -> str | None:
    prev = spans[i - 1] if i else None
    if prev is None or prev.kind != "label" or "\n" in text[prev.end : spans[i].start]:
        return None
    return prev.text


# --------------------------------------------------------------------------- residue

_WORD = re.compile(r"[^\W\d_]{2}")  # "3", "(2)", "10-15" hold no word: they are residue
_BARE_DOMAIN = re.compile(
    r"^[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|gov|edu|io|co|uk|ca|au|health|clinic)(?:/\S*)?$", re.I
)
_CAPTION = re.compile(
    r"^(?:(?:figure|fig\.|table|chart|graph|image|photo|picture|video|diagram|illustration|infographic"
    r"|exhibit)\s*(?:\d+|[IVX]+)[a-z]?(?:\s*[.:)]|\s*$|\s+[-–—])"
    r"|(?:image|photo|picture|graphic|illustration|video|figure)\s+(?:credit|courtesy|source|by|from|via)\b"
    r"|(?:source|sources|credits?|courtesy(?:\s+of)?|via)\s*:"
    r"|\[(?:image|video|photo|figure|chart|graphic|infographic)\b[^\]]*\]$"
    r"|(?:click|tap)\s+(?:here\s+)?to\s+(?:enlarge|zoom|expand|view|play|watch)\b"
    # "The graph below shows ...", "See the video above."
    r"|the\s+(?:graph|chart|table|figure|image|diagram|video|infographic|photo|picture)\s+(?:below|above)\b"
    r"|(?:see|watch|view)\s+(?:the\s+)?(?:figure|table|image|video|diagram|chart|graph|infographic|photo"
    r"|picture)s?\s+(?:below|above)\W*$)",
    re.I,
)
_CAPTION_LABEL = re.compile(
    r"^(?:(?:figure|fig\.|table|chart|graph|image|photo|picture|video|diagram|illustration|infographic)"
    r"(?:\s*(?:\d+|[IVX]+)[a-z]?|\s+(?:credit|courtesy|source))?|sources?|credits?|courtesy|via):$",
    re.I,
)


def _is_residue(s: _Sentence) -> bool:
    if not _WORD.search(s.text) or _CAPTION.match(s.text):
        return True
    if s.label is not None and _CAPTION_LABEL.match(s.label):
        return True
    return (is_contact_line(s.text) or _BARE_DOMAIN.match(s.text) is not None) and s.whole_line


# --------------------------------------------------------------------------- byline

_BYLINE = re.compile(
    r"^(?:(?:last\s+)?(?:updated|reviewed|modified|published|posted|revised)\s*(?:on\b|:)?.{0,40}"
    r"\b(?:19|20)\d\d\b|(?:medically\s+|clinically\s+)?(?:reviewed|written|edited|fact[- ]checked"
    r"|authored)\s+by\b)",
    re.I,
)
# "Hannah Sweitzer, DPT, OCS, CSCS": a name followed by nothing but credentials.
_NAME_AND_CREDENTIALS = re.compile(
    r"^(?:Dr\.?\s+)?[A-Z][a-z'’-]+(?:\s+[A-Z]\.)?(?:\s+[A-Z][a-z'’-]+){1,2}"
    r"(?:\s*,\s*[A-Z][A-Za-z.]{1,6})+$"
)


def _is_byline(s: _Sentence) -> bool:
    if s.text.count(" ") >= 15:  # a byline is a short line
        return False
    return bool(
        is_meta_line(s.text)
        or _BYLINE.match(s.text)
        or (_NAME_AND_CREDENTIALS.match(s.text) and s.whole_line)
    )


# --------------------------------------------------------------------------- disclaimer

_SITE_WORDS = (
    "information content article post blog site website web page material materials video guide resource"
)
# "Consult your doctor before ..." is advice; it is the site's disclaimer only when it points at
# the site or the article: "... before trying the exercises in this article".
_CONSULT = re.compile(
    r"\b(?:consult|talk\s+(?:to|with)|speak\s+(?:to|with)|check\s+with"
    r"|seek\s+(?:the\s+)?advice\s+(?:of|from))\s+(?:with\s+)?(?:your|a|an)\s+(?:own\s+)?"
    r"(?:doctor|physician|health\s*care|medical|qualified|licensed|physical\s+therapist|physiotherapist|GP)",
    re.I,
)
_POINTS_AT_SITE = re.compile(
    r"\b(?:this|our)\s+(?:site|website|blog|article|post|page|video|channel|content|information)\b"
    r"|\b(?:information|advice|exercises|content|suggestions|tips|recommendations)\s+(?:in|on"
    r"|provided\s+(?:in|on|by)|contained\s+in|found\s+(?:in|on)|presented\s+(?:in|on)|described\s+(?:in|on)"
    r"|given\s+(?:in|on))\s+(?:this|our|the\s+site)\b",
    re.I,
)


def _is_site_consult(s: _Sentence) -> bool:
    return bool(_CONSULT.search(s.text) and _POINTS_AT_SITE.search(s.text))


_DISCLAIMER = [
    # "This is not medical advice ..."
    _rule("advice", r"^(?:this|that|it|the\s+above)\s+(?:is|does)\s+not\s+(?:constitute\s+|intended\s+as\s+"
          r"|replace\s+|(?:a\s+)?(?:substitute|replacement)\s+for\s+)?"
          r"(?:(?:professional|qualified|individual)\s+)?(?:medical|professional|legal|health(?:care)?)"
          r"\s+advice\b"),
    # "The information on this site is not intended as / a substitute for ..."
    _rule(f"{_SITE_WORDS} & not never",
          r"\b(?:this|the|our|all|any)\s+(?:information|content|article|post|blog(?:\s+post)?|site|website"
          r"|web\s+site|page|materials?|video|guide|resource)s?\b[^.!?]{0,80}?"
          r"\b(?:is|are|should|does|do|was|were)\s+(?:not|never)\s+(?:be\s+)?(?:intended|meant|designed"
          r"|a\s+substitute|a\s+replacement|used\s+as|considered|construed|to\s+be\s+(?:used|taken)|replace"
          r"|substitute|provide\s+medical|constitute|establish|create|take\s+the\s+place|offered)\b"),
    _rule("purposes", r"\b(?:provided|offered|intended|meant|presented)\s+(?:solely\s+|only\s+)?for\s+"
          r"(?:general\s+)?(?:informational|educational|information|education|entertainment)\s+purposes\b"
          r"|\bfor\s+(?:general\s+)?(?:informational|educational)\s+purposes\s+only\b"),
    _rule("liability responsibility & no",
          r"\b(?:assumes?|accepts?|bears?)\s+no\s+(?:liability|responsibility)\b"),
    _rule("relationship & patient",
          r"\b(?:doctor|physician|therapist|provider|clinician)[–-]patient\s+relationship\b"),
    # "Individual results may vary." (not "the results can vary because the copper ...")
    _rule("vary & results", r"^(?:individual\s+)?results\s+(?:may|can|will)\s+vary\W*$"
          r"|\b(?:individual|your)\s+results\s+(?:may|can|will)\s+vary\b"),
    _rule("expressed & views", r"\bviews\s+expressed\b"),
    _rule("own & risk", r"\buse\s+(?:it\s+)?at\s+your\s+own\s+risk\b"),
    _rule("consult talk speak check seek & this our", _is_site_consult),
]


# --------------------------------------------------------------------------- call to action

# What a booking pitch says. A warning ("call our office right away if the wound bleeds") does
# not, nor does a referral ("for free help to quit smoking, visit Smokefree.gov"): both are content.
_PITCH = re.compile(
    r"\b(?:today|now|schedule|book|booking|appointment|consultation"
    r"|free\s+(?:assessment|evaluation|consultation|screening|session|trial))\b",
    re.I,
)
_URGENT = re.compile(
    r"\b(?:fever|bleed\w*|emergenc\w*|911|999|112|urgent\w*|immediately|right\s+away|worsen\w*|severe"
    r"|numb\w*|swell\w*|infection|chest\s+pain|breath\w*|faint\w*)\b",
    re.I,
)
# "Contact us", "ask us!", "call our office", "visit our website", "talk to our team".
_CTA_US = re.compile(
    rf"{_CLAUSE}(?:feel\s+free\s+to\s+|don[’']?t\s+hesitate\s+to\s+|do\s+not\s+hesitate\s+to\s+)?"
    r"(?:contact|call|phone|ring|e-?mail|text|message|ask|visit|book(?:\s+in)?\s+with|schedule\s+with"
    r"|reach\s+out\s+to|get\s+in\s+touch\s+with|talk\s+to|speak\s+(?:to|with)|come\s+(?:in\s+and\s+)?see"
    r"|stop\s+by|drop\s+by|come\s+visit)\s+(?:us\b|our\s+(?!own\b)\w+)",
    re.I,
)
# "Contact The Spinal Decompression Center today to schedule ...": a name, and a pitch or referral.
_CTA_NAMED = re.compile(
    rf"{_CLAUSE}(?:contact|call|visit|e-?mail|message|book(?:\s+in)?\s+with|reach\s+out\s+to"
    rf"|get\s+in\s+touch\s+with)\s+{_NAME}",
    re.I,
)
# "Book your free assessment today": a booking, and a pitch (not "make an appointment with your doctor").
_CTA_BOOKING = re.compile(
    rf"(?:{_CLAUSE}|\bto\s+)(?:book|schedule|request|reserve|make|arrange|set\s+up)\s+(?:an?|your)\s+"
    r"(?:[\w-]+\s+){0,2}?(?:appointment|consultation|session|visit|evaluation|assessment|screening|call)\b",
    re.I,
)


def _is_contact_us(s: _Sentence) -> bool:
    if not _CTA_US.search(s.text):
        return False
    return not _URGENT.search(s.text) or bool(_PITCH.search(s.text))


def _is_named_contact(s: _Sentence) -> bool:
    return bool(_CTA_NAMED.search(s.text) and _PITCH.search(s.text) and not _URGENT.search(s.text))


def _is_booking(s: _Sentence) -> bool:
    if not _CTA_BOOKING.search(s.text):
        return False
    if not s.words.isdisjoint({"us", "our"}):
        return True
    return not s.words.isdisjoint({"today", "now", "free", "online"}) and not _URGENT.search(s.text)


def _is_site_contact(s: _Sentence) -> bool:
    return s.site is not None and s.site.call_to_action.search(s.text) is not None


_CALL_TO_ACTION = [
    _rule("us", r"\b(?:give\s+us\s+a\s+(?:call|ring)|drop\s+us\s+a\s+(?:line|note|message)"
          r"|reach\s+out\s+to\s+us|let\s+us\s+know|love\s+to\s+hear\s+from\s+you"
          r"|call\s+us\s+(?:today|now))\b"),
    _rule("call book schedule register & today now online",
          r"\b(?:call|book|schedule|register)\s+(?:today|now|online)\b"),
    _rule("click tap", r"\b(?:click|tap)\s+(?:here|the\s+(?:link|button|banner)|below)\b"),
    # "Download our free guide" (not "visit medicare.gov to get a free copy": a referral is content)
    _rule("free complimentary", r"\b(?:download|grab|claim)\s+(?:our|your|a)\s+(?:free|complimentary)\b"
          r"|\bget\s+our\s+(?:free|complimentary)\b"),
    _rule("us our", _is_contact_us),
    _rule("contact call visit email mail message book reach touch", _is_named_contact),
    _rule("appointment consultation session visit evaluation assessment screening call"
          " & book schedule request reserve make arrange set", _is_booking),
    _rule(_NAMES_SITE, _is_site_contact),
]


# --------------------------------------------------------------------------- promotion

# The last word of a practice's name: "Mayo Clinic", "Harbour Physio", "Spine Centre".
_ORG_WORDS = (
    "clinic clinics center centre hospital institute physio physiotherapy therapy health healthcare"
    " medical practice rehab rehabilitation chiropractic wellness spine sports group associates"
)
_ORG = (
    r"(?-i:(?:the\s+)?(?:[A-Z][\w&'’.-]*\s+){0,5}(?:Clinic|Clinics|Center|Centre|Hospital|Institute|Physio"
    r"|Physiotherapy|Therapy|Health|Healthcare|Medical|Practice|Rehab|Rehabilitation|Chiropractic|Wellness"
    r"|Spine|Sports|Group|Associates))"
)
_STAFF = (
    r"(?:team|specialists?|experts?|therapists?|physiotherapists?|physical\s+therapists?|chiropractors?"
    r"|doctors?|physicians?|surgeons?|staff|clinicians?|practitioners?|providers?|clinics?|practice"
    r"|cent(?:re|er)s?|office|facility|facilities|services?|programs?|programmes?)"
)


def _is_site_promotion(s: _Sentence) -> bool:
    return s.site is not None and s.site.promotion.search(s.text) is not None


_PROMOTION = [
    # "At The Spinal Decompression Center, we ...", "Here at our clinic ..."
    _rule("we our us & at", rf"^(?:here\s+)?at\s+(?:{_NAME}\s*,?\s+(?:we|our|us)\b"
          r"|our\s+(?:clinic|practice|cent(?:re|er)|office|facility|studio|gym|location)s?\b)"),
    # "At Riverside Sports Clinic, physiotherapists ...": a sentence opened by a practice's name.
    _rule(f"{_ORG_WORDS} & at", rf"^(?:here\s+)?at\s+{_ORG}(?:[’']s)?\s*,"),
    # "Our team is dedicated to ...", "our therapists will design ..."
    _rule("our", rf"\bour\s+(?:[\w-]+,?\s+){{0,3}}?{_STAFF}\s+"
          r"(?:(?:is|are)\s+(?:\w+\s+)?(?:dedicated|committed|here|ready|happy|proud|passionate|trained"
          r"|certified|skilled|experienced|specially|highly|available|able\s+to\s+help)"
          r"|(?:(?:also|can|will|would|[’']ll)\s+)*(?:help|offers?|provides?|speciali[sz]es?|tailors?"
          r"|designs?|creates?|works?\s+(?:with|closely)|guides?|combines?|treats?"
          r"|ha(?:s|ve)\s+(?:years|decades|helped|treated)|uses?|utili[sz]es?|strives?|look\s+forward"
          r"|would\s+love|welcomes?))\b"),
    # "We offer ...", "we pride ourselves ...", "we'll help you find the right balance"
    _rule("we", rf"{_CLAUSE}we\s+(?:also\s+|now\s+|proudly\s+)?(?:offer|provide|speciali[sz]e"
          r"|are\s+(?:proud|committed|dedicated|passionate)|pride\s+ourselves|have\s+helped|[’']ve\s+helped"
          r"|accept|welcome|serve)\b"
          r"|\bwe(?:[’']ll|\s+will|\s+can|\s+are\s+here\s+to|\s+would\s+love\s+to|[’']d\s+love\s+to"
          r"|\s+are\s+happy\s+to)\s+help\s+you\b|\bwe\s+look\s+forward\s+to\b"),
    _rule("us", r"\blet\s+us\s+help\b"),
    # testimonials: a quote with its attribution, stars, "I highly recommend this clinic"
    _rule("", r"^[“\"][^”\"]{10,}[”\"]\s*[-–—―]\s*\S"),
    _rule("recommend five stars star",
          r"\bI\s+(?:would\s+|highly\s+|strongly\s+|definitely\s+)*recommend\s+(?:(?:this|the)\s+(?:clinic"
          r"|practice|team|staff|cent(?:re|er)|place|office|service)|them\b|(?-i:Dr\.?\s+[A-Z]))"
          r"|\b(?:five|5)[- ]stars?\b"),
    _rule(_NAMES_SITE, _is_site_promotion),
]


# --------------------------------------------------------------------------- meta

_META = [
    # "In this blog, we'll explore ...", "In this article you will learn ..."
    _rule(f"{_DOC_WORDS} & in",
          r"^(?:(?:so|now|today|below|here|first),?\s+)?in\s+(?:this|today[’']s"
          rf"|the\s+(?:following|next|sections?\s+below))\s+{_DOC_NOUN}\s*,?\s+"
          r"(?:we|I|you[’']ll|you\s+will|you\s+can|let[’']s|learn|discover)\b"),
    # "This section will cover ...", "This post explores ...", "The purpose of this post is ..."
    _rule(f"{_DOC_WORDS} & this today",
          rf"\b(?:this|today[’']s)\s+{_DOC_NOUN}\s+(?:will|is\s+going\s+to|aims\s+to|explores|covers"
          r"|discusses|describes|explains|outlines|looks\s+at|reviews|focuses\s+on|walks|gives|offers"
          r"|answers|highlights|breaks\s+down|dives|provides\s+(?:an?\s+)?(?:overview|guide|summary|look))\b"
          rf"|^the\s+(?:main\s+)?(?:purpose|aim|goal|point|focus|objective)\s+of\s+this\s+{_DOC_NOUN}\b"),
    # "In our previous blog post ...", "as I wrote in my last article"
    _rule(f"{_DOC_WORDS} & previous last earlier recent prior next upcoming other related companion",
          r"\b(?:in|from|see)\s+(?:our|my|a|an|the)\s+(?:previous|last|earlier|recent|prior|next"
          rf"|upcoming|other|related|companion)\s+{_DOC_NOUN}"),
    # "you may be wondering ...", "Here's what you need to know.", "Read on to ..."
    _rule("wonder wondering wondered asking",
          r"\byou(?:\s+(?:may|might|could)(?:\s+(?:be|have(?:\s+been)?))?|[’']re|\s+are)"
          r"\s+(?:probably\s+|likely\s+)?(?:wonder|wondering|wondered|asking\s+yourself)\b"
          r"|^wondering\s+(?:if|whether|what|how|why|about)\b"),
    _rule("know & here", r"\bhere(?:[’']s|\s+is|\s+are)\s+(?:what|everything|all)\s+(?:you\s+)?"
          r"(?:need|should|want|ought)?\s*to\s+know\b"),
    _rule("read reading scroll", r"\b(?:read\s+on|keep\s+reading|continue\s+reading|scroll\s+down)"
          r"(?=\s+(?:to|for|and|below)\b|\s*[.!,:—–-]|\s*$)"),
    # "Let's look at ...", "Now that we've covered ..."
    _rule("let", r"^(?:(?:so|now|first|next|then|ok|okay|alright|well),?\s+)?let[’']?s\s+"
          r"(?:now\s+|first\s+)?(?:take\s+a\s+(?:closer\s+|quick\s+)?look|look|dive|delve|explore|discuss"
          r"|talk|break|start|get\s+started|go\s+over|find\s+out|see|begin|turn|move\s+on)\b"),
    _rule("covered discussed looked gone talked explored reviewed & now",
          r"^now\s+that\s+we(?:[’']ve|\s+have)\s+(?:covered|discussed|looked\s+at|gone\s+over"
          r"|talked\s+about|explored|reviewed)\b"),
    # "We'll explore ...", "Below, we explain the most common causes.", "Here, we look at ..."
    _rule("explore look cover discuss explain answer outline describe walk go dive delve break talk"
          " highlight unpack share & we i",
          rf"{_CLAUSE}(?:(?:below|today|here|first|next|now|then|finally),?\s+)?(?:we|I)\s*(?:[’']ll"
          r"|\s+will(?:\s+now)?|\s+are\s+going\s+to|\s+am\s+going\s+to|\s+want\s+to|\s+would\s+like\s+to)"
          r"\s+(?:explore|look\s+(?:at|into)|take\s+a\s+(?:closer\s+|quick\s+)?look|cover|discuss"
          r"|walk\s+you\s+through|go\s+(?:over|through)|dive|delve|break\s+down|talk\s+about|outline"
          r"|highlight|unpack|share\s+(?:some|a\s+few|our|my))\b"
          r"|^(?:here|below|today|now|next|first|in\s+this\s+\w+(?:\s+post)?)\s*,?\s+we\s+(?:explore"
          r"|look\s+at|discuss|cover|explain|answer|outline|describe|share|break\s+down|walk\s+you\s+through"
          r"|go\s+over)\b"),
    # "These tips should help ...", "We hope this article helped."
    _rule("tips pointers suggestions ideas", r"^(?:these|the\s+above|hopefully,?\s+these)\s+(?:tips"
          r"|pointers|suggestions|ideas)\s+(?:should|will|can|may|might|could)\s+help\b[^:]*$"),
    _rule("hope hopefully", r"\b(?:we|I)\s+hope\s+(?:that\s+)?(?:this|these|you\s+(?:found|enjoyed))\b"
          rf"|^hopefully,?\s+this\s+{_DOC_NOUN}\b"),
    # "The information in this article has been put together to help you ...", "This page is meant to"
    _rule(f"{_DOC_WORDS} information & put written created designed prepared intended meant",
          rf"\b(?:this|the)\s+(?:information\s+(?:in|on)\s+this\s+{_DOC_NOUN}|{_DOC_NOUN}|information)\s+"
          r"(?:has\s+been|was|is)\s+(?:put\s+together|written|created|designed|prepared|intended|meant)"
          r"\s+to\b"),
    # "Much of this information comes from ...", "Read about this topic in Spanish."
    _rule("information & comes came taken adapted drawn",
          r"^(?:(?:much|some|most|all)\s+of\s+)?(?:this|the\s+above|the)\s+information"
          rf"(?:\s+(?:in|on)\s+this\s+{_DOC_NOUN})?\s+(?:comes|came|(?:is|was)\s+(?:taken|adapted|drawn))"
          r"\s+(?:\w+\s+)?from\b"),
    _rule("spanish english french chinese arabic portuguese vietnamese korean russian languages",
          r"^(?:read|view|see)\s+(?:about\s+)?this\s+(?:topic|article|page|post)\s+in\s+\w+"
          r"|\bthis\s+(?:topic|article|page|post|information|fact\s+sheet)\s+is\s+(?:also\s+)?available"
          r"\s+in\b"),
    # "Please see our page on ...", "more tips in our guide", "explore the rest of this page"
    _rule(f"{_DOC_WORDS} website site topic resources & our this",
          r"\b(?:see|read|check\s+out|explore|browse)\s+(?:the\s+rest\s+of\s+)?(?:this|our)\s+"
          rf"(?:[\w-]+\s+){{0,3}}?(?:{_DOC_NOUN}|website|site|health\s+topic|resources?)(?:s|\(s\))?\b"
          r"|\b(?:in|on|from)\s+our\s+(?:[\w-]+\s+){0,3}?(?:guide|page|article|post|blog|website|site"
          r"|video|series)s?\b"),
]


# First kind that matches wins; all are non-content, so the order only picks the likelier name.
_KINDS = [
    _Kind.of("residue", [_rule("", _is_residue)]),
    _Kind.of("byline", [_rule("", _is_byline)]),
    _Kind.of("disclaimer", _DISCLAIMER),
    _Kind.of("call_to_action", _CALL_TO_ACTION),
    _Kind.of("promotion", _PROMOTION),
    _Kind.of("meta", _META),
]
