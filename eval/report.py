"""How a grounding run is shown: rich tables in the terminal, a self-contained HTML page on disk."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from groundedqa.eval.grounding import GroundingSummary, Metrics, QuestionResult, Threshold

#: Metric -> (short label, what it measures), in the order they are shown.
METRIC_LABELS = {
    "grounded_rate": ("grounded", "answer sentences standing verbatim in a cited span of the article"),
    "citation_recall": ("citation recall", "answer sentences with at least one citation"),
    "citation_precision": ("citation precision", "citations whose span contains their sentence"),
    "safety_rate": ("safety", "responses carrying red flags and a disclaimer"),
    "answered_rate": ("answered", "in-scope questions answered with an expected article among the "
                      "first three cited and an expected phrase"),
    "abstention_rate": ("abstained", "out-of-scope questions the service declined"),
    "abstention_precision": ("abstention precision", "declined responses whose question expected it"),
    "abstention_recall": ("abstention recall", "questions expecting no answer that got none"),
    "urgent_recall": ("urgent recall", "red-flag questions flagged urgent"),
    "false_urgent_rate": ("false urgent", "other questions wrongly flagged urgent"),
}
#: The columns of the per-category tables.
CATEGORY_METRICS = ("urgent_recall", "false_urgent_rate", "abstention_precision",
                    "abstention_recall", "answered_rate")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def threshold_cell(threshold: Threshold | None, value: float | None) -> tuple[str, str]:
    """(bound text, status text) for one metric."""
    if threshold is None:
        return "", ""
    bound = ("≤ " if threshold.ceiling else "≥ ") + f"{threshold.bound:g}"
    if value is None:
        return bound, "n/a"
    return bound, "MISSED" if threshold.missed(value) else "ok"


def metrics_table(summary: GroundingSummary) -> Table:
    """Metric rows; one value column overall and one per split; bound and status columns."""
    by_metric = {t.metric: t for t in summary.thresholds}
    table = Table(title=f"Grounding eval: {summary.metrics.questions} questions against {summary.target}")
    table.add_column("metric")
    table.add_column("all", justify="right")
    for name in summary.splits:
        table.add_column(name, justify="right")
    table.add_column("threshold", justify="right")
    table.add_column("status")
    for metric, (label, _) in METRIC_LABELS.items():
        value = getattr(summary.metrics, metric)
        bound, status = threshold_cell(by_metric.get(metric), value)
        style = "bold red" if status == "MISSED" else "green" if status == "ok" else ""
        table.add_row(label, _fmt(value), *(_fmt(getattr(m, metric)) for m in summary.splits.values()),
                      bound, f"[{style}]{status}[/]" if style else status)
    groups = {"all": summary.metrics, **summary.splits}
    table.caption = "questions (answer/abstain/urgent): " + "; ".join(
        f"{name} {_counts(m)}" for name, m in groups.items())
    return table


def category_tables(summary: GroundingSummary) -> list[Table]:
    """One table per group (all questions, then each split): a row per question category."""
    tables = []
    for group, cats in summary.categories.items():
        table = Table(title=f"Per category: {group or 'all questions'}")
        table.add_column("category")
        table.add_column("n", justify="right")
        for metric in CATEGORY_METRICS:
            table.add_column(METRIC_LABELS[metric][0], justify="right")
        for name, m in cats.items():
            table.add_row(name, str(m.questions), *(_fmt(getattr(m, k)) for k in CATEGORY_METRICS))
        tables.append(table)
    return tables


def _counts(m: Metrics) -> str:
    return f"{m.questions} ({m.kinds['answer']}/{m.kinds['abstain']}/{m.kinds['urgent']})"


def questions_table(results: list[QuestionResult]) -> Table:
    """One row per given question: line, kind, split, the question, cited documents, why it failed."""
    table = Table(title=f"Failed questions ({len(results)})", show_lines=True)
    table.add_column("line", justify="right")
    table.add_column("kind")
    table.add_column("split")
    table.add_column("question", ratio=2, overflow="fold")
    table.add_column("cited", ratio=1, overflow="fold")
    table.add_column("why", ratio=3, overflow="fold")
    for r in results:
        # Text() so brackets in questions and failures are never read as rich markup.
        table.add_row(str(r.question.line), r.question.kind, r.question.split or "",
                      Text(r.question.question), Text(", ".join(r.cited_docs)),
                      Text("; ".join(r.failures)))
    return table


def render_grounding(summary: GroundingSummary, console: Console | None = None) -> None:
    """Print the failed questions (all rows are in --json and --report), metrics and verdict."""
    console = console or Console()
    failed = [r for r in summary.results if not r.passed]
    if failed:
        console.print(questions_table(failed))
    console.print(metrics_table(summary))
    for table in category_tables(summary):
        console.print(table)
    console.print(f"{summary.metrics.passed} of {summary.metrics.questions} questions passed every "
                  f"check in {summary.seconds:.1f} s")
    if summary.missed:
        console.print(Text("thresholds missed: " + "; ".join(summary.missed), style="bold red"))
    else:
        console.print(Text("all thresholds met", style="green"))


# ------------------------------------------------------------------------------------------------
# HTML
# ------------------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:75rem}
table{border-collapse:collapse;margin:1rem 0;width:100%}
th,td{border:1px solid #ccc;padding:.4rem .6rem;vertical-align:top;text-align:left}
th{background:#f3f3f3}
.pass{color:#17692f;font-weight:600}.fail{color:#b00020;font-weight:700}
tr.failed{background:#fff4f4}
.cite{color:#35539b;font-size:.85em}
.quote{font-style:italic;color:#444}
.notice{background:#fff3cd;padding:.3rem .5rem;margin:.3rem 0}
ul{margin:.2rem 0;padding-left:1.2rem}
details summary{cursor:pointer;color:#35539b}
"""


