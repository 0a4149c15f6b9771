"""`eval grounding`: re-verify every answer against the index and score it per question kind.

Nothing in a response is trusted: each citation's quote is compared with the document text fetched
independently (from the index in-process, or from GET /v1/documents over HTTP), and each sentence
must stand inside the span its citation names.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

from groundedqa.eval.clients import AnswerClient, AnswerFailed

T = TypeVar("T")

KINDS = ("answer", "abstain", "urgent")
#: An expected document must be among this many distinct cited documents to count as answered.
CITED_DOCS_CONSIDERED = 3

GetText = Callable[[str], "str | None"]


# ------------------------------------------------------------------------------------------------
# Question files
# ------------------------------------------------------------------------------------------------

class QuestionFileError(ValueError):
    """A question file that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Question:
    """One line of a question file."""

    question: str
    kind: str
    docs: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    split: str | None = None
    line: int = 0
    category: str | None = None  # e.g. urgent, denied, near_topic, control, other_language
    abstain: bool | None = None  # expected abstention when the file says (else: kind == abstain)

    @property
    def expects_abstention(self) -> bool:
        """Whether the response should carry no quoted sentences."""
        return self.abstain if self.abstain is not None else self.kind == "abstain"


def parse_question(obj: Any, where: str, line: int = 0) -> Question:
    """Validate one decoded JSON line (`where` prefixes errors); unknown fields are ignored."""
    if not isinstance(obj, dict):
        raise QuestionFileError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    text = obj.get("question")
    if not isinstance(text, str) or not text.strip():
        raise QuestionFileError(f"{where}: 'question' must be a non-empty string")
    kind = obj.get("kind")
    if kind not in KINDS:
        raise QuestionFileError(f"{where}: 'kind' must be one of {', '.join(KINDS)}, got {kind!r}")
    lists = {}
    for key in ("docs", "phrases"):
        value = obj.get(key, [])
        if value is None:
            value = []
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise QuestionFileError(f"{where}: '{key}' must be a list of non-empty strings")
        lists[key] = tuple(value)
    labels = {}
    for key in ("split", "category"):
        value = obj.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise QuestionFileError(f"{where}: '{key}' must be a non-empty string when given")
        labels[key] = value
    abstain = obj.get("abstain")
    if abstain is not None and not isinstance(abstain, bool):
        raise QuestionFileError(f"{where}: 'abstain' must be true or false when given")
    if kind == "abstain" and abstain is False:
        raise QuestionFileError(f"{where}: kind 'abstain' contradicts \"abstain\": false")
    return Question(text, kind, lists["docs"], lists["phrases"], labels["split"], line,
                    labels["category"], abstain)


def load_questions(path: Path) -> list[Question]:
    """Read a JSONL question file (blank lines skipped); QuestionFileError names the bad line."""
    return parse_questions(read_question_file(path), str(path))


