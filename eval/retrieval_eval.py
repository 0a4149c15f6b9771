"""`eval retrieval`: BEIR dataset in, ranx metrics and significance tests per retrieval method out."""

from __future__ import annotations

import csv
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from rich.table import Table

#: Metrics in ranx notation, in the order they are shown.
METRICS: tuple[str, ...] = ("ndcg@10", "recall@100", "mrr@10", "map@100")
#: How deep each method's ranking goes (Recall@100 and MAP@100 need 100).
RUN_DEPTH = 100


class DatasetError(ValueError):
    """A BEIR folder that cannot be used; the message names the file (and line)."""


@dataclass
class BeirDataset:
    """A BEIR folder: the corpus file (ingested as is), queries with judgements, graded qrels."""

    name: str
    root: Path
    corpus: Path
    queries: dict[str, str]  # only queries that have judgements, in file order
    qrels: dict[str, dict[str, int]]
    unjudged_queries: int = 0  # in queries.jsonl without qrels: not evaluated
    missing_queries: int = 0  # in qrels without a query text: not evaluated


def load_beir(root: Path, split: str = "test") -> BeirDataset:
    """Read `corpus.jsonl`, `queries.jsonl` and `qrels/<split>.tsv` (header optional, graded)."""
    root = Path(root)
    corpus, queries_path = root / "corpus.jsonl", root / "queries.jsonl"
    qrels_path = root / "qrels" / f"{split}.tsv"
    for path in (corpus, queries_path, qrels_path):
        if not path.is_file():
            raise DatasetError(f"{root} is not a BEIR folder: {path} is missing")
    all_queries = _read_queries(queries_path)
    qrels_all = read_qrels(qrels_path)
    queries = {qid: text for qid, text in all_queries.items() if qid in qrels_all}
    if not queries:
        raise DatasetError(f"no query in {queries_path} has a judgement in {qrels_path}")
    return BeirDataset(
        name=root.resolve().name, root=root, corpus=corpus, queries=queries,
        qrels={qid: qrels_all[qid] for qid in queries},
        unjudged_queries=len(all_queries) - len(queries),
        missing_queries=sum(1 for qid in qrels_all if qid not in all_queries),
    )


def _read_queries(path: Path) -> dict[str, str]:
    queries: dict[str, str] = {}
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                qid, text = str(obj["_id"]), obj["text"]
            except (ValueError, KeyError, TypeError) as exc:
                raise DatasetError(f"{path}:{n}: expected a JSON object with '_id' and 'text'") from exc
            if isinstance(text, str) and text.strip():
                queries[qid] = text
    return queries


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """query-id -> corpus-id -> graded relevance (integers; a header line is skipped)."""
    qrels: dict[str, dict[str, int]] = {}
    with Path(path).open(encoding="utf-8", newline="") as fh:
        for n, row in enumerate(csv.reader(fh, delimiter="\t"), start=1):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 3:
                raise DatasetError(f"{path}:{n}: expected query-id, corpus-id and score")
            qid, doc_id, score = row[0].strip(), row[1].strip(), row[-1].strip()
            try:
                grade = int(float(score))
            except ValueError as exc:
                if n == 1:
                    continue  # the "query-id corpus-id score" header
                raise DatasetError(f"{path}:{n}: score {score!r} is not a number") from exc
            qrels.setdefault(qid, {})[doc_id] = grade
    return qrels


def index_dir_for(dataset_root: Path, base: Path) -> Path:
    """A stable index folder per dataset, so a second run reuses the build (content-hashed)."""
    digest = hashlib.sha1(str(Path(dataset_root).resolve()).encode()).hexdigest()
    return Path(base) / digest


# ------------------------------------------------------------------------------------------------
# Runs and scores
# ------------------------------------------------------------------------------------------------

Ranking = dict[str, dict[str, float]]  # query id -> doc id -> score


def run_method(retriever: Any, queries: dict[str, str], method: str, k: int = RUN_DEPTH,
               batch_size: int = 256, advance: Callable[[int], None] | None = None) -> Ranking:
    """Rank documents for every query with `retriever.search_docs_batch` (batches for progress)."""
    ids = list(queries)
    run: Ranking = {}
    for s in range(0, len(ids), batch_size):
        batch = ids[s:s + batch_size]
        rankings = retriever.search_docs_batch([queries[q] for q in batch], method, k)
        for qid, ranking in zip(batch, rankings, strict=True):
            # ranx breaks ties by its own order; rank position is what the method decided, so the
            # score is made strictly decreasing with it.
            n = len(ranking)
            run[qid] = {doc_id: float(n - i) for i, (doc_id, _score) in enumerate(ranking)}
        if advance is not None:
            advance(len(batch))
    return run


