"""Records passed between the answer stages, the tuning they share, and the typed Answer."""

from __future__ import annotations

import uuid
from functools import lru_cache
from dataclasses import dataclass, field, fields
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from groundedqa.settings import Settings

#: The most sentences any answer may quote (requests may ask for fewer).
MAX_SENTENCES_CAP = 20
#: The most recent earlier messages of a conversation a request reads (older ones are ignored).
MAX_HISTORY = 10


@dataclass(frozen=True)
class AnswerTuning:
    """Every number the answer stages use, in one frozen object built from the settings.

    Calibration notes are in the README ("How an answer is made").
    """

    #: Passages whose sections compete for the answer.
    top_passages: int = 24
    #: Below this score for the best sentence, the articles do not cover the question.
    abstain_below: float = 0.47
    #: A sentence's score (see answer/locate.py) blends its own cosine to the question (read
    #: with what it leans on), its section's best passage cosine, the share of the question's
    #: idf it holds, the share of the question's *distinctive* idf it holds (words most
    #: candidates lack: the named exercise, not the condition every article is about), whether
    #: it has the shape of an answer to the question's type, minus its cosine to its article's
    #: title (a sentence restating the topic answers nothing). Fitted as a listwise ranking of
    #: the ideal sentences of the tune split of eval/questions/answers.jsonl, cross-checked on
    #: seed-dev (README), then scaled so sentence + context weights sum to 1.
    sentence_weight: float = 0.46
    context_weight: float = 0.54
    lexical_weight: float = 0.26
    specific_weight: float = 0.27
    type_weight: float = 0.075
    echo_weight: float = 0.19
    #: Sections rank by their best sentence's score plus this weight x their retrieval gap
    #: (Candidate.retrieval: their best passage's retrieval score less the top one's, in the
    #: retriever's own units, so near-ties in a small corpus stay near-ties): whole passages judge
    #: which article answers better than one sentence does, the sentence scores judge what to
    #: quote from it. Chosen on answers.jsonl tune, seed-dev and mediqa2019-dev (README).
    retrieval_weight: float = 1.25
    #: A section quotes the sentences scoring within this share of the gap between its best
    #: sentence and the background (the median candidate) ...
    band_share: float = 0.15
    #: ... but never a band narrower than this.
    min_band: float = 0.02
    #: Another article is added (as its own block) only when its best section scores within this
    #: much of the best one: it answers nearly as well on its own. 0.02 let a second, off-topic
    #: article into a fifth of MEDIQA's answers (sentence precision 0.515 -> 0.530 at 0.005);
    #: the seed answers (tune, seed-dev) are the same at either.
    other_article_margin: float = 0.005
    #: Articles per answer at most.
    max_articles: int = 2
    #: Sentences per answer unless the request asks otherwise (labels ride with their sentence).
    max_sentences: int = 5
    max_question_chars: int = 1000

    @classmethod
    def of(cls, settings: Settings) -> "AnswerTuning":
        """The tuning a `Settings` object names (the rest keep their calibrated defaults)."""
        return cls(max_sentences=settings.max_sentences,
                   max_question_chars=settings.max_question_chars,
                   abstain_below=settings.abstain_below)


@dataclass
class Query:
    """A question as the stages see it."""

    asked: str  # exactly as sent (stripped): echoed in the response
    text: str  # validated and normalised: markup out, repeats collapsed (what triage reads)
    search_text: str  # what retrieval looks for: the question's focus, denied symptoms taken out
    vector: np.ndarray  # the encoding of `search_text`
    limit: int  # sentences at most
    history: tuple[str, ...] = ()
    language: str = "en"  # ISO 639-1 code of the question's language
    clauses: tuple[str, ...] = ()  # clauses describing what the patient has now (triage)
    clause_vectors: np.ndarray | None = None  # their encodings, from the same encoder call
    #: Ids of documents never to quote (withdrawn by the clinic), as of this request.
    withheld: frozenset[str] = frozenset()
    #: The patient's earlier messages (oldest first, the most recent MAX_HISTORY), read like this
    #: one and encoded in the same encoder call.
    earlier: tuple["Query", ...] = ()
    #: The words whose presence in the evidence decides coverage (default: `search_text`); for a
    #: follow-up, the message's own words rather than the subject carried over.
    subject_text: str | None = None
    #: The best sentence score under which coverage abstains, when not the tuning's (a follow-up
    #: on a covered subject: its words are diluted by the carried ones).
    abstain_below: float | None = None

    @property
    def subject(self) -> str:
        return self.search_text if self.subject_text is None else self.subject_text


