"""`groundedqa bench load`: latency, throughput, errors and server memory under concurrent clients.

Starts the real server (`groundedqa serve`) in a subprocess on 127.0.0.1, drives it with
`--clients` concurrent httpx clients for `--requests` answers per round, and stops it. Traffic
stays on loopback and every loop is bounded by the request count and the timeouts below.

With `--url URL --url URL ...` it drives replicas that are already running instead: first every
client on the first replica, then the clients spread evenly over all of them, in the same run, so
answers/s and p95 with 1 and N replicas compare directly; each replica's RSS comes from its
/metrics (`process_resident_memory_bytes`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from groundedqa.errors import CliError
from groundedqa.eval.server import HOST, rss_bytes, running_server
from groundedqa.settings import Settings

#: A fixed mix like patients' traffic: covered questions, an urgent one, an off-topic one.
QUESTIONS = (
    "can I go swimming while doing spinal decompression?",
    "Is it safe to deadlift after back pain?",
    "Can I work out with a pinched nerve in my back?",
    "Are dead hangs good for S1 radiculopathy?",
    "What exercises should I avoid during spinal decompression?",
    "How should I return to lifting weights after a back injury?",
    "I suddenly can't control my bladder and my groin is numb",
    "what is the capital of France?",
)
REQUEST_TIMEOUT_S = 60.0
MIB = 1024 * 1024


@dataclass
class RoundResult:
    """One round of load: the numbers the command reports."""

    requests: int
    seconds: float
    throughput_rps: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    non_2xx: int
    transport_errors: int
    statuses: dict[str, int] = field(default_factory=dict)
    rss_after_bytes: int | None = None
    answers_per_s: float = 0.0  # 200s only


def register_bench_load(bench_subparsers: Any) -> None:
    """Add `load` to the `groundedqa bench` subcommands."""
    p = bench_subparsers.add_parser(
        "load", help="latency, throughput and server memory under concurrent clients",
        description="Start `groundedqa serve` on 127.0.0.1, send --requests answers per round "
        "from --clients concurrent clients, report p50/p95/p99, throughput, non-2xx and the "
        "server's RSS, then stop the server.")
    p.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    p.add_argument("--requests", type=int, default=2000, help="answers per round (default 2000)")
    p.add_argument("--rounds", type=int, default=1,
                   help="rounds against the same server; RSS after each shows any growth trend")
    p.add_argument("--index", metavar="DIR", help="index directory (default: $GROUNDEDQA_INDEX "
                   "or var/index; built from the corpus if missing)")
    p.add_argument("--rate-limit-off", action=argparse.BooleanOptionalAction, default=True,
                   help="serve without the per-client rate limit (default; "
                   "--no-rate-limit-off keeps GROUNDEDQA_RATE_LIMIT)")
    p.add_argument("--startup-timeout", type=float, default=300.0, metavar="S",
                   help="seconds to wait for the server's /healthz (default 300: a first run "
                   "builds the index)")
    p.add_argument("--batching", choices=("both", "on", "off"), default="both",
                   help="micro-batching in the server: 'both' (default) runs the load against a "
                   "server with it and one without (GROUNDEDQA_BATCH_MAX=1), one after the other")
    p.add_argument("--url", action="append", metavar="URL", default=[],
                   help="drive running replicas instead of starting a server (repeat for each; "
                   "they should run with GROUNDEDQA_RATE_LIMIT= empty): 1 replica, then all")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Measure the torch floor, then for each batching mode start a server, warm it up, run the
    rounds and stop it; print the report."""
    for name in ("clients", "requests", "rounds"):
        if getattr(args, name) < 1:
            raise CliError(f"--{name} must be at least 1")
    headers = {"X-API-Key": settings.api_keys[0]} if settings.api_keys else {}
    if args.url:
        report = run_replicas([u.rstrip("/") for u in args.url], args, headers)
        if args.json:
            print(json.dumps(report))
        else:
            print_replicas_report(report)
        return 0
    modes = ("on", "off") if args.batching == "both" else (args.batching,)
    report = {"clients": args.clients, "requests_per_round": args.requests,
              "rate_limit": "off" if args.rate_limit_off else (settings.rate_limit or "off"),
              "encoder": settings.encoder, "torch_encode_p50_ms": _torch_encode_p50_ms(settings),
              "cores": os.cpu_count(), "modes": {}}
    # The goal: 1.2 x what the cores could answer if each answer cost one torch encode.
    report["goal_rps"] = 1.2 * report["cores"] * 1000 / report["torch_encode_p50_ms"]
    for mode in modes:
        env = {"GROUNDEDQA_BATCH_MAX": "1"} if mode == "off" else {}
        with running_server(settings.index, args.rate_limit_off, args.startup_timeout,
                            env=env) as (url, pid):
            asyncio.run(drive(url, clients=min(args.clients, len(QUESTIONS)),
                              total=len(QUESTIONS), headers=headers))  # warm-up: not reported
            rss_before = rss_bytes(pid)
            rounds = []
            for _ in range(args.rounds):
                result = asyncio.run(drive(url, args.clients, args.requests, headers))
                result.rss_after_bytes = rss_bytes(pid)
                rounds.append(result)
        report["modes"][mode] = {"server_rss_before_bytes": rss_before,
                                 "rounds": [asdict(r) for r in rounds]}
    if args.json:
        print(json.dumps(report))
    else:
        print_report(report)
    return 0


