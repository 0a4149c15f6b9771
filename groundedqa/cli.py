"""The `groundedqa` command: ingest, serve, ask, eval, bench."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from groundedqa.errors import CliError, IngestError
from groundedqa.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    from pydantic import ValidationError

    overrides = {}
    if getattr(args, "index", None):
        overrides["index"] = Path(args.index)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "GROUNDEDQA_" + str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise CliError(f"{name}: {first['msg'].removeprefix('Value error, ')}") from exc


# ------------------------------------------------------------------------------------------------
# ingest
# ------------------------------------------------------------------------------------------------

def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    """Add or update PATHs' documents in the index (with --sync: make it match PATHs exactly),
    with a progress bar and a closing summary; --dry-run prints the plan and writes nothing."""
    from rich.console import Console

    from groundedqa.ingest.build import build_index, progress_context

    paths = [Path(p) for p in args.paths] or [settings.corpus]
    for path in paths:
        if not path.exists():
            raise CliError(f"{path} does not exist")
    console = Console(stderr=True)

    def show_plan(plan) -> None:
        print_ingest_plan(plan, paths, console, dry_run=args.dry_run)

    state = None if args.dry_run else _record_versions(settings)
    with progress_context(not args.quiet and not args.dry_run and console.is_terminal) as progress:
        report = build_index(paths, settings.index, settings, progress=progress, sync=args.sync,
                             dry_run=args.dry_run, on_plan=show_plan,
                             on_publish=state.versions.record_published if state else None)
    if not args.dry_run:
        print_ingest_summary(report, settings.index, console)
    elif report.skipped:
        _print_skipped(report, console)
    return 0


#: How many document ids a plan lists per line before summing up the rest.
PLAN_IDS_SHOWN = 20


def print_ingest_plan(plan, paths: list[Path], console, *, dry_run: bool) -> None:
    """What the ingest does to the index: documents added, updated, kept, removed (by id)."""
    given = ", ".join(str(p) for p in paths)
    head = "plan (dry run, nothing written)" if dry_run else "plan"
    console.print(f"[bold]{head}[/]: {given}", markup=True)

    def line(label: str, ids: list[str]) -> None:
        shown = ", ".join(ids[:PLAN_IDS_SHOWN])
        more = f" ... and {len(ids) - PLAN_IDS_SHOWN} more" if len(ids) > PLAN_IDS_SHOWN else ""
        console.print(f"  {label} {len(ids)}" + (f": {shown}{more}" if ids else ""), markup=False)

    line("add", plan.add)
    line("update", plan.update)
    console.print(f"  unchanged {len(plan.unchanged)}", markup=False)
    if plan.sync:
        line("remove (indexed, not in the paths given)", plan.remove)
    elif plan.keep:
        console.print(f"  keep {len(plan.keep)} other indexed documents (`--sync` would remove "
                      "those not in the paths given)", markup=False)


def _record_versions(settings: Settings):
    """The state store, with the live build's document versions recorded (so that the build
    about to run retires them rather than losing them): citations to them stay readable."""
    from groundedqa.admin import record_live_versions
    from groundedqa.state import StateStore

    state = StateStore.open(settings)
    record_live_versions(settings, state)
    return state


def print_ingest_summary(report, index_dir: Path, console) -> None:
    """The closing summary: counts, time, what was embedded or reused, files skipped and why."""
    state = "published build " + str(report.build_id) if report.changed else "unchanged"
    console.print(
        f"[bold]index[/] {index_dir}: {state}\n"
        f"  documents {report.documents}  passages {report.passages}  sentences {report.sentences}"
        f"  in {report.seconds:.1f} s\n"
        f"  embedded {report.embedded_documents} new/changed documents, reused "
        f"{report.reused_documents}, kept {report.kept_documents} not given, removed "
        f"{report.removed_documents}"
    )
    for note in report.notes:
        console.print(f"  note: {note}")
    _print_skipped(report, console)


def _print_skipped(report, console) -> None:
    if report.skipped:
        console.print(f"  skipped {len(report.skipped)}:")
        for item in report.skipped:
            console.print(f"    {item.source}: {item.reason}", markup=False)


#: How long a replica starting on an empty index root waits for another one's first build.
FIRST_BUILD_WAIT_SECONDS = 1800.0


def ensure_index(settings: Settings, embedder=None) -> None:
    """Build the default index from the corpus folder when none exists yet.

    Replicas starting together on one empty index root build it once: the one holding the
    builder lock builds, the others wait for its CURRENT.
    """
    from groundedqa.index.builds import current_build_id

    if current_build_id(settings.index) is not None:
        return
    # Only a start without an index builds: the ingest pipeline's imports (parsers for every
    # format) stay out of an ordinary start.
    from rich.console import Console

    from groundedqa.ingest.build import build_index

    console = Console(stderr=True)
    state = _record_versions(settings)
    deadline = time.monotonic() + FIRST_BUILD_WAIT_SECONDS
    try:
        while current_build_id(settings.index) is None:
            with state.builder_lock(settings.index) as builder:
                if builder and current_build_id(settings.index) is None:
                    console.print(f"no index at {settings.index}: building it from {settings.corpus}")
                    report = build_index([settings.corpus], settings.index, settings,
                                         embedder=embedder,
                                         on_publish=state.versions.record_published)
                    print_ingest_summary(report, settings.index, console)
                    return
            if time.monotonic() > deadline:
                raise CliError(f"no index at {settings.index} after waiting "
                               f"{FIRST_BUILD_WAIT_SECONDS:.0f} s for another replica's build")
            time.sleep(1.0)
    finally:
        state.close()


# ------------------------------------------------------------------------------------------------
# serve / ask
# ------------------------------------------------------------------------------------------------

def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the API; the index is loaded once and swapped when a new build is published."""
    # bm25s imports numba whenever it is installed (ranx needs it for `eval`), but a server only
    # scores through bm25s's numpy path: blocking the import keeps ~80 MiB (numba + llvmlite)
    # out of every replica.
    sys.modules.setdefault("numba", None)  # type: ignore[arg-type]
    from groundedqa.index.encoders import load_encoder

    serve(settings, load_encoder(settings, threads=settings.query_threads, serving=True),
          host=args.host,
          port=args.port, quiet=args.quiet)
    return 0


