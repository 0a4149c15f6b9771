"""`groundedqa bench answer`: /v1/answer latency over HTTP against a bare encode and its floor, one run."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from groundedqa.answer.types import MAX_HISTORY
from groundedqa.errors import CliError
from groundedqa.eval.server import cpu_seconds, rss_bytes, running_server, running_trivial_server
from groundedqa.settings import Settings

DEFAULT_QUESTIONS = Path(__file__).parent / "questions" / "seed.jsonl"
#: The replica's memory is read after this many answers (the issue's figure).
RSS_AFTER_ANSWERS = 50
MIB = 1024 * 1024


def register_bench_answer(bench_sub: argparse._SubParsersAction) -> None:
    p = bench_sub.add_parser(
        "answer", help="p50/p95 of /v1/answer vs a bare torch encode and vs its floor",
        description="In one run: a bare torch encode of each question, a bare encode by the "
        "variant the server runs, a do-nothing FastAPI round trip, then /v1/answer over HTTP; "
        "prints /v1/answer ÷ torch encode and ÷ (variant encode + round trip).")
    p.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS,
                   help="JSONL with a 'question' field per line (default: the seed question set)")
    p.add_argument("--rounds", type=int, default=3, help="passes over the question set")
    p.add_argument("--index", metavar="DIR",
                   help="index directory (default: $GROUNDEDQA_INDEX or var/index)")
    p.add_argument("--profile", type=Path, metavar="FILE", default=None,
                   help="also profile the answer path in-process (pyinstrument) and write the "
                   "text profile to FILE; prints the answer's non-model time p50/p95")
    p.add_argument("--history", type=int, default=0, metavar="N",
                   help="also time each question sent with N earlier messages as `history` (the "
                   "N questions before it in the set), interleaved with the same question alone: "
                   "p50/p95 for 0 and N turns in the same run")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1), linearly interpolated."""
    return float(np.percentile(values, q * 100))


def run(args: argparse.Namespace, settings: Settings) -> int:
    import httpx

    from groundedqa.index.encoders import load_encoder
    from groundedqa.index.torch_encoder import TorchEncoder

    questions = _read_questions(args.questions)
    if args.rounds < 1:
        raise CliError("--rounds must be at least 1")
    if not 0 <= args.history <= MAX_HISTORY:
        raise CliError(f"--history must be between 0 and {MAX_HISTORY} (the server reads the "
                       f"{MAX_HISTORY} most recent messages)")
    # The phases run one after the other: on two cores, a server's idle threads would slow an
    # encode interleaved with its requests and flatter the ratio.
    torch_model = TorchEncoder.load(settings.model, settings.encode_batch_size, settings.query_threads)
    torch_model.encode(questions[:4])  # warm-up, as the server warms up on its first request
    bare_torch = _timed(lambda q, model=torch_model: model.encode([q]), questions, args.rounds)
    del torch_model
    served = load_encoder(settings, threads=settings.query_threads, serving=True)
    served.encode(questions[:4])
    bare_served = _timed(lambda q, model=served: model.encode([q]), questions, args.rounds)
    profile = _profile(settings, served, questions, args.rounds, args.profile) if args.profile else {}
    del served
    with running_trivial_server() as (url, _pid), httpx.Client(timeout=60) as client:
        client.post(url + "/echo", json={"question": questions[0]})
        trivial = _timed(lambda q: client.post(url + "/echo", json={"question": q}), questions,
                         args.rounds)
    started = time.perf_counter()
    with running_server(settings.index, rate_limit_off=True) as (url, pid), \
            httpx.Client(timeout=60) as client:
        answered = [0]

        def ask(q: str, history: list[str] | None = None) -> None:
            body = {"question": q, **({"history": history} if history else {})}
            response = client.post(url + "/v1/answer", json=body)
            if response.status_code != 200:
                raise CliError(f"/v1/answer answered {response.status_code} for {q!r}")
            answered[0] += 1
            if answered[0] == RSS_AFTER_ANSWERS:
                memory["rss_after_50_answers_mib"] = (rss_bytes(pid) or 0) / MIB

        memory: dict[str, float] = {}
        ask(questions[0])
        first_answer_s = time.perf_counter() - started
        # CPU the server spent from its start to its first answer: on a machine shared with other
        # work, the wall time above also counts the time its threads waited for a core.
        first_answer_cpu_s = cpu_seconds(pid)
        if args.history:
            http, with_history = _timed_pairs(ask, questions, args.rounds, args.history)
        else:
            http, with_history = _timed(ask, questions, args.rounds), []
        memory["rss_end_mib"] = (rss_bytes(pid) or 0) / MIB
    result = {"requests": len(http), "start_to_first_answer_s": first_answer_s,
              "start_to_first_answer_cpu_s": first_answer_cpu_s, "encoder": settings.encoder,
              **memory}
    timings = [("http", http), ("torch_encode", bare_torch), ("served_encode", bare_served),
               ("trivial_http", trivial)]
    if with_history:
        result["history_turns"] = args.history
        timings.append(("http_history", with_history))
    for name, times in timings:
        result[f"{name}_p50_ms"] = percentile(times, 0.5) * 1000
        result[f"{name}_p95_ms"] = percentile(times, 0.95) * 1000
    for q in ("p50", "p95"):
        result[f"{q}_ratio_torch"] = result[f"http_{q}_ms"] / result[f"torch_encode_{q}_ms"]
        floor = result[f"served_encode_{q}_ms"] + result[f"trivial_http_{q}_ms"]
        result[f"{q}_ratio_floor"] = result[f"http_{q}_ms"] / floor
    if with_history:
        for q in ("p50", "p95"):
            result[f"{q}_ratio_history"] = result[f"http_history_{q}_ms"] / result[f"http_{q}_ms"]
    result.update(profile)
    if args.json:
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}))
    else:
        r = result
        print(f"{r['requests']} requests, encoder {r['encoder']}: /v1/answer p50 {r['http_p50_ms']:.1f} ms, "
              f"p95 {r['http_p95_ms']:.1f} ms\n"
              f"bare torch encode p50 {r['torch_encode_p50_ms']:.1f} ms, p95 {r['torch_encode_p95_ms']:.1f} ms; "
              f"bare {r['encoder']} encode p50 {r['served_encode_p50_ms']:.1f} ms, "
              f"p95 {r['served_encode_p95_ms']:.1f} ms; trivial FastAPI round trip p50 "
              f"{r['trivial_http_p50_ms']:.1f} ms, p95 {r['trivial_http_p95_ms']:.1f} ms\n"
              f"÷ torch encode: p50 {r['p50_ratio_torch']:.2f}, p95 {r['p95_ratio_torch']:.2f} "
              f"(goal ≤ 0.75); ÷ ({r['encoder']} encode + round trip): p50 {r['p50_ratio_floor']:.2f}, "
              f"p95 {r['p95_ratio_floor']:.2f} (goal ≤ 1.5)\n"
              f"start to first answer {r['start_to_first_answer_s']:.1f} s (goal ≤ 5; the server's CPU "
              f"time by then {r['start_to_first_answer_cpu_s']:.1f} s); server RSS after "
              f"{RSS_AFTER_ANSWERS} answers {r.get('rss_after_50_answers_mib', 0):.0f} MiB (goal ≤ 350 MB), "
              f"at the end {r['rss_end_mib']:.0f} MiB")
        if with_history:
            print(f"with {r['history_turns']} turns of history (same run, interleaved): p50 "
                  f"{r['http_history_p50_ms']:.1f} ms, p95 {r['http_history_p95_ms']:.1f} ms; "
                  f"÷ no history: p50 {r['p50_ratio_history']:.2f}, p95 {r['p95_ratio_history']:.2f}")
        if profile:
            print(f"answer path besides the model (in-process): wall p50 {r['non_model_p50_ms']:.3f} ms, "
                  f"p95 {r['non_model_p95_ms']:.3f} ms; thread CPU p50 "
                  f"{r['non_model_cpu_p50_ms']:.3f} ms, p95 {r['non_model_cpu_p95_ms']:.3f} ms; "
                  f"profile written to {args.profile}")
    return 0