def _torch_encode_p50_ms(settings: Settings) -> float:
    """p50 of a bare torch encode of one question of the mix (the serving thread count)."""
    from groundedqa.index.torch_encoder import TorchEncoder

    model = TorchEncoder.load(settings.model, settings.encode_batch_size, settings.query_threads)
    model.encode(list(QUESTIONS))
    times = []
    for _ in range(5):
        for question in QUESTIONS:
            started = time.perf_counter()
            model.encode([question])
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def run_replicas(urls: list[str], args: argparse.Namespace,
                 headers: dict[str, str]) -> dict[str, Any]:
    """The same load on the first replica alone, then spread over all of them."""
    import httpx

    replicas = []
    for url in urls:
        try:
            health = httpx.get(url + "/healthz", timeout=10)
        except httpx.HTTPError as exc:
            raise CliError(f"cannot reach {url}: {exc}") from exc
        if health.status_code != 200:
            raise CliError(f"{url}/healthz answered {health.status_code}: not serving yet")
        replicas.append({"url": url, "replica": health.json().get("replica"),
                         "index": health.json().get("index")})
    asyncio.run(drive(urls, clients=min(args.clients, len(QUESTIONS) * len(urls)),
                      total=len(QUESTIONS) * len(urls), headers=headers))  # warm-up
    phases = []
    for targets in ([urls[:1], urls] if len(urls) > 1 else [urls]):
        rounds = [asdict(asyncio.run(drive(targets, args.clients, args.requests, headers)))
                  for _ in range(args.rounds)]
        phases.append({"replicas": len(targets), "rounds": rounds,
                       "rss_bytes": {url: metrics_rss_bytes(url) for url in targets}})
    return {"clients": args.clients, "requests_per_round": args.requests, "replicas": replicas,
            "phases": phases}


def metrics_rss_bytes(url: str) -> int | None:
    """A replica's resident memory as its /metrics reports it (None when it does not)."""
    import httpx

    try:
        text = httpx.get(url + "/metrics", timeout=10).text
    except httpx.HTTPError:
        return None
    for line in text.splitlines():
        if line.startswith("process_resident_memory_bytes "):
            return int(float(line.split()[1]))
    return None


# ------------------------------------------------------------------------------------------------
# the load
# ------------------------------------------------------------------------------------------------

