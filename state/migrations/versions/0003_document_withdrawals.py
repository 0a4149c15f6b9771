"""Withdrawal history: who withdrew or restored which document, when and why.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "document_withdrawals",
        sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("doc_id", sa.String(255), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("version", sa.String(64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_document_withdrawals_doc_id", "document_withdrawals", ["doc_id"])


def downgrade() -> None:
    op.drop_index("ix_document_withdrawals_doc_id", "document_withdrawals")
    op.drop_table("document_withdrawals")
