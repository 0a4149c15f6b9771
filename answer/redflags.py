"""The clinic's red flags, disclaimer and messages, read from one editable TOML file."""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable


log = logging.getLogger("groundedqa.redflags")


class RedFlagError(ValueError):
    """The red-flag file is missing, malformed, or quotes text that is not in its article."""


@dataclass
class UrgentConcept:
    """A red-flag symptom as patients describe it (see corpus/redflags.toml).

    `phrasings` (English) and `languages` (language code -> phrasings) are the examples the urgent
    scorer learns from; `quotes` name the article red flags an urgent answer quotes for it.
    """

    name: str
    phrasings: list[str]
    languages: dict[str, list[str]] = field(default_factory=dict)
    quotes: list[str] = field(default_factory=list)

    def examples(self) -> list[tuple[str, str]]:
        """(language, phrasing) for every phrasing of this concept."""
        return [("en", p) for p in self.phrasings] + [
            (lang, p) for lang, items in self.languages.items() for p in items]


@dataclass
class RedFlag:
    """A warning shown with every answer: quoted from an article (with a citation) or boilerplate."""

    text: str
    doc_id: str | None = None
    citation: dict[str, Any] | None = None  # filled in when resolved against an index


@dataclass
class RedFlagConfig:
    """Everything in the red-flag file."""

    disclaimer: str
    seek_care_message: str
    abstain_message: str
    red_flags: list[RedFlag]
    concepts: list[UrgentConcept] = field(default_factory=list)
    #: Medication, dose and prescription questions get this instead of an answer.
    medication_message: str = ""
    #: Questions in a language the service does not answer in get this.
    language_message: str = ""
    #: A follow-up with nothing earlier to refer to ("what about the other one?") gets this.
    followup_message: str = ""
    #: Examples of what is NOT urgent, by kind (in_scope, denied, near_miss): the urgent scorer's
    #: negatives. Each kind may hold English phrasings and other languages under their codes.
    not_urgent: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def payload(self, withheld: Collection[str] = ()) -> list[dict[str, Any]]:
        """The `red_flags` field of a response. A flag quoting a withheld (withdrawn) document
        keeps its text, a safety warning, but not its citation: it reads as the clinic's own."""
        return [{"text": f.text, "citation": None if f.doc_id in withheld else f.citation}
                for f in self.red_flags]

    def concept_flags(self, name: str) -> list[RedFlag]:
        """The article red flags (resolved, with citations) an urgent answer about `name` quotes."""
        concept = next((c for c in self.concepts if c.name == name), None)
        if concept is None:
            return []
        by_text = {f.text: f for f in self.red_flags if f.citation is not None}
        return [by_text[q] for q in concept.quotes if q in by_text]


def load_redflags(path: Path) -> RedFlagConfig:
    """Read and validate the red-flag TOML (quotes are resolved later, against an index)."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RedFlagError(f"red-flag file {path} not found") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RedFlagError(f"red-flag file {path} is not valid TOML: {exc}") from exc
    try:
        flags = [_flag(entry) for entry in data.get("red_flags", [])]
        concepts = [_concept(entry) for entry in data.get("urgent_concepts", [])]
        abstain = _text(data, "abstain_message")
        config = RedFlagConfig(
            disclaimer=_text(data, "disclaimer"),
            seek_care_message=_text(data, "seek_care_message"),
            abstain_message=abstain,
            red_flags=flags,
            concepts=concepts,
            medication_message=_optional_text(data, "medication_message") or abstain,
            language_message=_optional_text(data, "language_message") or abstain,
            followup_message=_optional_text(data, "followup_message") or abstain,
            not_urgent=_not_urgent(data.get("not_urgent", {})),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RedFlagError(f"red-flag file {path}: {exc}") from exc
    if not flags:
        raise RedFlagError(f"red-flag file {path} lists no red flags")
    quoted = {f.text for f in flags if f.doc_id is not None}
    for concept in concepts:
        unknown = [q for q in concept.quotes if q not in quoted]
        if unknown:
            raise RedFlagError(f"red-flag file {path}: concept {concept.name!r} quotes "
                               f"{unknown[0]!r}, which is not one of the [[red_flags]] quotes")
    return config


def _text(data: dict, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise KeyError(f"'{key}' must be a non-empty string")
    return value.strip()


def _flag(entry: dict) -> RedFlag:
    if entry.get("boilerplate"):
        return RedFlag(text=_text(entry, "text"))
    return RedFlag(text=_text(entry, "quote"), doc_id=_text(entry, "doc_id"))


def _optional_text(data: dict, key: str) -> str | None:
    return _text(data, key) if key in data else None


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"'{where}' must be a list of strings")
    return [v.strip() for v in value if v.strip()]


def _languages(entry: dict, where: str) -> dict[str, list[str]]:
    value = entry.get("languages", {})
    if not isinstance(value, dict):
        raise TypeError(f"'{where}.languages' must be a table of language code = [phrasings]")
    return {str(code).lower(): _strings(items, f"{where}.languages.{code}")
            for code, items in value.items()}


def _concept(entry: dict) -> UrgentConcept:
    name = _text(entry, "name")
    phrasings = _strings(entry.get("phrasings", []), f"{name}.phrasings")
    if not phrasings:
        raise ValueError(f"urgent concept {name!r} has no phrasings")
    return UrgentConcept(name=name, phrasings=phrasings, languages=_languages(entry, name),
                         quotes=_strings(entry.get("quotes", []), f"{name}.quotes"))


def _not_urgent(value: Any) -> dict[str, list[tuple[str, str]]]:
    if not isinstance(value, dict):
        raise TypeError("[not_urgent] must be a table of kinds")
    out: dict[str, list[tuple[str, str]]] = {}
    for kind, entry in value.items():
        if not isinstance(entry, dict):
            raise TypeError(f"[not_urgent.{kind}] must be a table")
        examples = [("en", p) for p in _strings(entry.get("phrasings", []), f"{kind}.phrasings")]
        examples += [(lang, p) for lang, items in _languages(entry, kind).items() for p in items]
        out[str(kind)] = examples
    return out


def resolve_citations(config: RedFlagConfig, get_document: Callable[[str], Any]) -> RedFlagConfig:
    """Attach a citation (document, exact offsets) to every quoted red flag.

    `get_document(doc_id)` returns a stored document (`.text`, `.title`, `.metadata`) or None. A
    flag quoting a document this index does not hold is left out (with a warning), so one
    red-flag file can serve indexes of other corpora; the clinic's own boilerplate flags always
    remain. A quote that is not verbatim in a document the index does hold is an error: the
    clinic must see it rather than show an unsourced quote.
    """
    kept = []
    for flag in config.red_flags:
        if flag.doc_id is None:
            kept.append(flag)
            continue
        doc = get_document(flag.doc_id)
        if doc is None:
            log.warning("red flag %r left out: document %r is not in this index", flag.text, flag.doc_id)
            continue
        start = doc.text.find(flag.text)
        if start < 0:
            raise RedFlagError(
                f"red flag quote {flag.text!r} is not verbatim in document {flag.doc_id!r}"
            )
        flag.citation = {
            "doc_id": flag.doc_id, "title": doc.title, "url": doc.metadata.get("url"),
            "quote": flag.text, "start": start, "end": start + len(flag.text),
        }
        kept.append(flag)
    if not kept:
        raise RedFlagError("none of the red flags applies to this index: add boilerplate ones")
    return replace(config, red_flags=kept)