@dataclass
class Candidate:
    """A quotable sentence and how well it answers the query."""

    sentence: int  # row in the build
    doc_idx: int
    score: float
    text: str
    section: int = -1  # first row of its section (see SentenceStore.section)
    #: How far below the top retrieved passage its section's best passage scored (0 for the top
    #: passage's section, negative for the others, in the retriever's units).
    retrieval: float = 0.0


@dataclass(frozen=True)
class Coverage:
    """Whether the evidence covers what was asked, and how strongly (0..1).

    `reason` says why an uncovered question is not answered: "not_covered" (the articles do not
    discuss what was asked), "medication" (medicines, doses, prescriptions: the patient's doctor
    or pharmacist answers those), "language" (not written in English) or "followup" (a follow-up
    with nothing earlier in the conversation to refer to).
    """

    covered: bool
    confidence: float
    reason: str | None = None
    uncovered_terms: tuple[str, ...] = ()  # the question's distinctive words the evidence lacks


@dataclass(frozen=True)
class Citation:
    id: int
    doc_id: str
    title: str
    url: str | None
    quote: str
    start: int
    end: int
    score: float
    #: The cited document's content hash: /v1/documents/{doc_id}?version= serves that text.
    doc_version: str | None = None
    page: int | None = None  # source page the quote starts on (PDF); None without pages
    section: tuple[str, ...] = ()  # heading path of the quote's section, outermost first


@dataclass(frozen=True)
class AnswerSentence:
    text: str
    citations: tuple[int, ...]


@dataclass(frozen=True)
class AnswerBlock:
    """The sentences quoted from one article, in its reading order."""

    doc_id: str
    title: str
    sentences: tuple[AnswerSentence, ...]
    section: str | None = None  # the heading of the section quoted, when it has one


@dataclass(frozen=True)
class Answer:
    """The response to one question (POST /v1/answer's body is `to_dict()`)."""

    question: str
    urgent: bool
    urgent_message: str | None
    abstained: bool
    message: str | None
    answer: str
    sentences: tuple[AnswerSentence, ...]
    citations: tuple[Citation, ...]
    blocks: tuple[AnswerBlock, ...]
    red_flags: tuple[dict[str, Any], ...]
    disclaimer: str
    index: str
    confidence: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    #: Names this answer in feedback (POST /v1/feedback).
    answer_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    #: The question's texts this request encoded, with their vectors (not part of the body): the
    #: coverage-gap record reuses the question's vector instead of running the model again.
    encoded: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (the HTTP body, `ask --json`, the eval)."""
        body = {f.name: _plain(getattr(self, f.name)) for f in _fields(Answer)
                if f.name not in _NOT_IN_BODY}
        return {**body, **_plain(self.extra)}


#: Answer fields that are not keys of the body (`extra`'s keys are).
_NOT_IN_BODY = frozenset({"extra", "encoded"})


def _plain(value: Any) -> Any:
    """`dataclasses.asdict` with lists for tuples (the records are immutable; JSON and the
    clients expect lists), without asdict's deep copy of every leaf: it ran on every answer."""
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _plain(getattr(value, f.name)) for f in _fields(type(value))}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@lru_cache(maxsize=None)
def _fields(cls: type) -> tuple[Any, ...]:
    return fields(cls)
