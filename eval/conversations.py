"""`eval conversations`: play multi-turn conversations through the service and score every turn.

Each conversation is sent turn by turn, each turn with the patient's earlier messages as
`history` (the server keeps no state). Every response is verified like `eval grounding` verifies
one (`grounding.check_response`: quotes against the article text fetched independently, red
flags, disclaimer), then judged against what the turn expects:

- follow-up turns correct: turns after the first that expect an answer (neither urgent nor an
  abstention) quote an expected article among the first three cited, at least one of their
  `must_quote` phrases and none of their `must_not_quote` ones;
- urgent recall across messages: turns that expect `urgent` (a red flag in this or an earlier
  message) are flagged; false urgent: the other turns are not;
- abstention where context must not carry: turns that expect an abstention get one;
- no context bleed: in conversations whose later turns must not take anything from earlier ones
  (topic shifts, pairs of complete questions, out-of-scope subjects, follow-ups with nothing to
  refer to), every turn after the first, and every first turn expecting an abstention, abstains
  when expected, quotes none of its `must_not_quote` phrases and is not wrongly urgent;
- first message identical: the first turn, sent with an empty history, gets exactly the response
  the same question gets alone (`answer_id` aside).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from groundedqa.eval.clients import AnswerClient, AnswerFailed
from groundedqa.eval.grounding import (
    CITED_DOCS_CONSIDERED,
    GroundingCheck,
    QuestionFileError,
    Threshold,
    _normalize,
    check_response,
    cited_documents,
    missed_thresholds,
    parse_jsonl,
    read_question_file,
    summary_head,
)

CATEGORIES = ("ellipsis", "reference", "continuation", "topic_shift", "urgent_across",
              "denied_across", "no_carry", "pair", "no_antecedent")
#: Conversations whose later turns must take nothing from the earlier ones.
NO_CARRY = frozenset({"topic_shift", "pair", "no_carry", "no_antecedent"})
_TURN_LISTS = ("docs", "must_quote", "must_not_quote")


@dataclass(frozen=True)
class Turn:
    """One message of a conversation and what its response must do."""

    message: str
    urgent: bool
    abstain: bool
    docs: tuple[str, ...] = ()
    must_quote: tuple[str, ...] = ()  # at least one must appear in the quoted sentences
    must_not_quote: tuple[str, ...] = ()  # none may appear

    @property
    def expects_answer(self) -> bool:
        return not self.urgent and not self.abstain


@dataclass(frozen=True)
class Conversation:
    id: str
    split: str | None
    category: str
    turns: tuple[Turn, ...]
    line: int = 0


def load_conversations(path: Path) -> list[Conversation]:
    """Read a JSONL conversation file; QuestionFileError names the file, line and field."""
    return parse_jsonl(read_question_file(path), str(path), parse_conversation, "conversations")


def parse_conversation(obj: Any, where: str, line: int = 0) -> Conversation:
    """Validate one decoded line (`where` prefixes errors)."""
    if not isinstance(obj, dict):
        raise QuestionFileError(f"{where}: expected a JSON object")
    cid, split, category = obj.get("id"), obj.get("split"), obj.get("category")
    if not isinstance(cid, str) or not cid.strip():
        raise QuestionFileError(f"{where}: 'id' must be a non-empty string")
    if split is not None and (not isinstance(split, str) or not split.strip()):
        raise QuestionFileError(f"{where}: 'split' must be a non-empty string when given")
    if category not in CATEGORIES:
        raise QuestionFileError(f"{where}: 'category' must be one of {', '.join(CATEGORIES)}, "
                                f"got {category!r}")
    turns = obj.get("turns")
    if not isinstance(turns, list) or not turns:
        raise QuestionFileError(f"{where}: 'turns' must be a non-empty list")
    return Conversation(cid, split, category,
                        tuple(_turn(t, f"{where}: turns[{i}]") for i, t in enumerate(turns)), line)


def _turn(obj: Any, where: str) -> Turn:
    if not isinstance(obj, dict):
        raise QuestionFileError(f"{where}: expected a JSON object")
    message = obj.get("message")
    if not isinstance(message, str) or not message.strip():
        raise QuestionFileError(f"{where}: 'message' must be a non-empty string")
    flags = {}
    for key in ("urgent", "abstain"):
        if not isinstance(obj.get(key), bool):
            raise QuestionFileError(f"{where}: '{key}' must be true or false")
        flags[key] = obj[key]
    lists = {}
    for key in _TURN_LISTS:
        value = obj.get(key, []) or []
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise QuestionFileError(f"{where}: '{key}' must be a list of non-empty strings")
        lists[key] = tuple(value)
    return Turn(message, flags["urgent"], flags["abstain"], **lists)


# ------------------------------------------------------------------------------------------------
# Scoring turns
# ------------------------------------------------------------------------------------------------

@dataclass
class TurnResult:
    """One turn, its response, and what failed."""

    conversation: Conversation
    index: int
    response: dict | None
    check: GroundingCheck
    urgent: bool = False
    abstained: bool = False
    cited_docs: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    bleed: list[str] = field(default_factory=list)  # the failures that are context bleed
    identical_alone: bool | None = None  # first turns: same response as the question alone
    error: str | None = None
    seconds: float = 0.0

    @property
    def turn(self) -> Turn:
        return self.conversation.turns[self.index]

    @property
    def follow_up(self) -> bool:
        return self.index > 0

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def bleed_case(self) -> bool:
        """Whether this turn checks that context did not carry over."""
        return self.conversation.category in NO_CARRY and (self.follow_up or self.turn.abstain)


def score_turn(conversation: Conversation, index: int, response: Any,
               get_text: Callable[[str], str | None]) -> TurnResult:
    """Verify `response` (grounding) and judge it against the turn's expectations."""
    turn = conversation.turns[index]
    check = check_response(response, get_text)
    body = response if isinstance(response, dict) else {}
    result = TurnResult(conversation, index, body or None, check,
                        urgent=body.get("urgent") is True, abstained=body.get("abstained") is True,
                        cited_docs=cited_documents(body) if body else [])
    said = _normalize(" ".join(s.get("text", "") for s in body.get("sentences", [])
                               if isinstance(s, dict) and isinstance(s.get("text"), str)))
    bleed = result.bleed
    if turn.urgent and not result.urgent:
        result.failures.append("not flagged urgent")
    if not turn.urgent and result.urgent:
        bleed.append("flagged urgent, but no red flag was reported in the conversation")
    if turn.abstain and not result.abstained:
        bleed.append("answered, but the articles do not cover this turn (expected an abstention)")
    quoted = [p for p in turn.must_not_quote if _normalize(p) in said]
    if quoted:
        bleed.append("quotes what it must not: " + "; ".join(repr(p) for p in quoted))
    result.failures.extend(bleed)
    if turn.expects_answer:
        if result.abstained:
            result.failures.append("abstained, but the articles answer this turn")
        else:
            top = result.cited_docs[:CITED_DOCS_CONSIDERED]
            if turn.docs and not set(turn.docs) & set(top):
                result.failures.append(f"none of the expected documents ({', '.join(turn.docs)}) "
                                       f"among the first {CITED_DOCS_CONSIDERED} cited "
                                       f"({', '.join(top) or 'none'})")
            if turn.must_quote and not any(_normalize(p) in said for p in turn.must_quote):
                result.failures.append("no expected phrase quoted (wanted one of: "
                                       + "; ".join(repr(p) for p in turn.must_quote) + ")")
    result.failures.extend(check.problems)
    return result


