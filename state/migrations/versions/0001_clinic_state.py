"""The clinic's state: document versions, answers, feedback, coverage gaps, admin changes.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "document_versions",
        sa.Column("doc_id", sa.String(255), primary_key=True),
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("doc_metadata", sa.JSON, nullable=False),
        sa.Column("doc_references", sa.JSON, nullable=False),
        sa.Column("build_id", sa.String(64), nullable=False),
        sa.Column("published_at", TZ, nullable=False),
        sa.Column("retired_at", TZ, nullable=True),
    )
    op.create_index("ix_document_versions_retired_at", "document_versions", ["retired_at"])
    op.create_table(
        "answers",
        sa.Column("answer_id", sa.String(36), primary_key=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("build_id", sa.String(64), nullable=False),
        sa.Column("abstained", sa.Boolean, nullable=False),
        sa.Column("urgent", sa.Boolean, nullable=False),
        sa.Column("confidence", sa.Float, nullable=True),
        sa.Column("citations", sa.JSON, nullable=False),
        sa.Column("question", sa.Text, nullable=True),
    )
    op.create_index("ix_answers_created_at", "answers", ["created_at"])
    op.create_table(
        "feedback",
        sa.Column("answer_id", sa.String(36), primary_key=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("helpful", sa.Boolean, nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("build_id", sa.String(64), nullable=False),
        sa.Column("abstained", sa.Boolean, nullable=False),
        sa.Column("confidence", sa.Float, nullable=True),
        sa.Column("citations", sa.JSON, nullable=False),
        sa.Column("question", sa.Text, nullable=True),
    )
    op.create_index("ix_feedback_created_at", "feedback", ["created_at"])
    op.create_table(
        "gap_topics",
        sa.Column("topic_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("centroid", sa.LargeBinary, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "gaps",
        sa.Column("gap_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("build_id", sa.String(64), nullable=False),
        sa.Column("topic_id", sa.Integer, sa.ForeignKey("gap_topics.topic_id"), nullable=False),
        sa.Column("confidence", sa.Float, nullable=True),
        sa.Column("question", sa.Text, nullable=True),
    )
    op.create_index("ix_gaps_created_at", "gaps", ["created_at"])
    op.create_index("ix_gaps_topic_id", "gaps", ["topic_id"])
    op.create_table(
        "admin_changes",
        sa.Column("change_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("doc_id", sa.String(255), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("version", sa.String(64), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("requested_at", TZ, nullable=False),
        sa.Column("started_at", TZ, nullable=True),
        sa.Column("finished_at", TZ, nullable=True),
        sa.Column("build_id", sa.String(64), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_index("ix_admin_changes_status", "admin_changes", ["status"])


def downgrade() -> None:
    for table in ("admin_changes", "gaps", "gap_topics", "feedback", "answers",
                  "document_versions"):
        op.drop_table(table)
