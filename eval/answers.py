"""`eval answers`: are the quoted sentences the right ones, whole, and nothing off target?

Two kinds of ground truth:

* a question file (JSONL) with, per question, the exact sentences a physiotherapist would quote
  (`ideal`) and those that are fine to include (`acceptable`): ideal-sentence recall, sentence
  precision, noise, articles per answer, one-excerpt share, per question type;
* a BEIR folder with graded qrels: answered share, whether the first cited article is relevant,
  its mean grade, and sentence precision at document level.

Sentences are matched on text, not on the service's span boundaries, which may differ slightly
from a human's sentence (a label split off, trailing punctuation). Texts are compared after
`normalize` (Unicode compatibility form, typographic quotes and dashes made plain, whitespace
collapsed, case folded). Then:

* an ideal sentence is **recalled** when a run of consecutive quoted sentences from one article,
  joined, contains it as a whole sentence: it starts at the run's start or after sentence
  punctuation, and ends at the run's end, on sentence punctuation, or before a capital;
* a quoted sentence is **precise** when it lies inside an ideal or acceptable sentence, or
  contains one that makes up at least half of it;
* a quoted sentence is **noise** when it is not precise and is off target: from an article the
  question does not name, or more than `NEIGHBOUR_CHARS` characters of the article away from
  every ideal and acceptable sentence (so not the neighbouring context of the answer);
* an answer is **one excerpt** when it quotes one article and nothing but whitespace,
  punctuation and citation numbers lies between its consecutive quoted sentences.
"""

from __future__ import annotations

import json
import re
import time
import tomllib
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from groundedqa.eval.clients import AnswerClient, AnswerFailed
from groundedqa.eval.grounding import QuestionFileError, Threshold, check_response, missed_thresholds

GetText = Callable[[str], "str | None"]

#: A quoted sentence this close (in characters of the article) to an ideal or acceptable one is
#: its neighbouring context, not noise.
NEIGHBOUR_CHARS = 200
#: A quoted sentence containing an ideal/acceptable one is precise when that one is at least this
#: share of it (the service's sentence merged a short neighbour into it).
COVER_SHARE = 0.5


# ------------------------------------------------------------------------------------------------
# Question files
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AnswerQuestion:
    """One line of an answers file."""

    id: str
    question: str
    type: str
    docs: tuple[str, ...]
    ideal: tuple[str, ...]
    acceptable: tuple[str, ...] = ()
    split: str | None = None
    line: int = 0


def manifest_doc_ids(corpus_dir: Path) -> dict[str, str]:
    """File prefix ("000" of "000_94bd....txt") and file stem -> doc id, from manifest.toml."""
    path = Path(corpus_dir) / "manifest.toml"
    try:
        entries = tomllib.loads(path.read_text(encoding="utf-8")).get("documents", [])
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    out: dict[str, str] = {}
    for entry in entries:
        file, doc_id = entry.get("file"), entry.get("doc_id")
        if isinstance(file, str) and isinstance(doc_id, str):
            stem = Path(file).stem
            out[stem] = doc_id
            out.setdefault(stem.split("_", 1)[0], doc_id)
    return out


def _strings(obj: dict, key: str, where: str) -> tuple[str, ...]:
    value = obj.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise QuestionFileError(f"{where}: '{key}' must be a list of non-empty strings")
    return tuple(value)


def parse_answer_question(obj: Any, where: str, line: int = 0,
                          doc_ids: dict[str, str] | None = None) -> AnswerQuestion:
    """Validate one decoded line. `docs` names documents by id; a `doc` field (a file prefix, as
    in seed-dev) is mapped to its id through `doc_ids`."""
    if not isinstance(obj, dict):
        raise QuestionFileError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    text = obj.get("question")
    if not isinstance(text, str) or not text.strip():
        raise QuestionFileError(f"{where}: 'question' must be a non-empty string")
    docs = _strings(obj, "docs", where)
    if not docs and isinstance(obj.get("doc"), str):
        ref = obj["doc"]
        docs = ((doc_ids or {}).get(ref, ref),)
    ideal = _strings(obj, "ideal", where)
    if not ideal:
        raise QuestionFileError(f"{where}: 'ideal' must list at least one sentence")
    qtype = obj.get("type") or "other"
    split = obj.get("split")
    return AnswerQuestion(
        id=str(obj.get("id") or f"line{line}"), question=text, type=str(qtype), docs=docs,
        ideal=ideal, acceptable=_strings(obj, "acceptable", where),
        split=split if isinstance(split, str) and split.strip() else None, line=line,
    )