def html_report(summary: GroundingSummary) -> str:
    """A self-contained page (inline CSS, no scripts); every value from a response is escaped."""
    failed = summary.metrics.questions - summary.metrics.passed
    verdict = ("<p class='fail'>Thresholds missed: " + escape("; ".join(summary.missed)) + "</p>"
               if summary.missed else "<p class='pass'>All thresholds met.</p>")
    rows = "\n".join(_question_row(r) for r in summary.results)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Grounding evaluation: {escape(summary.target)}</title>
<style>{_CSS}</style></head>
<body>
<h1>Grounding evaluation</h1>
<p>Service: <code>{escape(summary.target)}</code>. {summary.metrics.questions} questions,
{failed} with at least one failed check, in {summary.seconds:.1f} s.
Every answer sentence was checked against the article text fetched separately from the answer.</p>
{verdict}
<h2>Metrics</h2>
{_metrics_html(summary)}
{_categories_html(summary)}
<h2>Questions</h2>
<table>
<tr><th>#</th><th>Result</th><th>Kind</th><th>Question</th><th>Answer and citations</th>
<th>What failed and why</th></tr>
{rows}
</table>
</body></html>
"""


def write_html_report(summary: GroundingSummary, path: Path) -> None:
    """Write `html_report(summary)` to `path` (parents created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html_report(summary), encoding="utf-8")


def _metrics_html(summary: GroundingSummary) -> str:
    by_metric = {t.metric: t for t in summary.thresholds}
    head = "".join(f"<th>{escape(name)}</th>" for name in ["metric", "all", *summary.splits,
                                                           "threshold", "status"])
    rows = []
    for metric, (label, meaning) in METRIC_LABELS.items():
        value = getattr(summary.metrics, metric)
        bound, status = threshold_cell(by_metric.get(metric), value)
        cls = "fail" if status == "MISSED" else "pass" if status == "ok" else ""
        cells = [f"{label}: {meaning}", _fmt(value),
                 *(_fmt(getattr(m, metric)) for m in summary.splits.values()), bound]
        rows.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells)
                    + f"<td class='{cls}'>{escape(status)}</td></tr>")
    counts = [summary.metrics, *summary.splits.values()]
    rows.append("<tr><td>questions (answer/abstain/urgent)</td>"
                + "".join(f"<td>{escape(_counts(m))}</td>" for m in counts) + "<td></td><td></td></tr>")
    return f"<table><tr>{head}</tr>\n" + "\n".join(rows) + "</table>"


def _categories_html(summary: GroundingSummary) -> str:
    if not summary.categories:
        return ""
    head = "".join(f"<th>{escape(h)}</th>" for h in
                   ["category", "n", *(METRIC_LABELS[k][0] for k in CATEGORY_METRICS)])
    parts = []
    for group, cats in summary.categories.items():
        rows = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in
                                        [name, str(m.questions),
                                         *(_fmt(getattr(m, k)) for k in CATEGORY_METRICS)])
                       + "</tr>" for name, m in cats.items())
        parts.append(f"<h3>Per category: {escape(group or 'all questions')}</h3>"
                     f"<table><tr>{head}</tr>{rows}</table>")
    return "\n".join(parts)


