"""`groundedqa bench answer`: /v1/answer latency over HTTP against a bare model.encode, one run."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import httpx
import numpy as np

from groundedqa.errors import CliError
from groundedqa.eval.server import running_server
from groundedqa.settings import Settings

DEFAULT_QUESTIONS = Path(__file__).parent / "questions" / "seed.jsonl"


def register_bench_answer(bench_sub: argparse._SubParsersAction) -> None:
    p = bench_sub.add_parser("answer", help="p50/p95 of /v1/answer vs a bare model.encode")
    p.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS,
                   help="JSONL with a 'question' field per line (default: the seed question set)")
    p.add_argument("--rounds", type=int, default=3, help="passes over the question set")
    p.add_argument("--index", metavar="DIR", help="index directory (default: $GROUNDEDQA_INDEX or var/index)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1), linearly interpolated."""
    return float(np.percentile(values, q * 100))


def run(args: argparse.Namespace, settings: Settings) -> int:
    from groundedqa.index.encoders import load_encoder

    questions = _read_questions(args.questions)
    if args.rounds < 1:
        raise CliError("--rounds must be at least 1")
    # The two phases run one after the other: on two cores, a server's idle-spinning torch
    # threads would slow an encode interleaved with its requests and flatter the ratio.
    embedder = load_encoder(settings, threads=settings.query_threads)
    embedder.encode(questions[:4])  # warm-up, as the server warms up on its first request
    bare = _timed(lambda q, model=embedder: model.encode([q]), questions, args.rounds)
    del embedder
    with running_server(settings.index, rate_limit_off=True) as (url, _pid), \
            httpx.Client(timeout=60) as client:

        def ask(q: str) -> None:
            response = client.post(url + "/v1/answer", json={"question": q})
            if response.status_code != 200:
                raise CliError(f"/v1/answer answered {response.status_code} for {q!r}")

        ask(questions[0])
        http = _timed(ask, questions, args.rounds)
    result = {
        "requests": len(http),
        "http_p50_ms": percentile(http, 0.5) * 1000, "http_p95_ms": percentile(http, 0.95) * 1000,
        "encode_p50_ms": percentile(bare, 0.5) * 1000, "encode_p95_ms": percentile(bare, 0.95) * 1000,
    }
    result["p50_ratio"] = result["http_p50_ms"] / result["encode_p50_ms"]
    result["p95_ratio"] = result["http_p95_ms"] / result["encode_p95_ms"]
    if args.json:
        print(json.dumps({k: round(v, 3) for k, v in result.items()}))
    else:
        print(f"{result['requests']} requests: /v1/answer p50 {result['http_p50_ms']:.1f} ms, "
              f"p95 {result['http_p95_ms']:.1f} ms; bare encode p50 {result['encode_p50_ms']:.1f} ms, "
              f"p95 {result['encode_p95_ms']:.1f} ms; ratio p50 {result['p50_ratio']:.2f}, "
              f"p95 {result['p95_ratio']:.2f}")
    return 0


def _timed(call, questions: list[str], rounds: int) -> list[float]:
    """Seconds per call of `call(question)`, over `rounds` passes."""
    times = []
    for _ in range(rounds):
        for q in questions:
            t = time.perf_counter()
            call(q)
            times.append(time.perf_counter() - t)
    return times


def _read_questions(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from exc
    questions = []
    for n, line in enumerate(lines, 1):
        if line.strip():
            try:
                questions.append(json.loads(line)["question"])
            except (ValueError, KeyError, TypeError) as exc:
                raise CliError(f"{path}:{n}: not a JSON object with a 'question'") from exc
    if not questions:
        raise CliError(f"{path} has no questions")
    return questions