def load_answer_questions(path: Path, doc_ids: dict[str, str] | None = None) -> list[AnswerQuestion]:
    """Read an answers JSONL file (blank lines skipped); QuestionFileError names the bad line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise QuestionFileError(f"{path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionFileError(f"{path}: cannot read: {exc}") from exc
    out = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QuestionFileError(f"{path}:{n}: not valid JSON ({exc.msg})") from exc
        out.append(parse_answer_question(obj, f"{path}:{n}", n, doc_ids))
    if not out:
        raise QuestionFileError(f"{path}: no questions")
    return out


# ------------------------------------------------------------------------------------------------
# Matching sentences
# ------------------------------------------------------------------------------------------------

_PLAIN = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ",
})
_SPACE = re.compile(r"\s+")
_ENDS_SENTENCE = re.compile(r"[.!?:;][\"')\]]*$")
_STARTS_SENTENCE = re.compile(r"^[\"'(\[]*[A-Z0-9]")


def normalize(text: str) -> str:
    """Compatibility form, plain quotes and dashes, single spaces, stripped (case kept)."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).translate(_PLAIN)).strip()


def _fold(text: str) -> str:
    return normalize(text).casefold()


def contains_sentence(run: str, sentence: str) -> bool:
    """`sentence` stands in `run` as a whole sentence (both normalized, case kept): it starts at
    the run's start or after sentence punctuation, and ends at the run's end, on sentence
    punctuation, or where a new sentence starts (so "Progressive motor weakness" is not found in
    "Progressive motor weakness affecting quality of life")."""
    if not sentence:
        return False
    folded_run, folded = run.casefold(), sentence.casefold()
    start = folded_run.find(folded)
    while start >= 0:
        end = start + len(folded)
        before, after = run[:start].rstrip(), run[end:].lstrip()
        starts = not before or bool(_ENDS_SENTENCE.search(before))
        ends = not after or bool(_ENDS_SENTENCE.search(sentence)) or bool(_STARTS_SENTENCE.match(after))
        if starts and ends:
            return True
        start = folded_run.find(folded, start + 1)
    return False


def is_precise(quoted: str, targets: Iterable[str]) -> bool:
    """The quoted sentence lies inside a target, or holds one that is at least half of it."""
    q = _fold(quoted)
    for target in targets:
        t = _fold(target)
        if q in t or (t in q and len(t) >= COVER_SHARE * len(q)):
            return True
    return False


def find_spans(text: str, sentence: str) -> list[tuple[int, int]]:
    """Where `sentence` occurs in `text`, whitespace, quote and dash variants allowed."""
    parts = []
    for word in normalize(sentence).split(" "):
        parts.append("".join(_char_class(ch) for ch in word))
    if not parts:
        return []
    pattern = re.compile(r"\s+".join(parts), re.IGNORECASE)
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


_VARIANTS = {"'": "'\u2018\u2019\u201a\u201b\u2032", '"': '"\u201c\u201d\u201e\u2033',
             "-": "-\u2010\u2011\u2012\u2013\u2014\u2212"}


def _char_class(ch: str) -> str:
    return f"[{re.escape(_VARIANTS[ch])}]" if ch in _VARIANTS else re.escape(ch)


@dataclass(frozen=True)
class Quoted:
    """One quoted answer sentence and the span its (first) citation names."""

    doc_id: str
    text: str
    start: int
    end: int


