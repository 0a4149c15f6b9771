"""Grounding eval runs in the background of a server (the console's Evaluation part).

The same questions, verification and thresholds as `groundedqa eval grounding`, asked of the live
service in-process on one background thread, one run at a time (the machine answering patients
is the machine running the eval). A run is kept in memory with its per-question results; the
last `keep` runs are listed.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from typing import Any

from groundedqa.eval import grounding
from groundedqa.eval.clients import AnswerClient
from groundedqa.eval.report import METRIC_LABELS
from groundedqa.feedback_export import spreadsheet_cell

#: Question sets shipped with the package that `eval grounding` reads (conversations.jsonl has
#: another format). They are about the four seed articles.
BUILTIN_SETS = ("seed", "safety", "answers")
#: Runs kept for the list (older ones are forgotten).
KEEP_RUNS = 20
#: Questions per run at most: a run shares the server's cores with patients for its whole length.
MAX_QUESTIONS = 5000
CSV_COLUMNS = ("line", "question", "kind", "split", "passed", "abstained", "urgent", "answer",
               "cited_docs", "failures")


class EvalBusy(RuntimeError):
    """A run is in progress; another would halve the speed of both and of patients' answers."""


def builtin_questions(name: str) -> list[grounding.Question]:
    """A built-in question set by name (QuestionFileError for an unknown name)."""
    if name not in BUILTIN_SETS:
        raise grounding.QuestionFileError(
            f"unknown built-in question set {name!r}: choose one of {', '.join(BUILTIN_SETS)}")
    text = resources.files("groundedqa.eval").joinpath("questions", f"{name}.jsonl") \
        .read_text(encoding="utf-8")
    return grounding.parse_questions(text, f"{name}.jsonl")


@dataclass
class EvalRun:
    """One run: where its questions came from, its progress, and its summary once done."""

    run_id: str
    source: str
    questions: list[grounding.Question]
    status: str = "queued"  # queued | running | done | failed
    done: int = 0
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    finished_at: datetime | None = None
    summary: grounding.GroundingSummary | None = None
    error: str | None = None


class EvalRunner:
    """Starts runs on a background thread against the client `connect()` returns at the start."""

    def __init__(self, connect: Callable[[], AnswerClient], keep: int = KEEP_RUNS) -> None:
        self._connect = connect
        self._keep = keep
        self._runs: dict[str, EvalRun] = {}
        self._lock = threading.Lock()

    def start(self, questions: list[grounding.Question], source: str) -> EvalRun:
        """Queue `questions` for a background run; EvalBusy while another run is unfinished,
        QuestionFileError for more than MAX_QUESTIONS."""
        if len(questions) > MAX_QUESTIONS:
            raise grounding.QuestionFileError(
                f"{source}: {len(questions)} questions; a run takes {MAX_QUESTIONS} at most "
                "(split the file, or run `groundedqa eval grounding` on it)")
        with self._lock:
            busy = next((r for r in self._runs.values() if r.status in ("queued", "running")), None)
            if busy is not None:
                raise EvalBusy(f"evaluation {busy.run_id} is still running "
                               f"({busy.done} of {len(busy.questions)} questions)")
            run = EvalRun(uuid.uuid4().hex[:12], source, questions)
            self._runs[run.run_id] = run
            for old in list(self._runs)[:-self._keep]:
                del self._runs[old]
        threading.Thread(target=self._run, args=(run,), name=f"groundedqa-eval-{run.run_id}",
                         daemon=True).start()
        return run

    def get(self, run_id: str) -> EvalRun | None:
        return self._runs.get(run_id)

    def runs(self) -> list[EvalRun]:
        """Kept runs, newest first."""
        with self._lock:
            return list(reversed(self._runs.values()))

    def _run(self, run: EvalRun) -> None:
        run.status = "running"
        t0 = time.perf_counter()
        try:
            client = self._connect()

            def advance() -> None:
                run.done += 1

            results = grounding.run_questions(run.questions, client, advance)
            run.summary = grounding.summarize(results, grounding.DEFAULT_THRESHOLDS,
                                              client.target, time.perf_counter() - t0)
            run.status = "done"
        except Exception as exc:  # noqa: BLE001 - the run reports it; the server goes on
            run.error = f"{type(exc).__name__}: {exc}"
            run.status = "failed"
        finally:
            run.finished_at = datetime.now(timezone.utc)


def run_json(run: EvalRun, *, results: bool = True) -> dict[str, Any]:
    """A run's status; once done, `eval grounding --json`'s document (metrics, thresholds,
    missed, per-question results with the answer text) and the metrics' labels."""
    body: dict[str, Any] = {
        "run_id": run.run_id, "source": run.source, "status": run.status,
        "questions": len(run.questions), "done": run.done,
        "created_at": run.created_at.isoformat(timespec="seconds"),
        "finished_at": run.finished_at.isoformat(timespec="seconds") if run.finished_at else None,
        "error": run.error,
    }
    if run.summary is None:
        return body
    summary = grounding.summary_json(run.summary)
    body.update(passed=summary["passed"], missed=summary["missed"], metrics=summary["metrics"],
                splits=summary["splits"], thresholds=summary["thresholds"],
                seconds=summary["seconds"],
                labels={metric: {"label": label, "meaning": meaning}
                        for metric, (label, meaning) in METRIC_LABELS.items()})
    if results:
        body["results"] = [{**row, "answer": _answer_text(r.response)}
                           for row, r in zip(summary["results"], run.summary.results)]
    return body


def run_csv(run: EvalRun) -> str:
    """One row per question: what was asked, the answer, passed or not, and why not."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in run_json(run).get("results", []):
        writer.writerow({
            **{k: row[k] for k in ("line", "kind", "split", "passed", "abstained", "urgent")},
            "question": spreadsheet_cell(row["question"]),
            "answer": spreadsheet_cell(row["answer"]),
            "cited_docs": ";".join(row["cited_docs"]),
            "failures": spreadsheet_cell("; ".join(row["failures"])),
        })
    return buffer.getvalue()


def _answer_text(response: dict[str, Any] | None) -> str | None:
    """The text a patient reads (seek-care message, cited sentences or the abstention)."""
    if not isinstance(response, dict):
        return None
    text = response.get("answer")
    return text if isinstance(text, str) else json.dumps(text)
