"""Coverage gaps: questions the articles did not cover, grouped into topics as they arrive.

A question's vector is compared with the stored topic centroids when it is recorded: it joins the
nearest topic when close enough (the centroid moves towards it) or starts a new one. The vector
itself is never stored, only the topic it joined; the report later merges near topics with
scikit-learn (`groundedqa.reports.gaps`). The question text is stored only when the clinic opted
in, with identifiers redacted, and erased after the retention period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import Engine, bindparam, insert, select, update

from groundedqa.state.redact import redact
from groundedqa.state.tables import gap_topics as TOPICS
from groundedqa.state.tables import gaps as GAPS
from groundedqa.state.tables import now, utc

KINDS = ("abstained", "low_confidence")


# Built once (every gap question runs them): only the columns the join reads, so SQLite's
# timestamps are not parsed for every topic; values bound at execution.
_TOPICS_TO_JOIN = select(TOPICS.c.topic_id, TOPICS.c.centroid, TOPICS.c.size).with_for_update()
_MOVE_TOPIC = update(TOPICS).where(TOPICS.c.topic_id == bindparam("moved_topic"))


@dataclass(frozen=True)
class GapTopic:
    topic_id: int
    centroid: np.ndarray
    size: int


@dataclass(frozen=True)
class Gap:
    gap_id: int
    created_at: datetime
    kind: str
    build_id: str
    topic_id: int
    confidence: float | None
    question: str | None


class GapLog:
    """Records gap questions under topics; hands topics and gaps to the report."""

    def __init__(self, engine: Engine, *, store_text: bool, text_retention_days: int,
                 join_similarity: float) -> None:
        self.engine = engine
        self.store_text = store_text
        self.text_retention = timedelta(days=text_retention_days)
        self.join_similarity = join_similarity

    def record(self, vector: np.ndarray, *, kind: str, build_id: str, question: str,
               confidence: float | None = None) -> int:
        """Record one gap question (its unit `vector` places it in a topic); return the topic id."""
        if kind not in KINDS:
            raise ValueError(f"gap kind must be one of {KINDS}, not {kind!r}")
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        stamp = now()
        with self.engine.begin() as db:
            # Locked for the update on PostgreSQL (replicas recording at once); SQLite's write
            # transaction serialises anyway.
            rows = db.execute(_TOPICS_TO_JOIN).all()
            topic_id = None
            if rows:
                centroids = np.stack([np.frombuffer(r.centroid, dtype=np.float32) for r in rows])
                sims = centroids @ vector
                best = int(np.argmax(sims))
                if sims[best] >= self.join_similarity:
                    row = rows[best]
                    moved = centroids[best] * row.size + vector
                    moved /= np.linalg.norm(moved) or 1.0
                    topic_id = row.topic_id
                    db.execute(_MOVE_TOPIC, {
                        "moved_topic": topic_id, "centroid": moved.astype(np.float32).tobytes(),
                        "size": row.size + 1, "updated_at": stamp})
            if topic_id is None:
                topic_id = db.execute(insert(TOPICS), {
                    "centroid": vector.tobytes(), "size": 1, "created_at": stamp,
                    "updated_at": stamp,
                }).inserted_primary_key[0]
            db.execute(insert(GAPS), {
                "created_at": stamp, "kind": kind, "build_id": build_id, "topic_id": topic_id,
                "confidence": confidence,
                "question": redact(question) if self.store_text else None})
        return int(topic_id)

    def topics(self) -> list[GapTopic]:
        with self.engine.connect() as db:
            return [GapTopic(r.topic_id, np.frombuffer(r.centroid, dtype=np.float32).copy(), r.size)
                    for r in db.execute(select(TOPICS).order_by(TOPICS.c.topic_id))]

    def gaps(self, since: datetime | None = None) -> list[Gap]:
        query = select(GAPS).order_by(GAPS.c.created_at, GAPS.c.gap_id)
        if since is not None:
            query = query.where(GAPS.c.created_at >= since)
        with self.engine.connect() as db:
            return [Gap(r.gap_id, utc(r.created_at), r.kind, r.build_id, r.topic_id, r.confidence,
                        r.question) for r in db.execute(query)]

    def purge(self) -> None:
        """Erase question text past its retention (counts and topics stay)."""
        with self.engine.begin() as db:
            db.execute(update(GAPS).where(GAPS.c.question.is_not(None),
                                          GAPS.c.created_at < now() - self.text_retention)
                       .values(question=None))
