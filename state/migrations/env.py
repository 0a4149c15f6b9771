"""Alembic environment: runs the migrations on the engine `state.db` hands over."""

from alembic import context
from sqlalchemy import create_engine

from groundedqa.state.tables import metadata

config = context.config
engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))

with engine.connect() as connection:
    # Batch mode lets later migrations alter SQLite tables (it copies them), a no-op elsewhere.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
