"""Read a question: validate it, normalise it, detect its language, decide what retrieval looks
for and which clauses triage reads, and encode all of them in ONE encoder call."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Protocol

from groundedqa.answer.conversation import without_topic_cue
from groundedqa.answer.language import ENGLISH, LanguageDetector
from groundedqa.answer.normalise import normalise_question
from groundedqa.answer.triage import Triage
from groundedqa.answer.types import MAX_HISTORY, MAX_SENTENCES_CAP, AnswerTuning, Query
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
    """Validates, normalises, drops clauses that deny symptoms, and encodes once: the question and
    the patient's earlier messages (`history`, oldest first) in ONE encoder call."""

    def __init__(self, encoder: Encoder, triage: Triage, tuning: AnswerTuning,
                 language: LanguageDetector | None = None) -> None:
        self.encoder = encoder
        self.triage = triage
        self.tuning = tuning
        self.language = language or LanguageDetector()

    def read(self, question: str, max_sentences: int | None = None,
             history: Sequence[str] = ()) -> Query:
        text = validate_question(question, self.tuning.max_question_chars)
        limit = self.tuning.max_sentences if max_sentences is None else max_sentences
        if not 1 <= limit <= MAX_SENTENCES_CAP:
            raise InvalidQuestion(f"max_sentences must be between 1 and {MAX_SENTENCES_CAP}")
        earlier = validate_history(history, self.tuning.max_question_chars)
        parts = [self._parts(t) for t in (*earlier, text)]
        texts = list(dict.fromkeys(t for p in parts for t in (p[2], *p[3])))
        vectors = self.encoder.encode(texts)  # the request's one model call
        row = {t: i for i, t in enumerate(texts)}
        queries = [
            Query(asked=asked, text=normal, search_text=search, vector=vectors[row[search]],
                  limit=limit, language=language, clauses=tuple(clauses),
                  clause_vectors=vectors[[row[c] for c in clauses]] if clauses else None)
            for asked, (normal, language, search, clauses) in zip((*earlier, text), parts)
        ]
        current = queries[-1]
        current.history = tuple(earlier)
        current.earlier = tuple(queries[:-1])
        return current

    def _parts(self, text: str) -> tuple[str, str, str, list[str]]:
        """(normalised text, language, what retrieval looks for, the clauses triage reads)."""
        normal = normalise_question(text)
        language = self.language.detect(normal.text)
        # Denied symptoms ("no numbness in my groin") would steer retrieval toward red-flag text,
        # so retrieval looks for the question's focus without them.
        search_text = (self.triage.without_negated(without_topic_cue(normal.focus))
                       if language == ENGLISH else normal.focus)
        return normal.text, language, search_text, self.triage.clause_texts(normal.text, language)


def validate_history(history: object, max_chars: int) -> list[str]:
    """The patient's earlier messages, each validated like a question (InvalidQuestion names the
    bad entry: "history[2]: question is empty"), the most recent MAX_HISTORY kept."""
    if history is None:
        return []
    if isinstance(history, (str, bytes)) or not isinstance(history, Sequence):
        raise InvalidQuestion("history must be a list of the patient's earlier messages")
    out = []
    for i, entry in enumerate(history):
        try:
            out.append(validate_question(entry, max_chars))
        except InvalidQuestion as exc:
            raise InvalidQuestion(f"history[{i}]: {exc}") from exc
    return out[-MAX_HISTORY:]