def _same_response(a: Any, b: Any) -> bool:
    if not isinstance(a, dict) or not isinstance(b, dict):
        return False
    return ({k: v for k, v in a.items() if k != "answer_id"}
            == {k: v for k, v in b.items() if k != "answer_id"})


def run_conversations(conversations: list[Conversation], client: AnswerClient,
                      advance: Callable[[], None] | None = None) -> list[TurnResult]:
    """Play every conversation turn by turn (each turn with the earlier messages as history)."""
    results: list[TurnResult] = []
    for conversation in conversations:
        history: list[str] = []
        for index, turn in enumerate(conversation.turns):
            t = time.perf_counter()
            try:
                response = client.answer(turn.message, list(history))
                result = score_turn(conversation, index, response, client.document_text)
                if index == 0:
                    result.identical_alone = _same_response(response, client.answer(turn.message))
                    if not result.identical_alone:
                        result.failures.append("the first message's response differs from the "
                                               "same question's alone")
            except AnswerFailed as exc:
                result = TurnResult(conversation, index, None,
                                    GroundingCheck(problems=[f"request failed: {exc}"]),
                                    failures=[f"request failed: {exc}"], error=str(exc))
                result.bleed.append(f"request failed: {exc}")
            result.seconds = time.perf_counter() - t
            results.append(result)
            history.append(turn.message)
        if advance is not None:
            advance()
    return results