def quoted_sentences(response: dict) -> list[Quoted]:
    """The response's sentences in the order shown, each with its first citation's span."""
    by_id = {c.get("id"): c for c in response.get("citations") or [] if isinstance(c, dict)}
    out = []
    for sentence in response.get("sentences") or []:
        if not isinstance(sentence, dict) or not isinstance(sentence.get("text"), str):
            continue
        ids = sentence.get("citations") or []
        cite = by_id.get(ids[0]) if ids else None
        if not isinstance(cite, dict):
            continue
        out.append(Quoted(str(cite.get("doc_id")), sentence["text"], int(cite.get("start", -1)),
                          int(cite.get("end", -1))))
    return out


def _runs(quoted: Sequence[Quoted]) -> list[str]:
    """Every run of consecutive quoted sentences from one article, joined and normalized."""
    runs = []
    for i in range(len(quoted)):
        parts = []
        for q in quoted[i:]:
            if q.doc_id != quoted[i].doc_id:
                break
            parts.append(normalize(q.text))
            runs.append(" ".join(parts))
    return runs


def one_excerpt(quoted: Sequence[Quoted], get_text: GetText) -> bool:
    """One article, and only whitespace, punctuation and citation numbers between the quoted
    sentences in the article's order."""
    if not quoted or len({q.doc_id for q in quoted}) != 1:
        return False
    text = get_text(quoted[0].doc_id)
    if text is None:
        return False
    spans = sorted((q.start, q.end) for q in quoted)
    return all(not re.search(r"[^\W\d_]", text[a_end:b_start])
               for (_, a_end), (b_start, _) in zip(spans, spans[1:]))


# ------------------------------------------------------------------------------------------------
# Scoring one answer against ideal sentences
# ------------------------------------------------------------------------------------------------

@dataclass
class AnswerScore:
    """One question's outcome."""

    question: AnswerQuestion
    answered: bool = False
    recalled: int = 0
    quoted: int = 0
    precise: int = 0
    noise: int = 0
    articles: int = 0
    one_excerpt: bool = False
    grounded: int = 0
    missing: list[str] = field(default_factory=list)  # ideal sentences not recalled
    extra: list[str] = field(default_factory=list)  # quoted sentences not precise
    noisy: list[str] = field(default_factory=list)  # ... of which noise
    error: str | None = None
    seconds: float = 0.0


def score_answer(question: AnswerQuestion, response: dict, get_text: GetText) -> AnswerScore:
    """Recall, precision, noise, articles and one-excerpt of one response."""
    score = AnswerScore(question)
    quoted = quoted_sentences(response)
    score.answered = not response.get("abstained") and bool(quoted)
    check = check_response(response, get_text)
    score.grounded = check.grounded_sentences
    score.quoted = len(quoted)
    if not score.answered:
        score.missing = list(question.ideal)
        return score
    runs = _runs(quoted)
    for ideal in question.ideal:
        if any(contains_sentence(run, normalize(ideal)) for run in runs):
            score.recalled += 1
        else:
            score.missing.append(ideal)
    targets = question.ideal + question.acceptable
    locations = _target_locations(question, targets, get_text)
    for q in quoted:
        if is_precise(q.text, targets):
            score.precise += 1
            continue
        score.extra.append(q.text)
        if _off_target(q, locations):
            score.noise += 1
            score.noisy.append(q.text)
    score.articles = len({q.doc_id for q in quoted})
    score.one_excerpt = one_excerpt(quoted, get_text)
    return score


def _target_locations(question: AnswerQuestion, targets: Sequence[str],
                      get_text: GetText) -> dict[str, list[tuple[int, int]]]:
    """Spans of the ideal and acceptable sentences in each article the question names."""
    out: dict[str, list[tuple[int, int]]] = {}
    for doc_id in question.docs:
        text = get_text(doc_id)
        if text is not None:
            out[doc_id] = [span for t in targets for span in find_spans(text, t)]
    return out


def _off_target(q: Quoted, locations: dict[str, list[tuple[int, int]]]) -> bool:
    spans = locations.get(q.doc_id)
    if not spans:
        return True
    return all(q.start - end > NEIGHBOUR_CHARS or start - q.end > NEIGHBOUR_CHARS
               for start, end in spans)