@dataclass
class RetrievalScores:
    """Mean metric per method, the best method(s) per metric, and ranx's comparison report."""

    scores: dict[str, dict[str, float]]
    best: dict[str, list[str]]
    report: Any  # ranx.data_structures.Report
    stat_test: str
    max_p: float
    p_values: dict[str, dict[str, dict[str, float | None]]] = field(default_factory=dict)


def score_runs(qrels: dict[str, dict[str, int]], runs: dict[str, Ranking],
               metrics: tuple[str, ...] = METRICS, stat_test: str = "student",
               max_p: float = 0.05) -> RetrievalScores:
    """Evaluate every run with ranx and test each pair of methods for significance."""
    from ranx import Qrels, Run, compare

    ranx_qrels = Qrels(qrels)
    ranx_runs = [Run({q: docs for q, docs in run.items() if docs}, name=name) for name, run in runs.items()]
    report = compare(ranx_qrels, ranx_runs, list(metrics), stat_test=stat_test, max_p=max_p,
                     make_comparable=True)
    scores = {name: {m: float(report.results[name][m]) for m in metrics} for name in runs}
    best = {}
    for m in metrics:
        top = max(scores[name][m] for name in runs)
        best[m] = [name for name in runs if abs(scores[name][m] - top) < 1e-12]
    data = report.to_dict()
    # Identical per-query scores leave the test undefined (NaN), which JSON cannot carry: None.
    p_values = {name: {other: {m: None if math.isnan(p) else float(p) for m, p in per.items()}
                       for other, per in data[name]["comparisons"].items()}
                for name in runs}
    return RetrievalScores(scores, best, report, stat_test, max_p, p_values)


def scores_table(result: RetrievalScores, title: str) -> Table:
    """Methods by metrics; the best per metric bold with ★; superscript letters name the methods
    a score is significantly better than (ranx's own notation)."""
    report = result.report
    table = Table(title=title, caption=(
        f"★ best per metric. Superscript letters: significantly better than that method "
        f"({report.get_stat_test_label(result.stat_test)}, p < {result.max_p:g})."))
    table.add_column("#")
    table.add_column("method")
    for m in report.metrics:
        table.add_column(report.get_metric_label(m), justify="right")
    letters = "abcdefghijklmnopqrstuvwxyz"
    for i, name in enumerate(result.scores):
        cells = []
        for m in report.metrics:
            text = f"{result.scores[name][m]:.4f}{report.get_superscript_for_table(name, m)}"
            cells.append(f"[bold green]{text} ★[/]" if name in result.best[m] else text)
        table.add_row(letters[i], name, *cells)
    return table


def result_json(dataset: BeirDataset, result: RetrievalScores, extra: dict[str, Any] | None = None) -> dict:
    """`{"dataset", "queries", "methods": {method: {metric: x}}}`, plus best, p-values and extras."""
    return {
        "dataset": dataset.name,
        "queries": len(dataset.queries),
        "methods": {name: {m: round(v, 6) for m, v in s.items()} for name, s in result.scores.items()},
        "best": result.best,
        "significance": {"test": result.stat_test, "max_p": result.max_p, "p_values": result.p_values},
        **(extra or {}),
    }


def plot_scores(result: RetrievalScores, path: Path, title: str) -> None:
    """A grouped bar chart (metrics on x, one bar per method) saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display here, and none needed for a file
    import matplotlib.pyplot as plt

    metrics = list(result.report.metrics)
    methods = list(result.scores)
    width = 0.8 / max(len(methods), 1)
    fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(metrics), 4.2))
    for i, name in enumerate(methods):
        xs = [j + (i - (len(methods) - 1) / 2) * width for j in range(len(metrics))]
        values = [result.scores[name][m] for m in metrics]
        bars = ax.bar(xs, values, width, label=name)
        ax.bar_label(bars, fmt="%.3f", fontsize=7, padding=2)
    ax.set_xticks(range(len(metrics)), [result.report.get_metric_label(m) for m in metrics])
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("score")
    ax.set_title(title)
    # Below the axes: inside, it would hide bars that reach 1.0.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=len(methods), frameon=False)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