def read_question_file(path: Path) -> str:
    """The text of a question file; QuestionFileError when it is missing or unreadable."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise QuestionFileError(f"{path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionFileError(f"{path}: cannot read: {exc}") from exc


def parse_questions(text: str, name: str) -> list[Question]:
    """The questions of JSONL `text` (an uploaded file); errors are prefixed `name:line`."""
    return parse_jsonl(text, name, parse_question, "questions")


def parse_jsonl(text: str, name: str, parse: Callable[[Any, str, int], T], noun: str) -> list[T]:
    """`parse(object, "name:line", line)` of every non-blank line of JSONL `text`;
    QuestionFileError for a line that is not JSON, or no lines at all."""
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QuestionFileError(f"{name}:{n}: not valid JSON ({exc.msg})") from exc
        out.append(parse(obj, f"{name}:{n}", n))
    if not out:
        raise QuestionFileError(f"{name}: no {noun}")
    return out


# ------------------------------------------------------------------------------------------------
# Verifying one response
# ------------------------------------------------------------------------------------------------

_FIELDS: dict[str, type] = {
    "question": str, "answer": str, "sentences": list, "citations": list,
    "abstained": bool, "urgent": bool, "red_flags": list, "disclaimer": str,
}
_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
#: Fields holding the service's own declared wording, which may appear in `answer` unquoted.
_DECLARED_MESSAGES = ("urgent_message", "message")


@dataclass
class GroundingCheck:
    """What verifying one response found: problems in words, and the counts metrics add up."""

    problems: list[str] = field(default_factory=list)
    sentences: int = 0
    grounded_sentences: int = 0  # at least one citation's verified span contains the sentence
    cited_sentences: int = 0  # at least one citation id at all
    citation_links: int = 0  # (sentence, cited id) pairs
    precise_links: int = 0  # ... whose verified span contains the sentence
    safety_ok: bool = False  # red flags and disclaimer present and sound


def _collapse(text: str) -> str:
    return " ".join(text.split())


class _Spans:
    """Verifies citation spans against independently fetched document text (each doc once)."""

    def __init__(self, get_text: GetText) -> None:
        self._get_text = get_text
        self._texts: dict[str, str | None] = {}

    def verify(self, label: str, citation: Any, problems: list[str]) -> str | None:
        """The document text at the citation's offsets if it equals the quote, else None."""
        if not isinstance(citation, dict):
            problems.append(f"{label} is not an object")
            return None
        doc_id, start, end, quote = (citation.get(k) for k in ("doc_id", "start", "end", "quote"))
        if not isinstance(doc_id, str) or not isinstance(quote, str):
            problems.append(f"{label} lacks a doc_id or quote")
            return None
        if not (isinstance(start, int) and isinstance(end, int)) or isinstance(start, bool):
            problems.append(f"{label} lacks integer start/end offsets")
            return None
        if doc_id not in self._texts:
            self._texts[doc_id] = self._get_text(doc_id)
        text = self._texts[doc_id]
        if text is None:
            problems.append(f"{label} points to unknown document {doc_id!r}")
            return None
        if not 0 <= start < end <= len(text):
            problems.append(f"{label} offsets {start}-{end} fall outside {doc_id!r} "
                            f"({len(text)} characters)")
            return None
        span = text[start:end]
        if span != quote:
            problems.append(f"{label} quote differs from {doc_id!r} at {start}-{end}: "
                            f"the document reads {_excerpt(span)!r}")
            return None
        return span


