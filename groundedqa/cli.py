"""The `groundedqa` command: ingest, serve, ask, eval, bench."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from groundedqa.errors import CliError
from groundedqa.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "index", None):
        overrides["index"] = Path(args.index)
    return Settings(**overrides)


# ------------------------------------------------------------------------------------------------
# ingest
# ------------------------------------------------------------------------------------------------

def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    """Build (or update) the index from PATHs, with a progress bar and a closing summary."""
    from rich.console import Console

    from groundedqa.ingest.build import build_index, progress_context

    paths = [Path(p) for p in args.paths] or [settings.corpus]
    for path in paths:
        if not path.exists():
            raise CliError(f"{path} does not exist")
    console = Console(stderr=True)
    with progress_context(not args.quiet and console.is_terminal) as progress:
        report = build_index(paths, settings.index, settings, progress=progress)
    print_ingest_summary(report, settings.index, console)
    return 0


def print_ingest_summary(report, index_dir: Path, console) -> None:
    """The closing summary: counts, time, what was embedded or reused, files skipped and why."""
    state = "published build " + str(report.build_id) if report.changed else "unchanged"
    console.print(
        f"[bold]index[/] {index_dir}: {state}\n"
        f"  documents {report.documents}  passages {report.passages}  sentences {report.sentences}"
        f"  in {report.seconds:.1f} s\n"
        f"  embedded {report.embedded_documents} new/changed documents, reused "
        f"{report.reused_documents}, removed {report.removed_documents}"
    )
    for note in report.notes:
        console.print(f"  note: {note}")
    if report.skipped:
        console.print(f"  skipped {len(report.skipped)}:")
        for item in report.skipped:
            console.print(f"    {item.source}: {item.reason}", markup=False)


def ensure_index(settings: Settings, embedder=None) -> None:
    """Build the default index from the corpus folder when none exists yet."""
    from rich.console import Console

    from groundedqa.ingest.build import build_index
    from groundedqa.index.builds import current_build_id

    if current_build_id(settings.index) is None:
        console = Console(stderr=True)
        console.print(f"no index at {settings.index}: building it from {settings.corpus}")
        report = build_index([settings.corpus], settings.index, settings, embedder=embedder)
        print_ingest_summary(report, settings.index, console)


# ------------------------------------------------------------------------------------------------
# serve / ask
# ------------------------------------------------------------------------------------------------

def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the API; the index is loaded once and swapped when a new build is published."""
    # bm25s imports numba whenever it is installed (ranx needs it for `eval`), but a server only
    # scores through bm25s's numpy path: blocking the import keeps ~80 MiB (numba + llvmlite)
    # out of every replica.
    sys.modules.setdefault("numba", None)  # type: ignore[arg-type]
    import uvicorn

    from groundedqa.api.app import create_app
    from groundedqa.index.batching import with_batching
    from groundedqa.index.encoders import load_encoder
    from groundedqa.service import Service

    encoder = load_encoder(settings, threads=settings.query_threads, serving=True)
    ensure_index(settings, encoder)
    # Load now, so a bad index fails here with a clear message, not on the first request.
    service = Service.load(settings, encoder=with_batching(encoder, settings))
    app = create_app(settings, service)
    # The app writes its own JSON access log (without client addresses); uvicorn's would repeat it.
    uvicorn.run(app, host=args.host or settings.host, port=args.port or settings.port,
                log_level="warning" if args.quiet else "info", access_log=False)
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """Answer one question in the terminal (or print the exact HTTP body with --json)."""
    from groundedqa.api.app import answer_json
    from groundedqa.service import Service

    service = Service.load(settings)
    result = service.answer(args.question, args.max_sentences).to_dict()
    if args.json:
        sys.stdout.write(answer_json(result) + "\n")
    else:
        from groundedqa.api.terminal import render_answer

        render_answer(result)
    return 0


# ------------------------------------------------------------------------------------------------
# wiring
# ------------------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    """The full command tree (each stage registers its own subcommands)."""
    from groundedqa.eval import bench_answer, bench_load, cli as eval_cli

    parser = argparse.ArgumentParser(
        prog="groundedqa",
        description="Evidence-grounded answers from a clinic's trusted articles.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="build or update the index from articles")
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="files or folders (.txt .md .html .jsonl); default: the corpus folder")
    p.add_argument("--index", metavar="DIR", help="index directory (default: $GROUNDEDQA_INDEX or var/index)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("serve", help="serve the HTTP API (builds the default index if missing)")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--index", metavar="DIR")
    p.add_argument("--quiet", action="store_true", help="log warnings only")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("ask", help="answer one question in the terminal")
    p.add_argument("question")
    p.add_argument("--index", metavar="DIR")
    p.add_argument("--json", action="store_true", help="print exactly the HTTP response body")
    p.add_argument("--max-sentences", type=int, default=None)
    p.set_defaults(func=cmd_ask)

    eval_cli.register(sub)

    bench = sub.add_parser("bench", help="benchmarks (report ratios measured in one run)")
    bench_sub = bench.add_subparsers(dest="bench", required=True, metavar="BENCH")
    eval_cli.register_bench_ingest(bench_sub)
    bench_answer.register_bench_answer(bench_sub)
    bench_load.register_bench_load(bench_sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console command."""
    from groundedqa.ingest.build import IngestError
    from groundedqa.answer.question import InvalidQuestion
    from groundedqa.answer.redflags import RedFlagError
    from groundedqa.index.builds import IndexUnavailable
    from groundedqa.index.model_files import ModelNotFound

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args, _settings(args)) or 0)
    except CliError as exc:
        print(f"groundedqa: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except (IngestError, IndexUnavailable, InvalidQuestion, RedFlagError, ModelNotFound,
            FileNotFoundError, ValueError) as exc:
        print(f"groundedqa: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
