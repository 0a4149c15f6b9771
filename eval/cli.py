"""The `eval grounding`, `eval retrieval` and `bench ingest` commands (wired by groundedqa.cli)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from groundedqa.errors import CliError
from groundedqa.eval import answers as answers_eval
from groundedqa.eval import conversations, grounding
from groundedqa.eval.clients import HttpClient, PipelineClient
from groundedqa.settings import Settings

METHODS = ("bm25", "dense", "hybrid")
API_KEY_ENV = "GROUNDEDQA_EVAL_API_KEY"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `eval` with its `grounding`, `retrieval` and `answers` subcommands."""
    parser = subparsers.add_parser("eval", help="evaluate grounding, safety and retrieval quality")
    sub = parser.add_subparsers(dest="eval_command", required=True, metavar="EVAL")

    p = sub.add_parser(
        "grounding", help="re-verify answers to a question file; non-zero exit when a threshold is missed",
        description="Ask every question, verify each answer against the article text fetched "
        "independently, score it per kind, and exit 1 when a threshold is missed.",
    )
    p.add_argument("questions", type=Path, metavar="QUESTIONS.jsonl",
                   help="question set, one JSON object a line (e.g. eval/questions/seed.jsonl)")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--index", metavar="DIR", help="index to load in-process (default: settings)")
    target.add_argument("--url", help="a running server to evaluate instead, e.g. http://127.0.0.1:8000")
    p.add_argument("--api-key", default=None, help=f"X-API-Key for --url (default: ${API_KEY_ENV})")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per HTTP request (--url)")
    p.add_argument("--max-sentences", type=int, default=None,
                   help="sentences per answer at most (default: the service's own)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--report", type=Path, metavar="FILE", help="write an HTML report for clinicians")
    p.add_argument("--split", metavar="NAME", default=None,
                   help="evaluate only the questions of this split (e.g. tune or holdout)")
    for t in grounding.DEFAULT_THRESHOLDS:
        p.add_argument(t.option, type=float, default=t.bound, metavar="X",
                       help=f"{'maximum' if t.ceiling else 'minimum'} {t.metric} (default {t.bound:g})")
    p.set_defaults(func=run_grounding)

    p = sub.add_parser(
        "conversations", help="play multi-turn conversations; non-zero exit when a goal is missed",
        description="Send every conversation turn by turn (earlier messages as `history`), verify "
        "each response's grounding, score follow-ups, urgency across messages and context bleed "
        "per category, and exit 1 when a goal is missed.",
    )
    p.add_argument("conversations", type=Path, metavar="FILE",
                   help="JSONL: one conversation per line (id, split, category, turns)")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--index", metavar="DIR", help="index to load in-process (default: settings)")
    target.add_argument("--url", help="a running server to evaluate instead")
    p.add_argument("--api-key", default=None, help=f"X-API-Key for --url (default: ${API_KEY_ENV})")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per HTTP request (--url)")
    p.add_argument("--split", metavar="NAME", default=None,
                   help="only the conversations of this split (e.g. tune or holdout)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--show-failures", action="store_true",
                   help="list every failed turn and why (not with --json: it has them all)")
    for t in conversations.DEFAULT_GOALS:
        p.add_argument(t.option, type=float, default=t.bound, metavar="X",
                       help=f"{'maximum' if t.ceiling else 'minimum'} {t.metric} (default {t.bound:g})")
    p.set_defaults(func=run_conversations, max_sentences=None)

    p = sub.add_parser(
        "retrieval", help="nDCG/Recall/MRR/MAP of each retrieval method on a BEIR folder",
        description="Index a BEIR corpus (reused when unchanged), rank every judged query with "
        "each method and score the runs with ranx, with a significance test between methods.",
    )
    p.add_argument("dataset", type=Path, metavar="DATASET_DIR",
                   help="a BEIR folder: corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv")
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of "
                   + ",".join(METHODS))
    p.add_argument("--split", default="test", help="qrels file qrels/SPLIT.tsv (default test)")
    p.add_argument("--index-dir", type=Path, metavar="DIR",
                   help="where the dataset's index lives (default var/eval-index/<hash of the path>)")
    p.add_argument("--stat-test", choices=("student", "fisher", "tukey"), default="student",
                   help="ranx significance test between the methods (default student)")
    p.add_argument("--max-p", type=float, default=0.05, help="significance level (default 0.05)")
    p.add_argument("--json", action="store_true", help="print the scores as JSON")
    p.add_argument("--plot", type=Path, metavar="FILE", help="write a PNG bar chart of the metrics")
    p.set_defaults(func=run_retrieval)

    p = sub.add_parser(
        "answers", help="are the quoted sentences the right ones? (question file or BEIR folder)",
        description="Ask every question and score the quoted sentences: against the ideal and "
        "acceptable sentences of a question file (recall, precision, noise, articles, one-excerpt "
        "share, per question type), or against the graded qrels of a BEIR folder (answered, first "
        "cited article relevant, its grade, sentence precision), which is ingested first (reused "
        "when unchanged). Exits 1 when a threshold is missed.",
    )
    p.add_argument("target", type=Path, metavar="FILE|DATASET_DIR",
                   help="a question file (JSON Lines with ideal/acceptable sentences) or a BEIR "
                   "folder with graded qrels")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--index", metavar="DIR",
                        help="index to load in-process (a BEIR folder is ingested into it; default: "
                        "settings for a file, var/eval-index/<hash of the path> for a folder)")
    target.add_argument("--url", help="a running server to evaluate instead, e.g. http://127.0.0.1:8000")
    p.add_argument("--split", default=None, metavar="NAME",
                   help="question file: only questions of this split (e.g. tune, holdout); "
                   "BEIR folder: the qrels file qrels/NAME.tsv (default test)")
    p.add_argument("--api-key", default=None, help=f"X-API-Key for --url (default: ${API_KEY_ENV})")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per HTTP request (--url)")
    p.add_argument("--max-sentences", type=int, default=None,
                   help="sentences per answer at most (default: the service's own)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    seen: set[str] = set()
    for t in answers_eval.ANSWER_THRESHOLDS + answers_eval.OPTIONAL_ANSWER_THRESHOLDS \
            + answers_eval.BEIR_THRESHOLDS:
        if t.option not in seen:
            seen.add(t.option)
            p.add_argument(t.option, type=float, default=None, metavar="X", help=_bound_help(t.option))
    p.set_defaults(func=run_answers)


def _bound_help(option: str) -> str:
    """Which default an answers threshold has in each mode."""
    modes = []
    for mode, table in (("file", answers_eval.ANSWER_THRESHOLDS), ("BEIR", answers_eval.BEIR_THRESHOLDS)):
        for t in table:
            if t.option == option:
                modes.append(f"{mode} default {t.bound:g}")
    kind = "maximum" if option.startswith("--max") else "minimum"
    return f"{kind} {option[6:].replace('-', ' ')}" + (f" ({'; '.join(modes)})" if modes else " (off unless given)")


def register_bench_ingest(bench_subparsers: argparse._SubParsersAction) -> None:
    """Add `bench ingest` under the `bench` command."""
    p = bench_subparsers.add_parser(
        "ingest", help="ingest wall time vs one bare torch pass over every token",
        description="Ingest PATH into a temporary index with the configured encoder and time, "
        "in the same run, one bare torch pass over every token of the same documents (their "
        "cleaned text in 200-word windows, batch 64).",
    )
    p.add_argument("path", type=Path, metavar="PATH",
                   help="files or a folder of articles (or a BEIR corpus.jsonl) to ingest")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N documents")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_bench_ingest)


# ------------------------------------------------------------------------------------------------
# eval grounding
# ------------------------------------------------------------------------------------------------

@contextmanager
def _writing(path: Path):
    """Turn a failure to write an output file into a one-line CliError."""
    try:
        yield
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from exc


def make_client(args: argparse.Namespace, settings: Settings) -> Any:
    """The service under test: a running server with --url, else the in-process pipeline."""
    if getattr(args, "url", None):
        if not args.url.startswith(("http://", "https://")):
            raise CliError(f"--url must start with http:// or https://, got {args.url!r}")
        api_key = args.api_key or os.environ.get(API_KEY_ENV) or None
        return HttpClient(args.url, api_key=api_key, timeout=args.timeout,
                          max_sentences=args.max_sentences)
    from groundedqa.index.builds import IndexUnavailable
    from groundedqa.service import Service

    index = Path(args.index) if getattr(args, "index", None) else settings.index
    settings = settings.model_copy(update={"index": index})
    try:
        service = Service.load(settings)
    except IndexUnavailable as exc:
        raise CliError(f"cannot load the index at {index}: {exc}") from exc
    return PipelineClient(service, f"index {index}", args.max_sentences)


def thresholds_from(args: argparse.Namespace,
                    defaults: tuple[grounding.Threshold, ...] = grounding.DEFAULT_THRESHOLDS,
                    ) -> list[grounding.Threshold]:
    """The thresholds with the bounds given on the command line."""
    out = []
    for t in defaults:
        bound = getattr(args, t.option.lstrip("-").replace("-", "_"))
        if not 0.0 <= bound <= 1.0:
            raise CliError(f"{t.option} must be between 0 and 1, got {bound:g}")
        out.append(replace(t, bound=bound))
    return out


def ask_all(label: str, total: int, client: Any, run: Any, show: bool) -> tuple[Any, float]:
    """`run(advance)` inside a progress bar of `total` steps (no bar when `show` is false), then
    `client` closed; returns (what `run` returned, seconds taken)."""
    from groundedqa.ingest.build import progress_context

    started = time.perf_counter()
    try:
        with progress_context(show) as progress:
            task = progress.add_task(label, total=total) if progress else None
            result = run((lambda: progress.advance(task)) if progress else None)
    finally:
        getattr(client, "close", lambda: None)()
    return result, time.perf_counter() - started


def run_grounding(args: argparse.Namespace, settings: Settings) -> int:
    """Ask, verify, score, show; 0 when every threshold is met, 1 when one is missed."""
    from rich.console import Console

    from groundedqa.eval.report import render_grounding, write_html_report

    try:
        questions = grounding.load_questions(args.questions)
        if getattr(args, "split", None):
            questions = grounding.select_split(questions, args.split)
    except grounding.QuestionFileError as exc:
        raise CliError(str(exc)) from exc
    thresholds = thresholds_from(args)
    client = make_client(args, settings)
    results, seconds = ask_all("questions", len(questions), client,
                               lambda advance: grounding.run_questions(questions, client, advance),
                               not args.json)
    summary = grounding.summarize(results, thresholds, client.target, seconds)
    if args.report:
        with _writing(args.report):
            write_html_report(summary, args.report)
    if args.json:
        print(json.dumps(grounding.summary_json(summary), indent=2, default=str))
    else:
        render_grounding(summary, Console())
        if args.report:
            print(f"report written to {args.report}")
    for line in summary.missed:
        print(f"threshold missed: {line}", file=sys.stderr)
    return summary.exit_code


# ------------------------------------------------------------------------------------------------
# eval conversations
# ------------------------------------------------------------------------------------------------

def run_conversations(args: argparse.Namespace, settings: Settings) -> int:
    """Play, verify, score, show; 0 when every goal is met, 1 when one is missed."""
    from rich.console import Console

    try:
        items = conversations.load_conversations(args.conversations)
        if args.split:
            items = grounding.select_split(items, args.split, "conversation")
    except grounding.QuestionFileError as exc:
        raise CliError(str(exc)) from exc
    goals = thresholds_from(args, conversations.DEFAULT_GOALS)
    client = make_client(args, settings)
    results, seconds = ask_all(
        "conversations", len(items), client,
        lambda advance: conversations.run_conversations(items, client, advance), not args.json)
    summary = conversations.summarize(results, goals, client.target, seconds)
    if args.json:
        print(json.dumps(conversations.summary_json(summary), indent=2, default=str))
    else:
        conversations.render(summary, Console(), args.show_failures)
    for line in summary.missed:
        print(f"goal missed: {line}", file=sys.stderr)
    return summary.exit_code


# ------------------------------------------------------------------------------------------------
# eval retrieval
# ------------------------------------------------------------------------------------------------

def parse_methods(text: str) -> list[str]:
    """`bm25,dense` -> ["bm25", "dense"], in the order given; CliError for anything unknown."""
    methods = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise CliError(f"--methods takes a comma-separated subset of {','.join(METHODS)}; "
                       f"got {text!r}")
    return list(dict.fromkeys(methods))


def run_retrieval(args: argparse.Namespace, settings: Settings) -> int:
    """Index the BEIR corpus (reused by content hash), rank with each method, score with ranx."""
    from rich.console import Console

    from groundedqa.eval import retrieval_eval as rev
    from groundedqa.ingest.build import IngestError, build_index, progress_context
    from groundedqa.index.builds import open_index
    from groundedqa.index.encoders import load_encoder
    from groundedqa.retrieval.search import HybridSearch, HybridWeights

    methods = parse_methods(args.methods)
    try:
        dataset = rev.load_beir(args.dataset, args.split)
    except rev.DatasetError as exc:
        raise CliError(str(exc)) from exc
    index_dir = args.index_dir or rev.index_dir_for(dataset.root, settings.index.parent / "eval-index")
    err = Console(stderr=True)
    t0 = time.perf_counter()
    embedder = load_encoder(settings)
    with progress_context(not args.json) as progress:
        try:
            build = build_index([dataset.corpus], index_dir, settings, embedder=embedder,
                                progress=progress, sync=True)
        except IngestError as exc:
            raise CliError(str(exc)) from exc
        index_s = time.perf_counter() - t0
        # Only the search is needed: a Service would also want the clinic's red flags, whose
        # quoted articles are not in a benchmark corpus.
        index = open_index(index_dir, expect_model=embedder.describe())
        _check_ids(dataset, index.store, err)
        weights = HybridWeights.of(settings)
        retriever = HybridSearch(index, embedder, weights)
        runs, query_s = {}, {}
        for method in methods:
            task = progress.add_task(f"query {method}", total=len(dataset.queries)) if progress else None
            t = time.perf_counter()
            runs[method] = rev.run_method(
                retriever, dataset.queries, method,
                advance=(lambda n, task=task: progress.advance(task, n)) if progress else None)
            query_s[method] = time.perf_counter() - t
    scores = rev.score_runs(dataset.qrels, runs, stat_test=args.stat_test, max_p=args.max_p)
    wall = time.perf_counter() - t0
    extra = {
        "hybrid_weights": asdict(weights),
        "index": {"dir": str(index_dir), "build": build.build_id, "reused": not build.changed,
                  "documents": build.documents, "skipped": len(build.skipped)},
        "seconds": {"index": round(index_s, 2), "query": {m: round(s, 2) for m, s in query_s.items()},
                    "total": round(wall, 2)},
    }
    title = f"{dataset.name}: {len(dataset.queries)} queries, {build.documents} documents"
    if args.plot:
        with _writing(args.plot):
            rev.plot_scores(scores, args.plot, title)
    if args.json:
        print(json.dumps(rev.result_json(dataset, scores, extra), indent=2))
    else:
        console = Console()
        console.print(rev.scores_table(scores, title))
        state = "reused" if not build.changed else "built"
        console.print(f"index {state} at {index_dir} in {index_s:.1f} s; queries "
                      + ", ".join(f"{m} {s:.1f} s" for m, s in query_s.items())
                      + f"; wall time {wall:.1f} s", markup=False)
        if args.plot:
            console.print(f"plot written to {args.plot}", markup=False)
    return 0


def _check_ids(dataset: Any, store: Any, console: Any) -> None:
    """Judged documents must be in the index under their BEIR ids, or every score is zero."""
    judged = {doc for docs in dataset.qrels.values() for doc in docs}
    present = sum(1 for doc in judged if store.document(doc) is not None)
    if present == 0:
        raise CliError(f"none of the {len(judged)} judged documents is in the index under its "
                       f"corpus '_id'; was {dataset.corpus} ingested with other ids?")
    if present < len(judged):
        console.print(f"warning: {len(judged) - present} of {len(judged)} judged documents are "
                      "not in the index (skipped at ingest); they count as not retrieved", markup=False)


# ------------------------------------------------------------------------------------------------
# bench ingest
# ------------------------------------------------------------------------------------------------

def run_bench_ingest(args: argparse.Namespace, settings: Settings) -> int:
    """Time an ingest and one bare torch pass over its tokens in one run; print or --json."""
    from groundedqa.eval.bench_ingest import bench_ingest, describe
    from groundedqa.ingest.build import IngestError, progress_context

    if not args.path.exists():
        raise CliError(f"{args.path} does not exist")
    if args.limit is not None and args.limit < 1:
        raise CliError("--limit must be at least 1")
    try:
        with progress_context(not args.json) as progress:
            result = bench_ingest(args.path, settings, limit=args.limit, progress=progress)
    except (IngestError, ValueError) as exc:
        raise CliError(str(exc)) from exc
    if args.json:
        print(json.dumps(result.as_json()))
    else:
        print(describe(result))
    return 0


# ------------------------------------------------------------------------------------------------
# eval answers
# ------------------------------------------------------------------------------------------------

def answer_thresholds(args: argparse.Namespace, table: tuple[grounding.Threshold, ...],
                      metrics: type) -> list[grounding.Threshold]:
    """The mode's thresholds with bounds given on the command line, plus optional ones given."""
    out = []
    known = {t.option for t in table}
    optional = [t for t in answers_eval.OPTIONAL_ANSWER_THRESHOLDS if t.option not in known]
    for t in (*table, *optional):
        given = getattr(args, t.option.lstrip("-").replace("-", "_"), None)
        if t.metric not in metrics.__dataclass_fields__ or (given is None and t not in table):
            continue
        out.append(t if given is None else replace(t, bound=given))
    return out


def run_answers(args: argparse.Namespace, settings: Settings) -> int:
    """Score quoted sentences against a question file or a BEIR folder; 1 when a threshold is missed."""
    from rich.console import Console

    from groundedqa.eval.report import ANSWER_COLUMNS, groups_table, render_verdict

    if args.target.is_dir():
        return _run_answers_beir(args, settings)
    try:
        questions = answers_eval.load_answer_questions(
            args.target, answers_eval.manifest_doc_ids(settings.corpus))
        if args.split:
            questions = grounding.select_split(questions, args.split)
    except grounding.QuestionFileError as exc:
        raise CliError(str(exc)) from exc
    thresholds = answer_thresholds(args, answers_eval.ANSWER_THRESHOLDS, answers_eval.AnswerMetrics)
    client = make_client(args, settings)
    scores, seconds = ask_all(
        "questions", len(questions), client,
        lambda advance: answers_eval.run_answer_questions(questions, client, advance), not args.json)
    summary = answers_eval.summarize(scores, thresholds, client.target, seconds)
    if args.json:
        print(json.dumps(answers_eval.summary_json(summary), indent=2))
    else:
        console = Console()
        groups = {"all": summary.metrics, **summary.splits}
        console.print(groups_table(f"Answers: {len(scores)} questions against {client.target}",
                                   groups, ANSWER_COLUMNS))
        console.print(groups_table("Per question type", summary.types, ANSWER_COLUMNS))
        render_verdict(summary.missed, console)
    for line in summary.missed:
        print(f"threshold missed: {line}", file=sys.stderr)
    return 1 if summary.missed else 0


def _run_answers_beir(args: argparse.Namespace, settings: Settings) -> int:
    """Ingest the BEIR corpus (reused by content hash), ask every judged query, score by qrels."""
    from rich.console import Console

    from groundedqa.eval import retrieval_eval as rev
    from groundedqa.eval.report import BEIR_ANSWER_COLUMNS, groups_table, render_verdict
    from groundedqa.index.builds import IndexUnavailable
    from groundedqa.index.encoders import load_encoder
    from groundedqa.ingest.build import IngestError, build_index, progress_context
    from groundedqa.service import Service

    try:
        dataset = rev.load_beir(args.target, args.split or "test")
    except rev.DatasetError as exc:
        raise CliError(str(exc)) from exc
    thresholds = answer_thresholds(args, answers_eval.BEIR_THRESHOLDS, answers_eval.BeirAnswerMetrics)
    t0 = time.perf_counter()
    with progress_context(not args.json) as progress:
        if args.url:
            client = make_client(args, settings)
        else:
            index_dir = (Path(args.index) if args.index
                         else rev.index_dir_for(dataset.root, settings.index.parent / "eval-index"))
            embedder = load_encoder(settings)
            try:
                build_index([dataset.corpus], index_dir, settings, embedder=embedder, progress=progress)
                service = Service.load(settings.model_copy(update={"index": index_dir}), encoder=embedder)
            except (IngestError, IndexUnavailable) as exc:
                raise CliError(str(exc)) from exc
            client = PipelineClient(service, f"index {index_dir}", args.max_sentences)
        task = progress.add_task("queries", total=len(dataset.queries)) if progress else None
        try:
            scores = answers_eval.run_beir_queries(
                dataset.queries, dataset.qrels, client,
                (lambda: progress.advance(task)) if progress else None)
        finally:
            getattr(client, "close", lambda: None)()
    metrics = answers_eval.aggregate_beir(scores)
    missed = answers_eval.missed_thresholds(metrics, thresholds)
    if args.json:
        print(json.dumps({
            "target": client.target, "dataset": dataset.name,
            "seconds": round(time.perf_counter() - t0, 3), "metrics": metrics.as_dict(),
            "missed": missed, "passed": not missed,
            "results": [asdict(s) for s in scores],
        }, indent=2))
    else:
        console = Console()
        console.print(groups_table(f"Answers on {dataset.name}: {len(scores)} judged queries "
                                   f"against {client.target}", {"all": metrics}, BEIR_ANSWER_COLUMNS))
        render_verdict(missed, console)
    for line in missed:
        print(f"threshold missed: {line}", file=sys.stderr)
    return 1 if missed else 0
