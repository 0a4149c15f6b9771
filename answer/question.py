"""Read a question: validate it, normalise it, decide what retrieval looks for, encode it once."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Protocol

from groundedqa.answer.triage import Triage
from groundedqa.answer.types import MAX_SENTENCES_CAP, AnswerTuning, Query
from groundedqa.index.ports import Encoder


class InvalidQuestion(ValueError):
    """The question cannot be answered as given (empty, too long, control characters)."""


def validate_question(question: object, max_chars: int) -> str:
    """The question, stripped; InvalidQuestion with a message a patient can act on otherwise."""
    if not isinstance(question, str):
        raise InvalidQuestion("question must be a string")
    text = question.strip()
    if not text:
        raise InvalidQuestion("question is empty")
    if len(text) > max_chars:
        raise InvalidQuestion(f"question is too long ({len(text)} characters; the limit is {max_chars})")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t\r" for ch in text):
        raise InvalidQuestion("question contains control characters")
    return text


class QuestionReader(Protocol):
    """Turns what the patient sent into a Query (the only model call of a request)."""

    def read(self, question: str, max_sentences: int | None = None,
             history: Sequence[str] = ()) -> Query: ...


class PlainQuestionReader:
    """Validates, drops clauses that only deny red-flag symptoms, and encodes once."""

    def __init__(self, encoder: Encoder, triage: Triage, tuning: AnswerTuning) -> None:
        self.encoder = encoder
        self.triage = triage
        self.tuning = tuning

    def read(self, question: str, max_sentences: int | None = None,
             history: Sequence[str] = ()) -> Query:
        text = validate_question(question, self.tuning.max_question_chars)
        limit = self.tuning.max_sentences if max_sentences is None else max_sentences
        if not 1 <= limit <= MAX_SENTENCES_CAP:
            raise InvalidQuestion(f"max_sentences must be between 1 and {MAX_SENTENCES_CAP}")
        # Denied symptoms ("no numbness in my groin") would steer retrieval toward red-flag text,
        # so the one forward pass per query is spent on what is actually asked.
        search_text = self.triage.without_negated(text)
        vector = self.encoder.encode([search_text])[0]
        return Query(asked=text, text=text, search_text=search_text, vector=vector, limit=limit,
                     history=tuple(history))
