"""Connecting to the state store and migrating it (Alembic, scripts in `migrations/`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class StateError(RuntimeError):
    """The state store cannot be used; the message says why and what to do."""


#: PostgreSQL URLs without a driver (and Heroku-style `postgres://`) use psycopg 3, the driver
#: this package installs; SQLAlchemy's own default would be psycopg2.
_POSTGRES_DRIVER = "postgresql+psycopg"


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets its folder created, WAL and a busy timeout; PostgreSQL
    (`postgresql://` or `postgresql+psycopg://`) goes through psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StateError(f"GROUNDEDQA_STATE_URL={url!r} is not a database URL ({exc})") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername=_POSTGRES_DRIVER)
    if parsed.get_backend_name() != "sqlite":
        try:
            return create_engine(parsed, pool_pre_ping=True)
        except (ArgumentError, ImportError) as exc:
            raise StateError(f"GROUNDEDQA_STATE_URL names a database this install cannot reach "
                             f"({type(exc).__name__}: {exc})") from exc
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:
        # WAL lets the server read while a build records versions; NORMAL sync is durable
        # across a process crash, which is what a WAL database needs.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def alembic_config(engine: Engine) -> Config:
    """Alembic's configuration for this package's scripts, bound to `engine`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The newest migration this code knows."""
    return ScriptDirectory.from_config(_bare_config()).get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        raise StateError(f"cannot reach the state store {engine.url!r}: {exc}") from exc


def upgrade(engine: Engine) -> str:
    """Migrate the database to the newest revision; return it."""
    try:
        command.upgrade(alembic_config(engine), "head")
    except SQLAlchemyError as exc:
        raise StateError(f"cannot migrate the state store {engine.url!r}: {exc}") from exc
    return head_revision()


def _bare_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config
