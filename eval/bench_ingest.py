"""`bench ingest`: an ingest's wall time against one bare torch pass over every token, in one run."""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from groundedqa.settings import Settings

#: The issue's goal: a whole ingest in no more time than one bare torch pass over every token.
TOTAL_RATIO_GOAL = 1.0
#: The floor's cut: each document's text in windows of this many words, encoded this many at once.
WINDOW_WORDS = 200
FLOOR_BATCH = 64
#: Files in a corpus folder that are not documents (copied along by --limit, not counted).
NOT_DOCUMENTS = {"manifest.toml", "redflags.toml"}


@dataclass
class BenchResult:
    """The figures of one run; `total_ratio` = ingest_s / torch_pass_s."""

    docs: int
    passages: int
    sentences: int
    encoder: str
    late_chunking: bool
    ingest_s: float
    embed_s: float
    torch_pass_s: float
    windows: int
    total_ratio: float
    embed_ratio: float  # embed_s / torch_pass_s
    embedded_texts: int

    def rates(self) -> dict[str, float]:
        """docs/s, passages/s and sentences/s over the whole ingest."""
        s = max(self.ingest_s, 1e-9)
        return {"docs_per_s": self.docs / s, "passages_per_s": self.passages / s,
                "sentences_per_s": self.sentences / s}

    def as_json(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in
                {**asdict(self), **self.rates()}.items()}


def limited_source(path: Path, limit: int | None, workdir: Path) -> Path:
    """`path` itself, or a copy in `workdir` holding only its first `limit` documents.

    A .jsonl keeps its first `limit` non-blank lines; a folder its first `limit` document files in
    name order (with its manifest, so metadata still applies); any other file is one document.
    """
    path = Path(path)
    if limit is None:
        return path
    if limit < 1:
        raise ValueError("--limit must be at least 1")
    workdir.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        target = workdir / path.name
        files = sorted((p for p in path.rglob("*") if p.is_file()
                        and not any(part.startswith(".") for part in p.relative_to(path).parts)),
                       key=lambda p: p.relative_to(path).as_posix())
        config = [p for p in files if p.name in NOT_DOCUMENTS or p.suffix == ".toml"]
        docs = [p for p in files if p not in config][:limit]
        for p in docs + config:
            dest = target / p.relative_to(path)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, dest)
        return target
    if path.suffix == ".jsonl":
        target = workdir / path.name
        with path.open(encoding="utf-8") as src, target.open("w", encoding="utf-8") as dst:
            kept = 0
            for line in src:
                if kept == limit:
                    break
                if line.strip():
                    dst.write(line)
                    kept += 1
        return target
    return path


def bench_ingest(path: Path, settings: Settings, *, limit: int | None = None,
                 embedder: Any = None, progress: Any = None) -> BenchResult:
    """Ingest `path` into a temporary index with the configured encoder, then time one bare torch
    pass over every token of the same documents (cleaned text in 200-word windows, batch 64)."""
    from groundedqa.index.encoders import load_encoder
    from groundedqa.index.torch_encoder import TorchEncoder
    from groundedqa.ingest.build import build_index

    with tempfile.TemporaryDirectory(prefix="groundedqa-bench-") as tmp:
        tmp_path = Path(tmp)
        source = limited_source(path, limit, tmp_path / "source")
        windows = _windows(source)
        # Loaded (and warmed) before the clock, as the floor's model is: the figure is the
        # ingest's work, not a one-time model load.
        embedder = embedder or load_encoder(settings)
        embedder.encode(["warm-up"])
        report = build_index([source], tmp_path / "index", settings, embedder=embedder,
                             progress=progress, keep_texts=True)
    if not report.embedded_texts:
        raise ValueError(f"nothing was embedded from {path} (every document skipped?)")
    del embedder
    torch_model = TorchEncoder.load(settings.model, FLOOR_BATCH)
    torch_model.encode(["warm-up"])
    t = time.perf_counter()
    torch_model.encode(windows)
    floor = time.perf_counter() - t
    embed_s = report.timings.get("embed_s", 0.0)
    return BenchResult(
        docs=report.documents, passages=report.passages, sentences=report.sentences,
        encoder=settings.encoder, late_chunking=settings.late_chunking,
        ingest_s=report.seconds, embed_s=embed_s, torch_pass_s=floor, windows=len(windows),
        total_ratio=report.seconds / floor, embed_ratio=embed_s / floor,
        embedded_texts=len(report.embedded_texts),
    )


def _windows(source: Path) -> list[str]:
    """Every loaded document's cleaned text cut into windows of WINDOW_WORDS words."""
    from groundedqa.ingest.build import _load
    from groundedqa.ingest.clean import clean

    docs, _ = _load([source])
    windows = []
    for doc in docs:
        words = clean(doc.raw, doc.format).text.split()
        windows.extend(" ".join(words[i:i + WINDOW_WORDS]) for i in range(0, len(words), WINDOW_WORDS))
    return windows


def describe(result: BenchResult) -> str:
    """The human summary, with the issue's goal checked."""
    r = result.rates()
    late = ", late chunking" if result.late_chunking else ""
    return (
        f"{result.docs} docs, {result.passages} passages, {result.sentences} sentences "
        f"({result.embedded_texts} texts embedded; encoder {result.encoder}{late})\n"
        f"ingest {result.ingest_s:.2f} s: {r['docs_per_s']:.1f} docs/s, "
        f"{r['passages_per_s']:.1f} passages/s, {r['sentences_per_s']:.1f} sentences/s; "
        f"embedding inside it {result.embed_s:.2f} s\n"
        f"one bare torch pass over every token ({result.windows} windows of {WINDOW_WORDS} words, "
        f"batch {FLOOR_BATCH}) {result.torch_pass_s:.2f} s\n"
        f"ingest ÷ torch pass {result.total_ratio:.3f} (goal ≤ {TOTAL_RATIO_GOAL:.1f}: "
        f"{'met' if result.total_ratio <= TOTAL_RATIO_GOAL else 'missed'}); "
        f"embedding ÷ torch pass {result.embed_ratio:.3f}"
    )
