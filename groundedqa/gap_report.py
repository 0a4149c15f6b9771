"""The coverage-gap report: which topics patients asked about that the articles did not cover.

Gap questions were placed into fine topics as they arrived (`state.gaps`); here near topics are
merged by agglomerative clustering of their centroids (scikit-learn, cosine, average linkage), so
the report's topics do not depend on the order questions came in. A topic is labelled by its most
distinctive terms (class-based TF-IDF over the stored question texts) when the clinic opted in to
storing text, and shown with example questions; otherwise it is numbered, with its counts.
"""

from __future__ import annotations

import html
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import numpy as np

from groundedqa.state.gaps import Gap, GapTopic

#: Topics whose centroids are closer than this (cosine distance) are one topic in the report.
MERGE_DISTANCE = 0.45
EXAMPLES_PER_TOPIC = 3
TERMS_PER_TOPIC = 3
_PLACEHOLDER = re.compile(r"\[(?:email|date|phone|number)\]")


@dataclass
class TopicSummary:
    number: int
    terms: list[str]
    total: int
    kinds: Counter
    first_seen: datetime
    last_seen: datetime
    weekly: Counter  # week start (Monday) -> questions
    examples: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return ", ".join(self.terms) if self.terms else f"topic {self.number}"


@dataclass
class GapReport:
    topics: list[TopicSummary]
    weeks: list[date]
    total: int
    with_text: bool
    generated_at: datetime

    def recent(self, topic: TopicSummary, days: int = 30) -> int:
        cutoff = (self.generated_at - timedelta(days=days)).date()
        return sum(n for week, n in topic.weekly.items() if week + timedelta(days=6) >= cutoff)


def build_report(gaps: list[Gap], topics: list[GapTopic]) -> GapReport:
    """Group the gaps by merged topic, largest first."""
    stamp = datetime.now(timezone.utc)
    used = sorted({g.topic_id for g in gaps})
    centroids = {t.topic_id: t.centroid for t in topics}
    groups = _merge([centroids[t] for t in used]) if used else []
    group_of = dict(zip(used, groups))
    members: dict[int, list[Gap]] = {}
    for gap in gaps:
        members.setdefault(group_of[gap.topic_id], []).append(gap)
    texts = {g: [x.question for x in items if x.question] for g, items in members.items()}
    terms = _distinctive_terms(texts)
    summaries = []
    for group, items in members.items():
        recent_first = sorted(items, key=lambda g: g.created_at, reverse=True)
        examples = list(dict.fromkeys(g.question for g in recent_first if g.question))
        summaries.append(TopicSummary(
            number=0, terms=terms.get(group, []), total=len(items),
            kinds=Counter(g.kind for g in items),
            first_seen=min(g.created_at for g in items), last_seen=max(g.created_at for g in items),
            weekly=Counter(week_start(g.created_at) for g in items),
            examples=examples[:EXAMPLES_PER_TOPIC]))
    summaries.sort(key=lambda s: (-s.total, -s.last_seen.timestamp()))
    for number, summary in enumerate(summaries, 1):
        summary.number = number
    weeks = week_range([g.created_at for g in gaps])
    return GapReport(summaries, weeks, len(gaps), any(g.question for g in gaps), stamp)


def _merge(centroids: list[np.ndarray]) -> list[int]:
    if len(centroids) == 1:
        return [0]
    from sklearn.cluster import AgglomerativeClustering

    clustering = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                         distance_threshold=MERGE_DISTANCE)
    return [int(label) for label in clustering.fit_predict(np.stack(centroids))]


def _distinctive_terms(texts: dict[int, list[str]]) -> dict[int, list[str]]:
    """Each topic's top terms by TF-IDF over topics (one document per topic: c-TF-IDF)."""
    groups = [g for g, items in texts.items() if items]
    if not groups:
        return {}
    from sklearn.feature_extraction.text import TfidfVectorizer

    documents = [_PLACEHOLDER.sub(" ", " ".join(texts[g])) for g in groups]
    vectorizer = TfidfVectorizer(stop_words="english", token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b",
                                 sublinear_tf=True)
    try:
        matrix = vectorizer.fit_transform(documents).toarray()
    except ValueError:  # nothing but stop words
        return {}
    vocabulary = vectorizer.get_feature_names_out()
    out = {}
    for row, group in zip(matrix, groups):
        best = [i for i in np.argsort(-row, kind="stable")[:TERMS_PER_TOPIC] if row[i] > 0]
        out[group] = [str(vocabulary[i]) for i in best]
    return out


def week_start(moment: datetime) -> date:
    """The Monday of the week `moment` falls in (reports count by these weeks)."""
    day = moment.date()
    return day - timedelta(days=day.weekday())


def week_range(moments: list[datetime]) -> list[date]:
    """Every week start from the first moment's week to the last's (empty weeks included)."""
    if not moments:
        return []
    first, last = week_start(min(moments)), week_start(max(moments))
    return [first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]


# ------------------------------------------------------------------------------------------------
# rendering
# ------------------------------------------------------------------------------------------------

