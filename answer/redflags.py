"""The clinic's red flags, disclaimer and messages, read from one editable TOML file."""

from __future__ import annotations

import logging
import re
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
    """A red-flag symptom as patients describe it (see corpus/redflags.toml)."""

    name: str
    statements: list[str]
    terms: re.Pattern[str]
    cues: re.Pattern[str] | None


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

    def payload(self, withheld: Collection[str] = ()) -> list[dict[str, Any]]:
        """The `red_flags` field of a response. A flag quoting a withheld (withdrawn) document
        keeps its text, a safety warning, but not its citation: it reads as the clinic's own."""
        return [{"text": f.text, "citation": None if f.doc_id in withheld else f.citation}
                for f in self.red_flags]

    def statements(self) -> list[str]:
        """Texts the urgent check compares a question with: every red flag and concept statement."""
        return [f.text for f in self.red_flags] + [s for c in self.concepts for s in c.statements]


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
        config = RedFlagConfig(
            disclaimer=_text(data, "disclaimer"),
            seek_care_message=_text(data, "seek_care_message"),
            abstain_message=_text(data, "abstain_message"),
            red_flags=flags,
            concepts=concepts,
        )
    except (KeyError, TypeError, re.error) as exc:
        raise RedFlagError(f"red-flag file {path}: {exc}") from exc
    if not flags:
        raise RedFlagError(f"red-flag file {path} lists no red flags")
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


def _concept(entry: dict) -> UrgentConcept:
    cues = entry.get("cues")
    return UrgentConcept(
        name=_text(entry, "name"),
        statements=[s for s in entry.get("statements", []) if isinstance(s, str) and s.strip()],
        terms=re.compile(_text(entry, "terms"), re.IGNORECASE),
        cues=re.compile(cues, re.IGNORECASE) if cues else None,
    )


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
