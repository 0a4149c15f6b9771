"""Pydantic models at the HTTP boundary (request validation and the OpenAPI docs)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr


class AnswerRequest(BaseModel):
    """POST /v1/answer body."""

    model_config = ConfigDict(extra="ignore")

    question: StrictStr = Field(..., description="The patient's question, in their own words.")
    max_sentences: StrictInt | None = Field(
        None, ge=1, le=20, description="How many quoted sentences at most (default 5)."
    )
    history: list[StrictStr] | None = Field(
        None, description="The patient's earlier messages in this conversation, oldest first "
        "(the most recent 10 are read; each is checked like `question`). The server keeps no "
        "conversation: send them with every message.")


class Citation(BaseModel):
    id: int
    doc_id: str
    title: str
    url: str | None
    quote: str = Field(..., description="Verbatim text of the document at [start, end).")
    start: int
    end: int
    score: float
    page: int | None = Field(
        None, description="Page of the source PDF the quote starts on (1 = first page); null for "
        "documents without pages (web pages, Word, text).",
    )
    doc_version: str | None = Field(
        None, description="The cited document's version (content hash): "
        "GET /v1/documents/{doc_id}?version=... serves the text these offsets index into.")
    section: list[str] = Field(
        default_factory=list, description="Heading path of the section the quote stands in, "
        "outermost first (may start with the article's title); empty outside any heading.")


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
    question: str = Field(..., description="The question as sent (surrounding spaces stripped).")
    urgent: bool = Field(..., description="The question describes red-flag symptoms.")
    urgent_message: str | None = Field(None, description="The seek-care message, when urgent.")
    abstained: bool = Field(..., description="No sentence is quoted: the articles do not cover "
                            "the question, it asks about medicines, or it is not in English.")
    message: str | None = Field(None, description="Why there is no answer, when abstained.")
    answer: str = Field(..., description="Seek-care message (if urgent), then the cited sentences "
                        "(for an urgent question: the articles' red flags for what was described).")
    confidence: float = Field(0.0, ge=0.0, le=1.0, description=(
        "How strongly the quoted evidence covers the question, 0..1: the best sentence's match "
        "score (cosine and word overlap) scaled by the share of the question's distinctive words "
        "(idf-weighted) the evidence contains; 0 when abstained. For an urgent answer, the urgent "
        "score of the clause that triggered it."))
    sentences: list[AnswerSentence]
    citations: list[Citation]
    blocks: list[AnswerBlock] = Field(
        ..., description="The same sentences grouped by article: one block per article, best "
        "first, never interleaved.")
    red_flags: list[RedFlag]
    disclaimer: str
    index: str = Field(..., description="Build id of the index that answered.")
    interpreted_as: str = Field("", description="What was searched, in the patient's own words: "
                                "the message, or for a follow-up the conversation's messages it "
                                "was read with (joined by \" … \").")
    context_used: bool = Field(False, description="Earlier messages (`history`) shaped this "
                               "answer: a follow-up resolved with them, or a red flag reported "
                               "earlier in the conversation.")
    answer_id: str = Field(..., description="Names this answer in POST /v1/feedback.")


class ErrorDetail(BaseModel):
    status: int
    code: str
    message: str
    request_id: str | None = Field(None, description="On 500s: the id to quote to support "
                                   "(also in the X-Request-ID header of every response).")


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
    doc_version: str | None = Field(None, description="The live version (content hash).")


class PageRange(BaseModel):
    page: int = Field(..., description="Page number in the source PDF (1 = first page).")
    start: int = Field(..., description="Offset in `text` of the page's first character.")
    end: int = Field(..., description="Offset in `text` just past the page's last character.")


class DocumentResponse(BaseModel):
    doc_id: str
    title: str
    url: str | None
    text: str = Field(..., description="The cleaned text that citation offsets index into.")
    metadata: dict
    references: list[str]
    pages: list[PageRange] = Field(
        default_factory=list,
        description="Where each source page's text lies in `text`, in order (PDF); empty for "
        "documents without pages. Pages without text (scans) are absent.",
    )
    doc_version: str | None = Field(None, description="The version served (content hash).")
    live: bool = Field(True, description="False for an earlier version, kept for old citations.")


class FeedbackRequest(BaseModel):
    """POST /v1/feedback body."""

    model_config = ConfigDict(extra="ignore")

    answer_id: StrictStr = Field(..., min_length=1, max_length=64,
                                 description="The answer's `answer_id`.")
    helpful: StrictBool = Field(..., description="Did the answer help?")
    comment: StrictStr | None = Field(None, max_length=2000,
                                      description="Optional words from the patient.")


class FeedbackResponse(BaseModel):
    answer_id: str
    helpful: bool
    stored: bool = True


class Health(BaseModel):
    status: str
    index: str | None
    documents: int
    replica: str  # hostname:pid (or GROUNDEDQA_REPLICA_ID): which replica answered


class WithdrawRequest(BaseModel):
    """`POST /v1/admin/documents/{doc_id}/withdraw`: why (recorded, never shown to patients)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: StrictStr = Field(..., min_length=1, max_length=2000,
                              description="Why the document is withdrawn (kept in the history).")
    by: StrictStr | None = Field(None, max_length=200, description="Who withdraws it (the "
                                 "console's user); recorded with the admin key's fingerprint.")


class RestoreRequest(BaseModel):
    """`POST /v1/admin/documents/{doc_id}/restore` (the body is optional)."""

    model_config = ConfigDict(extra="forbid")
    by: StrictStr | None = Field(None, max_length=200, description="Who restores it.")