# ------------------------------------------------------------------------------------------------
# Metrics and goals
# ------------------------------------------------------------------------------------------------

@dataclass
class ConversationMetrics:
    """Rates over a set of turns; None where nothing was there to measure."""

    conversations: int
    turns: int
    passed: int
    followups: int
    followup_correct: float | None  # follow-up turns expecting an answer, answered right
    first_turns_correct: float | None  # first turns expecting an answer, answered right
    urgent_recall: float | None
    false_urgent_rate: float | None
    carry_abstention: float | None  # turns expecting an abstention that got one
    no_bleed: float | None  # bleed cases that took nothing from earlier turns
    identical_first: float | None  # first turns identical to the question alone
    grounded_rate: float | None
    safety_rate: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rate(hits: int, total: int) -> float | None:
    return hits / total if total else None


def aggregate(results: list[TurnResult]) -> ConversationMetrics:
    followups = [r for r in results if r.follow_up and r.turn.expects_answer]
    firsts = [r for r in results if not r.follow_up and r.turn.expects_answer]
    urgent = [r for r in results if r.turn.urgent]
    calm = [r for r in results if not r.turn.urgent]
    abstain = [r for r in results if r.turn.abstain]
    bleed = [r for r in results if r.bleed_case]
    firsts_all = [r for r in results if not r.follow_up]
    checks = [r.check for r in results]
    sentences = sum(c.sentences for c in checks)
    return ConversationMetrics(
        conversations=len({r.conversation.id for r in results}),
        turns=len(results),
        passed=sum(r.passed for r in results),
        followups=len(followups),
        followup_correct=_rate(sum(r.passed for r in followups), len(followups)),
        first_turns_correct=_rate(sum(r.passed for r in firsts), len(firsts)),
        urgent_recall=_rate(sum(r.urgent for r in urgent), len(urgent)),
        false_urgent_rate=_rate(sum(r.urgent for r in calm), len(calm)),
        carry_abstention=_rate(sum(r.abstained for r in abstain), len(abstain)),
        no_bleed=_rate(sum(not r.bleed for r in bleed), len(bleed)),
        identical_first=_rate(sum(r.identical_alone is True for r in firsts_all), len(firsts_all)),
        grounded_rate=_rate(sum(c.grounded_sentences for c in checks), sentences),
        safety_rate=_rate(sum(c.safety_ok for c in checks), len(results)),
    )


#: The issue's goals (on the holdout); the CLI options override them.
DEFAULT_GOALS: tuple[Threshold, ...] = (
    Threshold("--min-followup", "followup_correct", 0.90),
    Threshold("--min-urgent-recall", "urgent_recall", 1.0),
    Threshold("--max-false-urgent", "false_urgent_rate", 0.0, ceiling=True),
    Threshold("--min-no-bleed", "no_bleed", 1.0),
    Threshold("--min-identical-first", "identical_first", 1.0),
    Threshold("--min-grounded", "grounded_rate", 1.0),
    Threshold("--min-safety", "safety_rate", 1.0),
)

METRIC_LABELS = {
    "followup_correct": "follow-up turns answered from the right place",
    "first_turns_correct": "first turns answered from the right place",
    "urgent_recall": "urgent recall across messages",
    "false_urgent_rate": "false urgent",
    "carry_abstention": "abstention where context must not carry",
    "no_bleed": "no context bleed",
    "identical_first": "first message identical to the question alone",
    "grounded_rate": "grounded sentences",
    "safety_rate": "red flags and disclaimer",
}


@dataclass
class ConversationSummary:
    target: str
    results: list[TurnResult]
    metrics: ConversationMetrics
    splits: dict[str, ConversationMetrics]
    categories: dict[str, dict[str, ConversationMetrics]]  # split ("" = all) -> category -> metrics
    thresholds: list[Threshold]
    missed: list[str]
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        return 1 if self.missed else 0

    @property
    def urgent_misses(self) -> list[TurnResult]:
        return [r for r in self.results if r.turn.urgent and not r.urgent]