# ------------------------------------------------------------------------------------------------
# Aggregates
# ------------------------------------------------------------------------------------------------

@dataclass
class AnswerMetrics:
    """Rates over a group of questions; None when there was nothing to measure."""

    questions: int
    answered_rate: float | None
    ideal_recall: float | None  # recalled ideal sentences / ideal sentences (all questions)
    precision: float | None  # precise quoted sentences / quoted sentences (answered questions)
    noise_per_answer: float | None
    articles_per_answer: float | None
    one_excerpt_rate: float | None
    sentences_per_answer: float | None
    grounded_rate: float | None
    errors: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rate(num: float, den: float) -> float | None:
    return num / den if den else None


def aggregate(scores: Sequence[AnswerScore]) -> AnswerMetrics:
    """Micro-averaged recall and precision; per-answer means over answered questions."""
    answered = [s for s in scores if s.answered]
    quoted = sum(s.quoted for s in answered)
    return AnswerMetrics(
        questions=len(scores),
        answered_rate=_rate(len(answered), len(scores)),
        ideal_recall=_rate(sum(s.recalled for s in scores), sum(len(s.question.ideal) for s in scores)),
        precision=_rate(sum(s.precise for s in answered), quoted),
        noise_per_answer=_rate(sum(s.noise for s in answered), len(answered)),
        articles_per_answer=_rate(sum(s.articles for s in answered), len(answered)),
        one_excerpt_rate=_rate(sum(s.one_excerpt for s in answered), len(answered)),
        sentences_per_answer=_rate(quoted, len(answered)),
        grounded_rate=_rate(sum(s.grounded for s in scores), sum(s.quoted for s in scores)),
        errors=sum(s.error is not None for s in scores),
    )


#: Options, metrics and defaults (the goals for the holdout of eval/questions/answers.jsonl).
ANSWER_THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("--min-recall", "ideal_recall", 0.90),
    Threshold("--min-precision", "precision", 0.85),
    Threshold("--max-noise", "noise_per_answer", 0.0, ceiling=True),
    Threshold("--min-grounded", "grounded_rate", 1.0),
)
#: Checked only when given on the command line (their bound here is a placeholder).
OPTIONAL_ANSWER_THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("--min-answered", "answered_rate", 0.0),
    Threshold("--min-one-excerpt", "one_excerpt_rate", 0.0),
    Threshold("--max-articles", "articles_per_answer", 0.0, ceiling=True),
)


@dataclass
class AnswersSummary:
    """A run over a question file: overall, per split and per question type."""

    target: str
    scores: list[AnswerScore]
    metrics: AnswerMetrics
    splits: dict[str, AnswerMetrics]
    types: dict[str, AnswerMetrics]
    missed: list[str]
    seconds: float = 0.0


def summarize(scores: list[AnswerScore], thresholds: Iterable[Threshold], target: str,
              seconds: float = 0.0) -> AnswersSummary:
    """Aggregate overall, per split and per type; thresholds apply to the overall figures."""
    metrics = aggregate(scores)
    splits = {name: aggregate([s for s in scores if s.question.split == name])
              for name in sorted({s.question.split for s in scores if s.question.split})}
    types = {name: aggregate([s for s in scores if s.question.type == name])
             for name in sorted({s.question.type for s in scores})}
    return AnswersSummary(target, scores, metrics, splits, types,
                          missed_thresholds(metrics, thresholds), seconds)


def run_answer_questions(questions: Sequence[AnswerQuestion], client: AnswerClient,
                         advance: Callable[[], None] | None = None) -> list[AnswerScore]:
    """Ask every question and score it; a failed request scores as unanswered."""
    out = []
    for question in questions:
        t = time.perf_counter()
        try:
            score = score_answer(question, client.answer(question.question), client.document_text)
        except AnswerFailed as exc:
            score = AnswerScore(question, missing=list(question.ideal), error=str(exc))
        score.seconds = time.perf_counter() - t
        out.append(score)
        if advance is not None:
            advance()
    return out