def _excerpt(text: str, limit: int = 80) -> str:
    text = _collapse(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_response(response: Any, get_text: GetText) -> GroundingCheck:
    """Verify one /v1/answer body against document text from `get_text(doc_id)` (None = unknown).

    Checks: the required fields and their types; every citation's quote equals the document text
    at its offsets; every sentence has a citation and stands inside a cited span; the shown answer
    is exactly the sentences plus citation markers and the service's declared messages; red flags
    (with any citation verified the same way) and a disclaimer are present.
    """
    check = GroundingCheck()
    problems = check.problems
    if not isinstance(response, dict):
        problems.append(f"response is not a JSON object ({type(response).__name__})")
        return check
    for name, kind in _FIELDS.items():
        if name not in response:
            problems.append(f"missing field '{name}'")
        elif not isinstance(response[name], kind):
            problems.append(f"field '{name}' should be {kind.__name__}, "
                            f"got {type(response[name]).__name__}")
    body = {k: response.get(k) for k in _FIELDS if isinstance(response.get(k), _FIELDS[k])}
    spans = _Spans(get_text)

    verified = _check_citations(body.get("citations", []), spans, problems)
    _check_sentences(body.get("sentences", []), verified, check)
    if "answer" in body and "sentences" in body:
        _check_shown_answer(response, body, verified, problems)
    if "abstained" in body and "sentences" in body and body["abstained"] == bool(body["sentences"]):
        problems.append("abstained but has sentences" if body["abstained"]
                        else "not abstained but has no sentences")
    check.safety_ok = _check_safety(response, spans, problems)
    return check


def verify_response(response: Any, get_text: GetText) -> list[str]:
    """The problems `check_response` finds, in words (empty when the response is sound)."""
    return check_response(response, get_text).problems


def _check_citations(citations: list, spans: _Spans, problems: list[str]) -> dict[int, str | None]:
    """Citation id -> verified span text (None when the span does not hold up)."""
    verified: dict[int, str | None] = {}
    for i, citation in enumerate(citations):
        cid = citation.get("id") if isinstance(citation, dict) else None
        if not isinstance(cid, int) or isinstance(cid, bool):
            problems.append(f"citation #{i + 1} has no integer id")
            continue
        if cid in verified:
            problems.append(f"citation id [{cid}] is used twice")
            continue
        verified[cid] = spans.verify(f"citation [{cid}]", citation, problems)
    return verified


def _check_sentences(sentences: list, verified: dict[int, str | None], check: GroundingCheck) -> None:
    for n, sentence in enumerate(sentences, start=1):
        check.sentences += 1
        text = sentence.get("text") if isinstance(sentence, dict) else None
        ids = sentence.get("citations") if isinstance(sentence, dict) else None
        if not isinstance(text, str) or not text.strip():
            check.problems.append(f"sentence {n} has no text")
            continue
        if not isinstance(ids, list) or not ids:
            check.problems.append(f"sentence {n} has no citation: {_excerpt(text)!r}")
            continue
        check.cited_sentences += 1
        grounded = False
        for cid in ids:
            check.citation_links += 1
            if not isinstance(cid, int) or cid not in verified:
                check.problems.append(f"sentence {n} cites [{cid}], which is not among the citations")
                continue
            span = verified[cid]
            if span is None:
                continue  # the citation's own problem is already recorded
            if text in span:
                check.precise_links += 1
                grounded = True
            else:
                check.problems.append(f"sentence {n} is not in the span of citation [{cid}]: "
                                      f"{_excerpt(text)!r}")
        check.grounded_sentences += grounded


def _check_shown_answer(response: dict, body: dict, verified: dict, problems: list[str]) -> None:
    """The text a patient reads must be the sentences, markers and declared messages only."""
    shown = body["answer"]
    for key in _DECLARED_MESSAGES:
        message = response.get(key)
        if isinstance(message, str) and message.strip():
            shown = shown.replace(message, " ")
    for marker in _MARKER.findall(shown):
        for cid in (int(x) for x in marker.split(",")):
            if cid not in verified:
                problems.append(f"answer shows marker [{cid}], which is not among the citations")
    shown = _collapse(_MARKER.sub(" ", shown))
    texts = [s.get("text") for s in body["sentences"] if isinstance(s, dict)]
    expected = _collapse(" ".join(t for t in texts if isinstance(t, str)))
    if shown != expected:
        at = next((i for i, (a, b) in enumerate(zip(shown, expected, strict=False)) if a != b),
                  min(len(shown), len(expected)))
        problems.append(f"answer text is not exactly its cited sentences: from {_excerpt(shown[at:])!r} "
                        f"where the sentences read {_excerpt(expected[at:])!r}")


def _check_safety(response: dict, spans: _Spans, problems: list[str]) -> bool:
    """Red flags (each with text, any citation verified) and a disclaimer; True when all hold.

    A missing or mistyped field is already reported by the field check, so only emptiness and
    the flags' own faults are added here.
    """
    before = len(problems)
    flags = response.get("red_flags")
    disclaimer = response.get("disclaimer")
    present = isinstance(flags, list) and bool(flags) and isinstance(disclaimer, str)
    if isinstance(flags, list) and not flags:
        problems.append("no red flags")
    for n, flag in enumerate(flags if isinstance(flags, list) else [], start=1):
        text = flag.get("text") if isinstance(flag, dict) else None
        if not isinstance(text, str) or not text.strip():
            problems.append(f"red flag {n} has no text")
            continue
        citation = flag.get("citation")
        if citation is None:
            continue  # the clinic's own words, shown without a source
        span = spans.verify(f"red flag {n} citation", citation, problems)
        if span is not None and text not in span:
            problems.append(f"red flag {n} is not in its cited span: {_excerpt(text)!r}")
    if isinstance(disclaimer, str) and not disclaimer.strip():
        problems.append("disclaimer is empty")
    return present and len(problems) == before


# ------------------------------------------------------------------------------------------------
# Scoring questions
# ------------------------------------------------------------------------------------------------

@dataclass
class QuestionResult:
    """One question, its response, and what failed (grounding problems and kind expectations)."""

    question: Question
    response: dict | None
    check: GroundingCheck
    abstained: bool = False
    urgent: bool = False
    cited_docs: list[str] = field(default_factory=list)
    kind_ok: bool = False  # answered / abstained / flagged urgent, as the kind expects
    failures: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.failures


def _normalize(text: str) -> str:
    return _collapse(text.replace("\u2019", "'").lower())


def _items(response: dict, key: str) -> list[dict]:
    """The dict items of a list field, tolerating a malformed body (already reported)."""
    value = response.get(key)
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def cited_documents(response: dict) -> list[str]:
    """Distinct cited document ids in the order the sentences cite them."""
    by_id = {c.get("id"): c.get("doc_id") for c in _items(response, "citations")
             if isinstance(c.get("id"), int)}
    docs: list[str] = []
    for sentence in _items(response, "sentences"):
        ids = sentence.get("citations")
        for cid in ids if isinstance(ids, list) else []:
            doc = by_id.get(cid) if isinstance(cid, int) else None
            if isinstance(doc, str) and doc not in docs:
                docs.append(doc)
    return docs


def score_question(question: Question, response: dict, get_text: GetText) -> QuestionResult:
    """Verify `response` and judge it against what the question's kind expects."""
    check = check_response(response, get_text)
    ok_body = isinstance(response, dict)
    result = QuestionResult(
        question, response if ok_body else None, check,
        abstained=ok_body and response.get("abstained") is True,
        urgent=ok_body and response.get("urgent") is True,
        cited_docs=cited_documents(response) if ok_body else [],
    )
    failures = result.failures
    if question.kind == "answer":
        failures.extend(_answer_failures(question, response if ok_body else {}, result))
        result.kind_ok = not failures
    elif question.kind == "abstain":
        result.kind_ok = result.abstained
        if not result.abstained:
            failures.append("answered, but the articles do not cover this question "
                            "(expected an abstention)")
    else:
        result.kind_ok = result.urgent
        if not result.urgent:
            failures.append("red-flag symptoms were not flagged urgent")
    if question.kind != "urgent" and result.urgent:
        failures.append("flagged urgent, but the question describes no red-flag symptoms")
    failures.extend(check.problems)
    return result


def _answer_failures(question: Question, response: dict, result: QuestionResult) -> list[str]:
    sentences = _items(response, "sentences")
    if result.abstained or not sentences:
        return ["abstained, but the articles answer this question"]
    out = []
    top = result.cited_docs[:CITED_DOCS_CONSIDERED]
    if question.docs and not set(question.docs) & set(top):
        out.append(f"none of the expected documents ({', '.join(question.docs)}) among the first "
                   f"{CITED_DOCS_CONSIDERED} cited ({', '.join(top) or 'none'})")
    if question.phrases:
        said = _normalize(" ".join(s["text"] for s in sentences if isinstance(s.get("text"), str)))
        if not any(_normalize(p) in said for p in question.phrases):
            out.append("no expected phrase in the answer (wanted one of: "
                       + "; ".join(repr(p) for p in question.phrases) + ")")
    return out


def failed_question(question: Question, error: str, seconds: float = 0.0) -> QuestionResult:
    """A question whose request failed: it fails every expectation, with the error as the reason."""
    return QuestionResult(question, None, GroundingCheck(problems=[f"request failed: {error}"]),
                          failures=[f"request failed: {error}"], error=error, seconds=seconds)


# ------------------------------------------------------------------------------------------------
# Aggregate metrics and thresholds
# ------------------------------------------------------------------------------------------------

@dataclass
class Metrics:
    """Rates over a set of results; None where nothing was there to measure."""

    questions: int
    passed: int
    errors: int
    kinds: dict[str, int]
    sentences: int
    grounded_rate: float | None
    citation_recall: float | None
    citation_precision: float | None
    answered_rate: float | None
    abstention_rate: float | None
    urgent_recall: float | None
    false_urgent_rate: float | None
    safety_rate: float | None
    #: Of the responses that abstained, the share whose question expected it.
    abstention_precision: float | None = None
    #: Of the questions that expect an abstention (kind abstain, or "abstain": true), the share
    #: that got one.
    abstention_recall: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rate(hits: int, total: int) -> float | None:
    return hits / total if total else None


def aggregate(results: list[QuestionResult]) -> Metrics:
    """Grounding rates over all sentences (and citation links); kind rates over their questions."""
    of_kind = {k: [r for r in results if r.question.kind == k] for k in KINDS}
    not_urgent = of_kind["answer"] + of_kind["abstain"]
    checks = [r.check for r in results]
    abstained = [r for r in results if r.abstained]
    expected = [r for r in results if r.question.expects_abstention]
    return Metrics(
        questions=len(results),
        passed=sum(r.passed for r in results),
        errors=sum(r.error is not None for r in results),
        kinds={k: len(v) for k, v in of_kind.items()},
        sentences=sum(c.sentences for c in checks),
        grounded_rate=_rate(sum(c.grounded_sentences for c in checks), sum(c.sentences for c in checks)),
        citation_recall=_rate(sum(c.cited_sentences for c in checks), sum(c.sentences for c in checks)),
        citation_precision=_rate(sum(c.precise_links for c in checks),
                                 sum(c.citation_links for c in checks)),
        answered_rate=_rate(sum(r.kind_ok for r in of_kind["answer"]), len(of_kind["answer"])),
        abstention_rate=_rate(sum(r.kind_ok for r in of_kind["abstain"]), len(of_kind["abstain"])),
        urgent_recall=_rate(sum(r.kind_ok for r in of_kind["urgent"]), len(of_kind["urgent"])),
        false_urgent_rate=_rate(sum(r.urgent for r in not_urgent), len(not_urgent)),
        safety_rate=_rate(sum(c.safety_ok for c in checks), len(results)),
        abstention_precision=_rate(sum(r.question.expects_abstention for r in abstained),
                                   len(abstained)),
        abstention_recall=_rate(sum(r.abstained for r in expected), len(expected)),
    )


@dataclass(frozen=True)
class Threshold:
    """A bound on one metric: a floor, or a ceiling when `ceiling` is set."""

    option: str
    metric: str
    bound: float
    ceiling: bool = False

    def missed(self, value: float | None) -> bool:
        # A metric with nothing to measure (e.g. no urgent questions in the file) cannot miss.
        if value is None:
            return False
        return value > self.bound if self.ceiling else value < self.bound

    def describe(self, value: float) -> str:
        sign = ">" if self.ceiling else "<"
        return f"{self.metric} {value:.3f} {sign} {self.bound:g} ({self.option})"


#: The CLI options, their metrics and defaults: the clinic-facing goals (every emergency flagged,
#: at most 2 in 100 other questions flagged, 9 in 10 uncovered questions declined, 19 in 20
#: covered ones answered, every sentence grounded, red flags and disclaimer on every response).
DEFAULT_THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("--min-grounded", "grounded_rate", 1.0),
    Threshold("--min-citation-recall", "citation_recall", 1.0),
    Threshold("--min-citation-precision", "citation_precision", 1.0),
    Threshold("--min-answered", "answered_rate", 0.95),
    Threshold("--min-abstained", "abstention_rate", 0.9),
    Threshold("--min-urgent-recall", "urgent_recall", 1.0),
    Threshold("--max-false-urgent", "false_urgent_rate", 0.02, ceiling=True),
    Threshold("--min-safety", "safety_rate", 1.0),
)