def serve(settings: Settings, encoder, *, host: str | None = None, port: int | None = None,
          quiet: bool = False) -> None:
    """Build the index if there is none, load it, serve until a signal (drains on SIGTERM)."""
    from groundedqa.api.app import create_app
    from groundedqa.api.server import run_server
    from groundedqa.index.batching import with_batching
    from groundedqa.service import Service

    ensure_index(settings, encoder)
    # Load now, so a bad index fails here with a clear message, not on the first request.
    service = Service.load(settings, encoder=with_batching(encoder, settings))
    app = create_app(settings, service)
    run_server(app, settings, host=host, port=port, log_level="warning" if quiet else "info")


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """Answer one question in the terminal (or print the exact HTTP body with --json);
    `--history`: the patient's earlier messages, oldest first, as the HTTP `history`."""
    from groundedqa.service import Service

    service = Service.load(settings)
    result = service.answer(args.question, args.max_sentences, args.history or ()).to_dict()
    _show(result, args.json)
    return 0


#: Typed alone on a line, these end `groundedqa chat`.
CHAT_EXIT = frozenset({"exit", "quit"})


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    """A conversation in the terminal: one message per line, each answered with the earlier ones
    as its history, until end of input or "exit". A message the service rejects gets a one-line
    error and is left out of the history."""
    from groundedqa.answer.question import InvalidQuestion
    from groundedqa.answer.types import MAX_HISTORY
    from groundedqa.service import Service

    service = Service.load(settings)
    history: list[str] = []
    prompt = sys.stdin.isatty()
    while True:
        if prompt:
            print("> ", end="", file=sys.stderr, flush=True)
        line = sys.stdin.readline()
        if not line or line.strip().lower() in CHAT_EXIT:
            return 0
        message = line.strip()
        if not message:
            continue
        try:
            result = service.answer(message, args.max_sentences, history).to_dict()
        except InvalidQuestion as exc:
            print(f"groundedqa: error: {exc}", file=sys.stderr)
            continue
        _show(result, args.json)
        history = [*history, message][-MAX_HISTORY:]