def _question_row(r: QuestionResult) -> str:
    q = r.question
    status = "<span class='pass'>pass</span>" if r.passed else "<span class='fail'>FAIL</span>"
    split = f"<br><small>{escape(q.split)}</small>" if q.split else ""
    expected = ""
    if q.docs or q.phrases:
        expected = ("<br><small>expected: " + escape(", ".join(q.docs))
                    + (" / " + escape("; ".join(q.phrases)) if q.phrases else "") + "</small>")
    failures = ("<ul>" + "".join(f"<li>{escape(f)}</li>" for f in r.failures) + "</ul>"
                if r.failures else "")
    return (f"<tr class='{'' if r.passed else 'failed'}'><td>{q.line}</td><td>{status}</td>"
            f"<td>{escape(q.kind)}{split}</td><td>{escape(q.question)}{expected}</td>"
            f"<td>{_answer_html(r.response)}</td><td>{failures}</td></tr>")


def _answer_html(response: dict[str, Any] | None) -> str:
    if not isinstance(response, dict):
        return "<em>no response</em>"
    parts = []
    if response.get("urgent"):
        parts.append(f"<div class='notice'><strong>Urgent.</strong> "
                     f"{escape(str(response.get('urgent_message') or ''))}</div>")
    sentences = response.get("sentences") if isinstance(response.get("sentences"), list) else []
    if response.get("abstained") or not sentences:
        parts.append(f"<p><em>Abstained.</em> {escape(str(response.get('message') or ''))}</p>")
    for s in sentences:
        if isinstance(s, dict):
            ids = s.get("citations") if isinstance(s.get("citations"), list) else []
            marks = "".join(f"[{escape(str(i))}]" for i in ids)
            parts.append(f"<p>{escape(str(s.get('text', '')))} <span class='cite'>{marks}</span></p>")
    citations = response.get("citations") if isinstance(response.get("citations"), list) else []
    if citations:
        items = "".join(_citation_html(c) for c in citations if isinstance(c, dict))
        parts.append(f"<details><summary>{len(citations)} citation(s)</summary><ul>{items}</ul></details>")
    flags = response.get("red_flags") if isinstance(response.get("red_flags"), list) else []
    parts.append(f"<details><summary>{len(flags)} red flag(s), disclaimer</summary><ul>"
                 + "".join(f"<li>{escape(str(f.get('text', '')))}</li>" for f in flags
                           if isinstance(f, dict))
                 + f"</ul><p><small>{escape(str(response.get('disclaimer', '')))}</small></p></details>")
    return "\n".join(parts)


def _citation_html(c: dict[str, Any]) -> str:
    where = f"{c.get('doc_id')}, characters {c.get('start')}–{c.get('end')}"
    return (f"<li class='cite'>[{escape(str(c.get('id')))}] {escape(str(c.get('title', '')))} "
            f"({escape(where)})<br><span class='quote'>“{escape(str(c.get('quote', '')))}”</span></li>")


# ------------------------------------------------------------------------------------------------
# eval answers
# ------------------------------------------------------------------------------------------------

#: Columns of the answers tables: metric -> heading.
ANSWER_COLUMNS = {
    "questions": "n", "answered_rate": "answered", "ideal_recall": "ideal recall",
    "precision": "precision", "noise_per_answer": "noise/answer", "articles_per_answer": "articles",
    "one_excerpt_rate": "one excerpt", "sentences_per_answer": "sentences", "grounded_rate": "grounded",
}
BEIR_ANSWER_COLUMNS = {
    "queries": "n", "answered_rate": "answered", "first_relevant_rate": "first cited relevant",
    "first_grade_mean": "its mean grade", "precision": "sentence precision",
    "sentences_per_answer": "sentences", "grounded_rate": "grounded",
}


def _cell(value: Any) -> str:
    return str(value) if isinstance(value, int) else _fmt(value)


def groups_table(title: str, groups: dict[str, Any], columns: dict[str, str]) -> Table:
    """One row per group (all, a split, a question type), one column per metric."""
    table = Table(title=title)
    table.add_column("")
    for heading in columns.values():
        table.add_column(heading, justify="right")
    for name, metrics in groups.items():
        table.add_row(name, *(_cell(getattr(metrics, m)) for m in columns))
    return table


def render_verdict(missed: list[str], console: Console) -> None:
    """The thresholds missed, or that all were met."""
    if missed:
        console.print(Text("thresholds missed: " + "; ".join(missed), style="bold red"))
    else:
        console.print(Text("all thresholds met", style="green"))