def _profile(settings: Settings, encoder, questions: list[str], rounds: int, out: Path) -> dict:
    """Answer in-process, timing what the answer does besides the model call, under pyinstrument."""
    try:
        from pyinstrument import Profiler
    except ImportError as exc:
        raise CliError("--profile needs pyinstrument (pip install pyinstrument)") from exc
    from groundedqa.service import Service

    clock = _ModelClock(encoder)
    service = Service.load(settings, encoder=clock)
    for q in questions[:4]:
        service.answer(q)
    wall, cpu = [], []
    for _ in range(rounds):
        for q in questions:
            clock.seconds = clock.cpu_seconds = 0.0
            t, c = time.perf_counter(), time.thread_time()
            service.answer(q)
            wall.append(time.perf_counter() - t - clock.seconds)
            cpu.append(time.thread_time() - c - clock.cpu_seconds)
    # Profiled in a pass of its own: the sampler's overhead stays out of the figures above.
    profiler = Profiler(interval=0.0002)
    profiler.start()
    for q in questions:
        service.answer(q)
    profiler.stop()
    service.close()
    try:
        out.write_text(profiler.output_text(unicode=True, color=False, show_all=False), encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc.strerror or exc}") from exc
    return {"non_model_p50_ms": percentile(wall, 0.5) * 1000,
            "non_model_p95_ms": percentile(wall, 0.95) * 1000,
            "non_model_cpu_p50_ms": percentile(cpu, 0.5) * 1000,
            "non_model_cpu_p95_ms": percentile(cpu, 0.95) * 1000}


class _ModelClock:
    """An encoder that adds up the seconds spent in the wrapped encoder's `encode`."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.seconds = self.cpu_seconds = 0.0
        self.dimension = inner.dimension

    def describe(self) -> dict:
        return self.inner.describe()

    def encode(self, texts: list[str]) -> np.ndarray:
        t, c = time.perf_counter(), time.thread_time()
        try:
            return self.inner.encode(texts)
        finally:
            self.seconds += time.perf_counter() - t
            self.cpu_seconds += time.thread_time() - c


def _timed(call, questions: list[str], rounds: int) -> list[float]:
    """Seconds per call of `call(question)`, over `rounds` passes."""
    times = []
    for _ in range(rounds):
        for q in questions:
            t = time.perf_counter()
            call(q)
            times.append(time.perf_counter() - t)
    return times


def _timed_pairs(ask, questions: list[str], rounds: int, turns: int) -> tuple[list[float], list[float]]:
    """Seconds per answer of each question alone and with the `turns` questions before it as its
    history, alternating which goes first: both see the same machine load."""
    alone, with_history = [], []
    for r in range(rounds):
        for i, q in enumerate(questions):
            history = [questions[(i - k) % len(questions)] for k in range(turns, 0, -1)]
            pair = [(alone, None), (with_history, history)]
            for times, sent in (pair if (r + i) % 2 == 0 else pair[::-1]):
                t = time.perf_counter()
                ask(q, sent)
                times.append(time.perf_counter() - t)
    return alone, with_history


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
