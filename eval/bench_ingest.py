"""`bench ingest`: ingest throughput against a bare `model.encode` of the same texts, in one run."""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from groundedqa.settings import Settings

#: Goals from the issue: embedding inside ingest costs at most 10% over a bare encode, and the
#: whole ingest at most 30% over it.
EMBED_RATIO_GOAL = 1.10
TOTAL_RATIO_GOAL = 1.30
#: Files in a corpus folder that are not documents (copied along by --limit, not counted).
NOT_DOCUMENTS = {"manifest.toml", "redflags.toml"}


@dataclass
class BenchResult:
    """The figures of one run; `ratio` = embed_s / bare_encode_s."""

    docs: int
    passages: int
    sentences: int
    ingest_s: float
    embed_s: float
    bare_encode_s: float
    ratio: float
    total_ratio: float  # ingest_s / bare_encode_s
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
    """Ingest `path` into a temporary index, then time a bare encode of exactly what it embedded."""
    from groundedqa.ingest.build import build_index
    from groundedqa.index.torch_encoder import TorchEncoder

    embedder = embedder or TorchEncoder.load(settings.model, settings.encode_batch_size)
    # Warm the model first so neither timing pays for one-time setup the other does not.
    embedder.model.encode(["warm-up"], batch_size=1, show_progress_bar=False)
    with tempfile.TemporaryDirectory(prefix="groundedqa-bench-") as tmp:
        tmp_path = Path(tmp)
        source = limited_source(path, limit, tmp_path / "source")
        report = build_index([source], tmp_path / "index", settings, embedder=embedder,
                             progress=progress, keep_texts=True)
    texts = report.embedded_texts or []
    if not texts:
        raise ValueError(f"nothing was embedded from {path} (every document skipped?)")
    t = time.perf_counter()
    embedder.model.encode(texts, batch_size=settings.encode_batch_size, normalize_embeddings=True,
                          convert_to_numpy=True, show_progress_bar=False)
    bare = time.perf_counter() - t
    embed_s = report.timings.get("embed_s", 0.0)
    return BenchResult(
        docs=report.documents, passages=report.passages, sentences=report.sentences,
        ingest_s=report.seconds, embed_s=embed_s, bare_encode_s=bare,
        ratio=embed_s / bare, total_ratio=report.seconds / bare, embedded_texts=len(texts),
    )


def describe(result: BenchResult) -> str:
    """The human summary, with the issue's goals checked."""
    r = result.rates()
    return (
        f"{result.docs} docs, {result.passages} passages, {result.sentences} sentences "
        f"({result.embedded_texts} texts embedded)\n"
        f"ingest {result.ingest_s:.2f} s: {r['docs_per_s']:.1f} docs/s, "
        f"{r['passages_per_s']:.1f} passages/s, {r['sentences_per_s']:.1f} sentences/s\n"
        f"embed inside ingest {result.embed_s:.2f} s, bare model.encode {result.bare_encode_s:.2f} s\n"
        f"ratio embed/bare {result.ratio:.3f} (goal ≤ {EMBED_RATIO_GOAL:.2f}: "
        f"{'met' if result.ratio <= EMBED_RATIO_GOAL else 'missed'}); "
        f"ingest/bare {result.total_ratio:.3f} (goal ≤ {TOTAL_RATIO_GOAL:.2f}: "
        f"{'met' if result.total_ratio <= TOTAL_RATIO_GOAL else 'missed'})"
    )