def report_json(report: GapReport) -> dict:
    """The report as plain data (GET /v1/admin/gaps): topics largest first, each with its count
    per week of `weeks` (empty weeks included), kinds, dates and example questions."""
    return {
        "total": report.total,
        "with_text": report.with_text,
        "generated_at": report.generated_at.isoformat(timespec="seconds"),
        "weeks": [w.isoformat() for w in report.weeks],
        "topics": [{
            "number": t.number, "label": t.label, "terms": t.terms, "total": t.total,
            "last_30_days": report.recent(t),
            "abstained": t.kinds["abstained"], "low_confidence": t.kinds["low_confidence"],
            "first_seen": t.first_seen.isoformat(timespec="seconds"),
            "last_seen": t.last_seen.isoformat(timespec="seconds"),
            "weekly": [t.weekly.get(w, 0) for w in report.weeks],
            "examples": t.examples,
        } for t in report.topics],
    }


def render_terminal(report: GapReport, console) -> None:
    """A rich table: one row per topic, largest first."""
    from rich.table import Table

    if not report.topics:
        console.print("No coverage gaps recorded: every question so far was answered.")
        return
    table = Table(title=f"Coverage gaps: {report.total} questions the articles did not cover",
                  caption=None if report.with_text else _NO_TEXT)
    for name, justify in (("#", "right"), ("Topic", "left"), ("Questions", "right"),
                          ("Last 30 days", "right"), ("Abstained", "right"),
                          ("Low confidence", "right"), ("First seen", "left"),
                          ("Last seen", "left"), ("Example", "left")):
        table.add_column(name, justify=justify, overflow="fold")
    for topic in report.topics:
        table.add_row(str(topic.number), topic.label, str(topic.total),
                      str(report.recent(topic)), str(topic.kinds["abstained"]),
                      str(topic.kinds["low_confidence"]), topic.first_seen.date().isoformat(),
                      topic.last_seen.date().isoformat(),
                      topic.examples[0] if topic.examples else "")
    console.print(table)


_NO_TEXT = ("Question text is not stored (GROUNDEDQA_STORE_QUESTION_TEXT=false): topics are "
            "numbered, without terms or examples.")

_CSS = """
body { font: 15px/1.5 system-ui, sans-serif; color: #1d232a; max-width: 1000px; margin: 2em auto;
       padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #c7d0d8; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef3f5; } td.n { text-align: right; }
.note { color: #4a5661; } svg { max-width: 100%; height: auto; }
"""


def render_html(report: GapReport) -> str:
    """A self-contained page (inline CSS and SVG, nothing fetched): counts over time, topics,
    example questions."""
    e = html.escape
    parts = [f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<title>Coverage gaps</title><style>{_CSS}</style></head><body>",
             "<h1>Coverage gaps: what patients asked that the articles did not cover</h1>",
             f"<p class=\"note\">{report.total} questions in {len(report.topics)} topics; "
             f"generated {e(report.generated_at.isoformat(timespec='minutes'))}.</p>"]
    if not report.with_text:
        parts.append(f"<p class=\"note\">{e(_NO_TEXT)}</p>")
    if report.topics:
        parts.append("<h2>Questions per week</h2>" + _chart(report))
        parts.append("<h2>Topics</h2><table><thead><tr><th>#</th><th>Topic</th><th>Questions</th>"
                     "<th>Last 30 days</th><th>Abstained</th><th>Low confidence</th>"
                     "<th>First seen</th><th>Last seen</th></tr></thead><tbody>")
        for t in report.topics:
            parts.append(
                f"<tr><td class=\"n\">{t.number}</td><td>{e(t.label)}</td>"
                f"<td class=\"n\">{t.total}</td><td class=\"n\">{report.recent(t)}</td>"
                f"<td class=\"n\">{t.kinds['abstained']}</td>"
                f"<td class=\"n\">{t.kinds['low_confidence']}</td>"
                f"<td>{t.first_seen.date()}</td><td>{t.last_seen.date()}</td></tr>")
        parts.append("</tbody></table>")
        for t in report.topics:
            parts.append(f"<section><h2>Topic {t.number}: {e(t.label)}</h2>")
            weeks = "".join(f"<tr><td>week of {w}</td><td class=\"n\">{t.weekly.get(w, 0)}</td></tr>"
                            for w in report.weeks)
            parts.append(f"<table><thead><tr><th>Week</th><th>Questions</th></tr></thead>"
                         f"<tbody>{weeks}</tbody></table>")
            if t.examples:
                parts.append("<p>Example questions:</p><ul>"
                             + "".join(f"<li>{e(x)}</li>" for x in t.examples) + "</ul>")
            parts.append("</section>")
    else:
        parts.append("<p>No coverage gaps recorded: every question so far was answered.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _chart(report: GapReport, top: int = 6) -> str:
    """Stacked weekly bars of the largest topics (the rest as "other"), as inline SVG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = report.topics[:top]
    x = np.arange(len(report.weeks))
    fig, ax = plt.subplots(figsize=(9, 3.2))
    bottom = np.zeros(len(report.weeks))
    series = [(f"{t.number}: {t.label}", [t.weekly.get(w, 0) for w in report.weeks]) for t in shown]
    rest = report.topics[top:]
    if rest:
        series.append(("other", [sum(t.weekly.get(w, 0) for t in rest) for w in report.weeks]))
    for name, counts in series:
        ax.bar(x, counts, bottom=bottom, label=name[:40])
        bottom += np.asarray(counts)
    ax.set_xticks(x, [w.isoformat() for w in report.weeks], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("questions")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    plt.close(fig)
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]
