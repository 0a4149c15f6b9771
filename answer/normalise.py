"""Normalise what a patient sent before anything reads it: markup out, repeats collapsed, and a
long message cut to the question it asks.

The response still echoes the question exactly as sent; only the stages see the normalised text.
Triage reads the whole normalised message (a red flag can be buried anywhere in a story);
retrieval and coverage read its focus (the question itself), so a story's scenery (the dog, the
garden path, the commute) does not steer the answer.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning

#: Messages up to this many words are their own focus.
FOCUS_WORDS = 30
#: A first sentence this short reads as a subject line ("Ankle injury.", "Quick one about my
#: deadlift rehab.") and stays in the focus: the question that follows often relies on it.
SUBJECT_LINE_WORDS = 8

#: Sentences shorter than this are never dropped as repeats.
MIN_REPEAT_WORDS = 3

_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z!][^>]*>|&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);")
_SPACE = re.compile(r"\s+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=\S)|\n+")
_INTERROGATIVE = (
    r"(?:what|what's|whats|how|when|which|why|where|who|should|shall|can|could|is|are|am|do|does|"
    r"did|will|would|may|might|must|have|has|any|ok|okay)"
)
_ASKS = re.compile(
    rf"^\s*{_INTERROGATIVE}\b|\b(?:my question is|i want to know|i'd like to know|i would like to "
    rf"know|i was wondering|i wonder|please (?:tell|advise|suggest|help)|can you|could you|"
    rf"any (?:advice|tips|ideas|suggestions))\b",
    re.IGNORECASE,
)
# In a run-on without full stops, the question starts after the last connector before an
# interrogative: "... and my partner says I should rest, so what are the best exercises ...".
_RUN_ON_QUESTION = re.compile(
    rf"(?:^|[,;:]|\b(?:so|and|but|anyway|basically|because))\s+(?P<q>{_INTERROGATIVE}\b[^,;:]*)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class NormalisedQuestion:
    """The message as the stages read it."""

    text: str  # markup stripped, repeats collapsed, whitespace collapsed
    focus: str  # the question part (all of `text` for a short message)


def normalise_question(raw: str) -> NormalisedQuestion:
    """Strip markup, collapse repeated text, and find the question in a long message."""
    text = collapse_repeats(_SPACE.sub(" ", strip_markup(raw)).strip())
    return NormalisedQuestion(text, question_focus(text))


def strip_markup(text: str) -> str:
    """Visible text of HTML/XML markup (scripts and styles dropped, entities decoded)."""
    if not _MARKUP.search(text):
        return text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "head"]):
        tag.decompose()
    # Block-level tags end a thought: "<li>knee pain</li><li>saddle height?</li>" reads as two.
    for tag in soup(["p", "li", "div", "br", "tr", "h1", "h2", "h3", "h4", "h5", "h6"]):
        tag.insert_after("\n")
    visible = soup.get_text(" ")
    lines = [line.strip() for line in visible.splitlines() if line.strip()]
    return " ".join(line if line[-1] in ".!?:;," else line + "." for line in lines)


def collapse_repeats(text: str) -> str:
    """Repeated sentences kept once; a run of words repeated end to end kept once.

    Short replies ("No.", "Yes.") may rightly recur ("Numb? No. Weak? No.") and are kept.
    """
    seen: set[str] = set()
    kept = []
    for sentence in _SENTENCE.split(text):
        key = _SPACE.sub(" ", re.sub(r"[^\w\s]", "", sentence.lower())).strip()
        if key in seen and len(key.split()) >= MIN_REPEAT_WORDS:
            continue
        seen.add(key)
        kept.append(sentence)
    text = " ".join(kept)
    tokens = text.split()
    keys = [re.sub(r"[^\w]", "", t.lower()) for t in tokens]
    n = len(tokens)
    for period in range(1, n // 2 + 1):
        if all(keys[i] == keys[i - period] for i in range(period, n)):
            return " ".join(tokens[:period])
    return text


def split_sentences(text: str) -> list[str]:
    """The non-empty sentences of `text` (split after . ! ? and at line breaks)."""
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


def question_focus(text: str) -> str:
    """The question a long message asks (its subject line kept); short messages are their own."""
    if len(text.split()) <= FOCUS_WORDS:
        return text
    sentences = split_sentences(text)
    asking = [s for s in sentences if s.endswith("?") or _ASKS.search(s)]
    if not asking:
        match = _RUN_ON_QUESTION.search(sentences[-1]) if sentences else None
        if not match or len(match.group("q").split()) < 4:
            return text
        asking = [match.group("q").strip()]
    elif len(asking) == 1 and len(asking[0].split()) > FOCUS_WORDS:
        match = _RUN_ON_QUESTION.search(asking[0])
        if match and len(match.group("q").split()) >= 4:
            asking = [match.group("q").strip()]
    first = sentences[0]
    if first not in asking and len(first.split()) <= SUBJECT_LINE_WORDS:
        asking = [first, *asking]
    return " ".join(asking)