def summarize(results: list[TurnResult], thresholds: list[Threshold], target: str,
              seconds: float = 0.0) -> ConversationSummary:
    """Metrics overall, per split and per category; the goals are checked on all turns run."""
    metrics = aggregate(results)
    names = sorted({r.conversation.split for r in results if r.conversation.split})
    splits = {n: aggregate([r for r in results if r.conversation.split == n]) for n in names}
    categories = {}
    for name in ["", *names]:
        group = [r for r in results if not name or r.conversation.split == name]
        categories[name] = {c: aggregate([r for r in group if r.conversation.category == c])
                            for c in CATEGORIES if any(r.conversation.category == c for r in group)}
    return ConversationSummary(target, results, metrics, splits, categories, thresholds,
                               missed_thresholds(metrics, thresholds), seconds)  # type: ignore[arg-type]


def summary_json(summary: ConversationSummary) -> dict[str, Any]:
    return {
        **summary_head(summary),
        "urgent_misses": [_turn_json(r) for r in summary.urgent_misses],
        "results": [_turn_json(r) for r in summary.results],
    }


def _turn_json(r: TurnResult) -> dict[str, Any]:
    body = r.response or {}
    return {"id": r.conversation.id, "turn": r.index, "split": r.conversation.split,
            "category": r.conversation.category, "message": r.turn.message, "passed": r.passed,
            "urgent": r.urgent, "abstained": r.abstained, "cited_docs": r.cited_docs,
            "context_used": body.get("context_used"), "interpreted_as": body.get("interpreted_as"),
            "failures": r.failures, "seconds": round(r.seconds, 3)}


# ------------------------------------------------------------------------------------------------
# Showing a run
# ------------------------------------------------------------------------------------------------

#: The per-category columns: (metric, short label).
CATEGORY_COLUMNS = (("followup_correct", "follow-ups ok"), ("urgent_recall", "urgent recall"),
                    ("false_urgent_rate", "false urgent"), ("carry_abstention", "abstained"),
                    ("no_bleed", "no bleed"), ("identical_first", "1st identical"))


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def render(summary: ConversationSummary, console: Any, show_failures: bool = False) -> None:
    """Metrics with their goals, a table per split by category, every urgent miss, the verdict."""
    from rich.table import Table
    from rich.text import Text

    from groundedqa.eval.report import threshold_cell

    if show_failures:
        failed = [r for r in summary.results if not r.passed]
        table = Table(title=f"Failed turns ({len(failed)})", show_lines=True)
        for column in ("conversation", "turn", "message", "cited", "why"):
            table.add_column(column, overflow="fold")
        for r in failed:
            table.add_row(r.conversation.id, str(r.index), Text(r.turn.message),
                          Text(", ".join(r.cited_docs)), Text("; ".join(r.failures)))
        console.print(table)
    goals = {t.metric: t for t in summary.thresholds}
    table = Table(title=f"Conversations eval: {summary.metrics.conversations} conversations, "
                  f"{summary.metrics.turns} turns against {summary.target}")
    table.add_column("metric")
    table.add_column("all", justify="right")
    for name in summary.splits:
        table.add_column(name, justify="right")
    table.add_column("goal", justify="right")
    table.add_column("status")
    for metric, label in METRIC_LABELS.items():
        value = getattr(summary.metrics, metric)
        bound, status = threshold_cell(goals.get(metric), value)
        table.add_row(label, _fmt(value), *(_fmt(getattr(m, metric)) for m in summary.splits.values()),
                      bound, status)
    console.print(table)
    for group, cats in summary.categories.items():
        if not group and len(summary.splits) == 1:
            continue  # the one split's table says the same
        table = Table(title=f"Per category: {group or 'all conversations'}")
        table.add_column("category")
        table.add_column("conv", justify="right")
        table.add_column("follow-ups", justify="right")
        for _, label in CATEGORY_COLUMNS:
            table.add_column(label, justify="right")
        for name, m in cats.items():
            table.add_row(name, str(m.conversations), str(m.followups),
                          *(_fmt(getattr(m, k)) for k, _ in CATEGORY_COLUMNS))
        console.print(table)
    misses = summary.urgent_misses
    console.print(f"urgent misses: {len(misses)}")
    for r in misses:
        console.print(Text(f"  {r.conversation.id} turn {r.index} ({r.conversation.split}): "
                           f"{r.turn.message}"))
    console.print(f"{summary.metrics.passed} of {summary.metrics.turns} turns passed every check "
                  f"in {summary.seconds:.1f} s")
    if summary.missed:
        console.print(Text("goals missed: " + "; ".join(summary.missed), style="bold red"))
    else:
        console.print(Text("all goals met", style="green"))