def _show(result: dict, as_json: bool) -> None:
    """The exact HTTP body on one line (--json), or the answer rendered for a terminal."""
    if as_json:
        from groundedqa.api.app import answer_json

        sys.stdout.write(answer_json(result) + "\n")
        sys.stdout.flush()
    else:
        from groundedqa.api.terminal import render_answer

        render_answer(result)


# ------------------------------------------------------------------------------------------------
# wiring
# ------------------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    """The full command tree (each stage registers its own subcommands)."""
    from groundedqa import clinic_cli, ops_cli
    from groundedqa.eval import bench_answer, bench_load, cli as eval_cli

    parser = argparse.ArgumentParser(
        prog="groundedqa",
        description="Evidence-grounded answers from a clinic's trusted articles.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="add or update articles in the index (--sync: match PATHs)")
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="files or folders (.txt .md .html .jsonl); default: the corpus folder")
    p.add_argument("--sync", action="store_true",
                   help="make the index match PATHs exactly: indexed documents not among them are "
                   "removed (the plan printed first lists them)")
    p.add_argument("--dry-run", action="store_true",
                   help="print what would be added, updated and removed; write nothing")
    p.add_argument("--index", metavar="DIR", help="index directory (default: $GROUNDEDQA_INDEX or var/index)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("serve", help="serve the HTTP API (builds the default index if missing)")
    p.add_argument("--host", default=None, help="address to listen on (default: "
                   "$GROUNDEDQA_HOST or 127.0.0.1; behind a reverse proxy keep the loopback)")
    p.add_argument("--port", type=int, default=None,
                   help="TCP port (default: $GROUNDEDQA_PORT or 8000)")
    p.add_argument("--index", metavar="DIR", help="index directory (default: $GROUNDEDQA_INDEX or var/index)")
    p.add_argument("--quiet", action="store_true", help="log warnings only")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("ask", help="answer one question in the terminal")
    p.add_argument("question", help="the question, quoted, in the patient's own words")
    p.add_argument("--index", metavar="DIR", help="index directory (default: $GROUNDEDQA_INDEX or var/index)")
    p.add_argument("--json", action="store_true", help="print exactly the HTTP response body")
    p.add_argument("--max-sentences", type=int, default=None, metavar="N",
                   help="quote at most N sentences (default: $GROUNDEDQA_MAX_SENTENCES or 5)")
    p.add_argument("--history", action="append", metavar="MESSAGE",
                   help="an earlier message of the conversation (repeat, oldest first)")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="a conversation in the terminal (one message per line; "
                       "\"exit\" or end of input ends it)")
    p.add_argument("--index", metavar="DIR", help="index directory (default: $GROUNDEDQA_INDEX or var/index)")
    p.add_argument("--json", action="store_true", help="print each HTTP response body on a line")
    p.add_argument("--max-sentences", type=int, default=None, metavar="N",
                   help="quote at most N sentences (default: $GROUNDEDQA_MAX_SENTENCES or 5)")
    p.set_defaults(func=cmd_chat)

    eval_cli.register(sub)
    clinic_cli.register(sub)
    ops_cli.register(sub)

    bench = sub.add_parser("bench", help="benchmarks (report ratios measured in one run)")
    bench_sub = bench.add_subparsers(dest="bench", required=True, metavar="BENCH")
    eval_cli.register_bench_ingest(bench_sub)
    bench_answer.register_bench_answer(bench_sub)
    bench_load.register_bench_load(bench_sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console command."""
    from groundedqa.answer.question import InvalidQuestion
    from groundedqa.answer.redflags import RedFlagError
    from groundedqa.index.builds import IndexUnavailable
    from groundedqa.index.model_files import ModelNotFound
    from groundedqa.state import StateError

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args, _settings(args)) or 0)
    except CliError as exc:
        print(f"groundedqa: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except (IngestError, IndexUnavailable, InvalidQuestion, RedFlagError, ModelNotFound,
            StateError, FileNotFoundError, ValueError) as exc:
        print(f"groundedqa: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
