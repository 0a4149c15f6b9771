"""Pydantic models at the HTTP boundary (request validation and the OpenAPI docs)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr


class AnswerRequest(BaseModel):
    """POST /v1/answer body."""

    model_config = ConfigDict(extra="ignore")

    question: StrictStr = Field(..., description="The patient's question, in their own words.")
    max_sentences: StrictInt | None = Field(
        None, ge=1, le=20, description="How many quoted sentences at most (default 5)."
    )


class Citation(BaseModel):
    id: int
    doc_id: str
    title: str
    url: str | None
    quote: str = Field(..., description="Verbatim text of the document at [start, end).")
    start: int
    end: int
    score: float


class RedFlagCitation(BaseModel):
    doc_id: str
    title: str
    url: str | None
    quote: str
    start: int
    end: int


class RedFlag(BaseModel):
    text: str
    citation: RedFlagCitation | None = Field(None, description="None for the clinic's own words.")


class AnswerSentence(BaseModel):
    text: str
    citations: list[int]


class AnswerBlock(BaseModel):
    doc_id: str
    title: str
    section: str | None = Field(None, description="Heading of the section quoted, if it has one.")
    sentences: list[AnswerSentence] = Field(
        ..., description="This article's quoted sentences, in its reading order.")


class AnswerResponse(BaseModel):
    question: str
    urgent: bool = Field(..., description="The question describes red-flag symptoms.")
    urgent_message: str | None = Field(None, description="The seek-care message, when urgent.")
    abstained: bool = Field(..., description="The articles do not cover the question.")
    message: str | None = Field(None, description="Why there is no answer, when abstained.")
    answer: str = Field(..., description="Seek-care message (if urgent), then the cited sentences.")
    sentences: list[AnswerSentence]
    citations: list[Citation]
    blocks: list[AnswerBlock] = Field(
        ..., description="The same sentences grouped by article: one block per article, best "
        "first, never interleaved.")
    red_flags: list[RedFlag]
    disclaimer: str
    index: str = Field(..., description="Build id of the index that answered.")


class ErrorDetail(BaseModel):
    status: int
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorDetail
    red_flags: list[RedFlag]
    disclaimer: str


class DocumentSummary(BaseModel):
    doc_id: str
    title: str
    url: str | None
    metadata: dict
    passages: int
    sentences: int


class DocumentResponse(BaseModel):
    doc_id: str
    title: str
    url: str | None
    text: str = Field(..., description="The cleaned text that citation offsets index into.")
    metadata: dict
    references: list[str]


class Health(BaseModel):
    status: str
    index: str | None
    documents: int