def summary_json(summary: AnswersSummary) -> dict[str, Any]:
    """The `--json` document."""
    return {
        "target": summary.target,
        "seconds": round(summary.seconds, 3),
        "metrics": summary.metrics.as_dict(),
        "splits": {k: m.as_dict() for k, m in summary.splits.items()},
        "types": {k: m.as_dict() for k, m in summary.types.items()},
        "missed": summary.missed,
        "passed": not summary.missed,
        "results": [
            {"id": s.question.id, "split": s.question.split, "type": s.question.type,
             "question": s.question.question, "answered": s.answered,
             "recall": _rate(s.recalled, len(s.question.ideal)), "quoted": s.quoted,
             "precise": s.precise, "noise": s.noise, "articles": s.articles,
             "one_excerpt": s.one_excerpt, "missing": s.missing, "extra": s.extra,
             "noisy": s.noisy, "error": s.error}
            for s in summary.scores
        ],
    }


# ------------------------------------------------------------------------------------------------
# BEIR folders with graded qrels
# ------------------------------------------------------------------------------------------------

@dataclass
class BeirAnswerScore:
    """One judged query: answered, the first cited article's grade, precise quoted sentences."""

    query_id: str
    answered: bool = False
    first_grade: int | None = None  # grade of the first cited article (unjudged = 0)
    quoted: int = 0
    precise: int = 0  # quoted sentences whose article is relevant (grade > 0)
    grounded: int = 0
    error: str | None = None


def score_beir_answer(query_id: str, grades: dict[str, int], response: dict,
                      get_text: GetText) -> BeirAnswerScore:
    """Grades come from the qrels; an article the qrels do not judge counts as grade 0."""
    quoted = quoted_sentences(response)
    score = BeirAnswerScore(query_id, answered=not response.get("abstained") and bool(quoted),
                            quoted=len(quoted))
    score.grounded = check_response(response, get_text).grounded_sentences
    if score.answered:
        score.first_grade = grades.get(quoted[0].doc_id, 0)
        score.precise = sum(grades.get(q.doc_id, 0) > 0 for q in quoted)
    return score


@dataclass
class BeirAnswerMetrics:
    queries: int
    answered_rate: float | None
    first_relevant_rate: float | None  # of answered queries: the first cited article is relevant
    first_grade_mean: float | None
    precision: float | None
    sentences_per_answer: float | None
    grounded_rate: float | None
    errors: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def aggregate_beir(scores: Sequence[BeirAnswerScore]) -> BeirAnswerMetrics:
    answered = [s for s in scores if s.answered]
    quoted = sum(s.quoted for s in answered)
    return BeirAnswerMetrics(
        queries=len(scores),
        answered_rate=_rate(len(answered), len(scores)),
        first_relevant_rate=_rate(sum((s.first_grade or 0) > 0 for s in answered), len(answered)),
        first_grade_mean=_rate(sum(s.first_grade or 0 for s in answered), len(answered)),
        precision=_rate(sum(s.precise for s in answered), quoted),
        sentences_per_answer=_rate(quoted, len(answered)),
        grounded_rate=_rate(sum(s.grounded for s in scores), sum(s.quoted for s in scores)),
        errors=sum(s.error is not None for s in scores),
    )


#: The goals on mediqa2019-dev.
BEIR_THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("--min-first-relevant", "first_relevant_rate", 0.85),
    Threshold("--min-answered", "answered_rate", 0.95),
    Threshold("--min-precision", "precision", 0.85),
    Threshold("--min-grounded", "grounded_rate", 1.0),
)


def run_beir_queries(queries: dict[str, str], qrels: dict[str, dict[str, int]], client: AnswerClient,
                     advance: Callable[[], None] | None = None) -> list[BeirAnswerScore]:
    """Ask every judged query; a failed request scores as unanswered."""
    out = []
    for qid, text in queries.items():
        try:
            score = score_beir_answer(qid, qrels.get(qid, {}), client.answer(text), client.document_text)
        except AnswerFailed as exc:
            score = BeirAnswerScore(qid, error=str(exc))
        out.append(score)
        if advance is not None:
            advance()
    return out