async def drive(url: str | list[str], clients: int, total: int,
                headers: dict[str, str]) -> RoundResult:
    """`total` POST /v1/answer requests from `clients` concurrent workers, cycling QUESTIONS;
    with several URLs, worker i sends to URL i mod N (clients spread evenly over replicas)."""
    import httpx

    urls = [url] if isinstance(url, str) else url
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    pending = iter(range(total))  # shared: each worker takes the next request number
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(headers=headers, limits=limits,
                                 timeout=REQUEST_TIMEOUT_S) as client:

        async def worker(target: str) -> None:
            for number in pending:
                question = QUESTIONS[number % len(QUESTIONS)]
                started = time.perf_counter()
                try:
                    response = await client.post(target + "/v1/answer",
                                                 json={"question": question})
                except httpx.HTTPError as exc:
                    statuses[type(exc).__name__] += 1
                    continue
                latencies.append(time.perf_counter() - started)
                statuses[str(response.status_code)] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(urls[i % len(urls)]) for i in range(clients)))
        seconds = time.perf_counter() - started
    p50, p95, p99 = percentiles_ms(latencies)
    http = {code: n for code, n in statuses.items() if code.isdigit()}
    return RoundResult(
        requests=total, seconds=round(seconds, 3), throughput_rps=round(len(latencies) / seconds, 1),
        answers_per_s=round(statuses.get("200", 0) / seconds, 1),
        p50_ms=p50, p95_ms=p95, p99_ms=p99,
        non_2xx=sum(n for code, n in http.items() if not code.startswith("2")),
        transport_errors=sum(statuses.values()) - sum(http.values()),
        statuses=dict(sorted(statuses.items())),
    )


def percentiles_ms(latencies: list[float]) -> tuple[float | None, float | None, float | None]:
    """p50, p95, p99 in milliseconds (None without enough samples)."""
    if len(latencies) < 2:
        return None, None, None
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return tuple(round(cuts[i] * 1000, 1) for i in (49, 94, 98))  # type: ignore[return-value]


def print_report(report: dict[str, Any]) -> None:
    """The human-readable summary."""
    def mib(value: int | None) -> str:
        return "n/a" if value is None else f"{value / MIB:.1f} MiB"

    def ms(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1f} ms"

    print(f"load: {report['clients']} clients x {report['requests_per_round']} requests per round, "
          f"rate limit {report['rate_limit']}, encoder {report['encoder']}, server on {HOST}")
    print(f"bare torch encode p50 {report['torch_encode_p50_ms']:.1f} ms: goal "
          f"{report['goal_rps']:.0f} answers/s (1.2 x {report['cores']} cores x 1000 / encode ms)"
          " with p95 ≤ 100 ms")
    for mode, data in report["modes"].items():
        print(f"batching {mode}: server RSS before {mib(data['server_rss_before_bytes'])}")
        for number, r in enumerate(data["rounds"], 1):
            print(f"  round {number}: p50 {ms(r['p50_ms'])}  p95 {ms(r['p95_ms'])}  p99 {ms(r['p99_ms'])}"
                  f"  throughput {r['throughput_rps']:.1f} answers/s  non-2xx {r['non_2xx']}"
                  f"  transport errors {r['transport_errors']}  RSS after {mib(r['rss_after_bytes'])}")
            if r["non_2xx"] or r["transport_errors"]:
                print(f"    statuses: {r['statuses']}")
    modes = report["modes"]
    if "on" in modes and "off" in modes:
        on = modes["on"]["rounds"][-1]["throughput_rps"]
        off = modes["off"]["rounds"][-1]["throughput_rps"]
        print(f"batching on ÷ off: {on / off:.2f} x throughput")


def print_replicas_report(report: dict[str, Any]) -> None:
    """The summary of a run over replicas: each phase, its ratio to one replica, RSS per replica."""
    names = {r["url"]: r["replica"] for r in report["replicas"]}
    print(f"load: {report['clients']} clients x {report['requests_per_round']} requests per round "
          f"over {len(report['replicas'])} running replicas")
    base = None
    for phase in report["phases"]:
        last = phase["rounds"][-1]
        base = base or last["answers_per_s"]
        ratio = f"  ({last['answers_per_s'] / base:.2f}x one replica)" if base else ""
        print(f"{phase['replicas']} replica(s): {last['answers_per_s']:.1f} answers/s  "
              f"p50 {last['p50_ms']} ms  p95 {last['p95_ms']} ms  non-2xx {last['non_2xx']}  "
              f"transport errors {last['transport_errors']}{ratio}")
        for url, rss in phase["rss_bytes"].items():
            shown = "n/a" if rss is None else f"{rss / MIB:.1f} MiB"
            print(f"  {names.get(url) or url}: RSS {shown}")