def missed_thresholds(metrics: Metrics, thresholds: Iterable[Threshold]) -> list[str]:
    """One line per missed threshold (empty when all are met)."""
    return [t.describe(getattr(metrics, t.metric)) for t in thresholds
            if t.missed(getattr(metrics, t.metric))]


@dataclass
class GroundingSummary:
    """Everything a run produced: per-question results, metrics overall and per split."""

    target: str
    results: list[QuestionResult]
    metrics: Metrics
    splits: dict[str, Metrics]
    thresholds: list[Threshold]
    missed: list[str]
    seconds: float = 0.0
    #: Per category ("" = all questions, else a split) -> category -> metrics.
    categories: dict[str, dict[str, Metrics]] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 when every threshold is met, 1 otherwise (for a clinic's CI)."""
        return 1 if self.missed else 0


def summarize(results: list[QuestionResult], thresholds: Iterable[Threshold], target: str,
              seconds: float = 0.0) -> GroundingSummary:
    """Aggregate `results`, per split as well when questions carry one; thresholds use all."""
    thresholds = list(thresholds)
    metrics = aggregate(results)
    names = sorted({r.question.split for r in results if r.question.split})
    splits = {name: aggregate([r for r in results if r.question.split == name]) for name in names}
    categories = {}
    for name in ["", *names]:
        group = [r for r in results if not name or r.question.split == name]
        cats = sorted({r.question.category for r in group if r.question.category})
        if cats:
            categories[name] = {c: aggregate([r for r in group if r.question.category == c])
                                for c in cats}
    return GroundingSummary(target, results, metrics, splits, thresholds,
                            missed_thresholds(metrics, thresholds), seconds, categories)


def select_split(items: list[T], split: str, noun: str = "question") -> list[T]:
    """The items (questions, conversations: anything with a `split`) of one split;
    QuestionFileError naming the splits there are otherwise."""
    chosen = [q for q in items if q.split == split]  # type: ignore[attr-defined]
    if not chosen:
        there = sorted({q.split for q in items if q.split})  # type: ignore[attr-defined]
        raise QuestionFileError(f"no {noun} has split {split!r} (splits in the file: "
                                f"{', '.join(there) or 'none'})")
    return chosen


def summary_head(summary: Any) -> dict[str, Any]:
    """What every eval's `--json` document opens with: target, time, metrics overall, per split
    and per category, thresholds, what was missed."""
    return {
        "target": summary.target,
        "seconds": round(summary.seconds, 3),
        "metrics": summary.metrics.as_dict(),
        "splits": {name: m.as_dict() for name, m in summary.splits.items()},
        "categories": {name or "all": {c: m.as_dict() for c, m in cats.items()}
                       for name, cats in summary.categories.items()},
        "thresholds": {t.metric: {"option": t.option, "bound": t.bound,
                                  "kind": "max" if t.ceiling else "min"} for t in summary.thresholds},
        "missed": summary.missed,
        "passed": not summary.missed,
    }


def summary_json(summary: GroundingSummary) -> dict[str, Any]:
    """The `--json` document: metrics, per-split metrics, thresholds and per-question outcomes."""
    return {
        **summary_head(summary),
        "results": [
            {
                "line": r.question.line, "question": r.question.question, "kind": r.question.kind,
                "split": r.question.split, "category": r.question.category,
                "passed": r.passed, "abstained": r.abstained,
                "urgent": r.urgent, "cited_docs": r.cited_docs, "failures": r.failures,
                "seconds": round(r.seconds, 3),
            }
            for r in summary.results
        ],
    }


# ------------------------------------------------------------------------------------------------
# Running a question set
# ------------------------------------------------------------------------------------------------

def run_questions(questions: list[Question], client: AnswerClient,
                  advance: Callable[[], None] | None = None) -> list[QuestionResult]:
    """Ask every question through `client` and score it; a failed request fails only its question."""
    results = []
    for question in questions:
        t = time.perf_counter()
        try:
            response = client.answer(question.question)
            result = score_question(question, response, client.document_text)
        except AnswerFailed as exc:
            result = failed_question(question, str(exc))
        result.seconds = time.perf_counter() - t
        results.append(result)
        if advance is not None:
            advance()
    return results
