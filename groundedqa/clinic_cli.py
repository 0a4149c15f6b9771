"""`groundedqa admin ...`, `groundedqa report ...` and `groundedqa db upgrade`.

`groundedqa admin` works on this machine's corpus folder, index and state store (the settings'
GROUNDEDQA_CORPUS, GROUNDEDQA_INDEX, GROUNDEDQA_STATE_URL): it makes the same change the admin
API makes and then builds in the foreground, waiting while another build of the index runs. A
server reading that index picks the new build up by itself. (A remote server is reached through
its admin API instead: `curl -X PUT -H 'X-Admin-Key: ...' -F file=@leaflet.pdf .../v1/admin/documents/ID`.)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from groundedqa.errors import CliError
from groundedqa.settings import Settings

#: How long `admin put/delete` waits for a build another process claimed.
WAIT_SECONDS = 900.0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `admin`, `report` and `db` command groups."""
    admin = sub.add_parser("admin", help="put or delete documents, list them, build status "
                           "(on this machine's corpus, index and state store)")
    admin_sub = admin.add_subparsers(dest="admin", required=True, metavar="ACTION")
    p = admin_sub.add_parser("put", help="add or replace a document, then build")
    p.add_argument("file", metavar="FILE", help="the document (.txt .md .html ...)")
    p.add_argument("--doc-id", help="its id (default: from the file name)")
    for name in ("title", "url", "publisher", "author", "date", "type"):
        p.add_argument(f"--{name}", help=f"the document's {name} (empty removes it; left out "
                       "keeps the current value)")
    _common(p)
    p.set_defaults(func=cmd_admin_put)
    p = admin_sub.add_parser("delete", help="remove a document, then build")
    p.add_argument("doc_id", metavar="DOC_ID", help="the document's id (see `groundedqa admin list`)")
    _common(p)
    p.set_defaults(func=cmd_admin_delete)
    p = admin_sub.add_parser("status", help="live build, build in progress, queued changes, last error")
    _common(p)
    p.set_defaults(func=cmd_admin_status)
    p = admin_sub.add_parser("list", help="documents with their versions")
    _common(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_admin_list)

    report = sub.add_parser("report", help="feedback export and the coverage-gap report")
    report_sub = report.add_subparsers(dest="report", required=True, metavar="REPORT")
    p = report_sub.add_parser("feedback", help="patients' feedback as CSV or JSON")
    p.add_argument("--format", choices=("csv", "json"), default="csv",
                   help="CSV (one row per rated answer; default) or JSON")
    p.add_argument("--out", metavar="FILE", help="write here (default: standard output)")
    p.add_argument("--since", type=int, metavar="DAYS", help="only the last DAYS days")
    _common(p)
    p.set_defaults(func=cmd_report_feedback)
    p = report_sub.add_parser("gaps", help="topics the articles did not cover (terminal table)")
    p.add_argument("--html", metavar="FILE", help="also write a self-contained HTML page")
    p.add_argument("--since", type=int, metavar="DAYS", help="only the last DAYS days")
    _common(p)
    p.set_defaults(func=cmd_report_gaps)

    db = sub.add_parser("db", help="the state store's schema")
    db_sub = db.add_subparsers(dest="db", required=True, metavar="ACTION")
    p = db_sub.add_parser("upgrade", help="migrate GROUNDEDQA_STATE_URL to the current schema")
    _common(p)
    p.set_defaults(func=cmd_db_upgrade)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", metavar="DIR", help="index directory (default: "
                        "$GROUNDEDQA_INDEX or var/index)")


def _open_state(settings: Settings):
    from groundedqa.state import StateStore

    return StateStore.open(settings)  # a StateError is printed as one line by main()


def _admin(settings: Settings):
    from groundedqa.admin import ClinicAdmin
    from groundedqa.index.encoders import load_encoder

    encoder = []  # loaded once, and only if a build needs it

    def lazy_encoder():
        if not encoder:
            encoder.append(load_encoder(settings))
        return encoder[0]

    return ClinicAdmin(settings, _open_state(settings), lazy_encoder)


# ------------------------------------------------------------------------------------------------
# admin
# ------------------------------------------------------------------------------------------------

def cmd_admin_put(args: argparse.Namespace, settings: Settings) -> int:
    """Validate, write into the corpus and manifest, build; print {doc_id, version, build}."""
    from groundedqa.ingest.corpus_edit import CorpusConflict, UploadRejected
    from groundedqa.ingest.load import safe_doc_id

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"{path} is not a file")
    doc_id = args.doc_id or safe_doc_id(path.stem)
    fields = {name: getattr(args, name) for name in ("title", "url", "publisher", "author",
                                                     "date", "type")}
    admin = _admin(settings)
    try:
        accepted = admin.put(doc_id, path.name, path.read_bytes(), fields)
    except (UploadRejected, CorpusConflict) as exc:
        raise CliError(str(exc)) from exc
    change = _build_and_wait(admin, accepted.change.change_id)
    print(json.dumps({"doc_id": doc_id, "version": accepted.version, "build": change.build_id}))
    return 0


def cmd_admin_delete(args: argparse.Namespace, settings: Settings) -> int:
    from groundedqa.ingest.corpus_edit import CorpusConflict, UnknownDocument

    admin = _admin(settings)
    try:
        queued = admin.delete(args.doc_id)
    except (UnknownDocument, CorpusConflict) as exc:
        raise CliError(str(exc)) from exc
    change = _build_and_wait(admin, queued.change_id)
    print(json.dumps({"doc_id": args.doc_id, "build": change.build_id}))
    return 0


def _build_and_wait(admin, change_id: int):
    """Build the queue here; if a server's builder took this change, wait for it."""
    admin.build_pending()
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        change = admin.state.changes.get(change_id)
        if change.status == "failed":
            raise CliError(f"the build failed: {change.error} (the live index is unchanged)")
        if change.status == "done":
            return change
        if time.monotonic() > deadline:
            raise CliError(f"change {change_id} is still {change.status} after {WAIT_SECONDS:.0f} s")
        time.sleep(0.5)
        admin.build_pending()


def cmd_admin_status(args: argparse.Namespace, settings: Settings) -> int:
    """The same body as GET /v1/admin/status (`live` = the published build here)."""
    from groundedqa.index.builds import current_build_id

    status = _admin(settings).status(current_build_id(settings.index))
    print(json.dumps(status, indent=2))
    return 0


def cmd_admin_list(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console
    from rich.table import Table

    from groundedqa.index.builds import IndexUnavailable, open_index

    try:
        index = open_index(settings.index)
    except IndexUnavailable:
        index = None
    try:
        rows = _admin(settings).documents(index)
    finally:
        if index is not None:
            index.close()
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    table = Table(title=f"Documents in {settings.index}")
    for column in ("doc id", "title", "live version", "sentences", "earlier versions", "note"):
        table.add_column(column, overflow="fold")
    for row in rows:
        withdrawn = row["withdrawn"]
        note = (f"WITHDRAWN by {withdrawn['by']}: {withdrawn['reason']}" if withdrawn
                else row["skipped"] or ("queued: " + ", ".join(c["action"] for c in row["pending"])
                                        if row["pending"] else "" if row["live"] else "not live"))
        table.add_row(row["doc_id"], row["title"] or "", (row["version"] or "")[:12],
                      str(row["sentences"]), str(sum(v["retired_at"] is not None
                                                     for v in row["versions"])), note)
    Console().print(table)
    return 0


# ------------------------------------------------------------------------------------------------
# reports and db
# ------------------------------------------------------------------------------------------------

def _since(days: int | None) -> datetime | None:
    return datetime.now(timezone.utc) - timedelta(days=days) if days else None


def cmd_report_feedback(args: argparse.Namespace, settings: Settings) -> int:
    from groundedqa.feedback_export import to_csv, to_json

    state = _open_state(settings)
    state.purge()
    records = state.feedback.export(_since(args.since))
    text = to_json(records) if args.format == "json" else to_csv(records)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"{len(records)} feedback records written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_report_gaps(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console

    from groundedqa.gap_report import build_report, render_html, render_terminal

    state = _open_state(settings)
    state.purge()
    report = build_report(state.gaps.gaps(_since(args.since)), state.gaps.topics())
    render_terminal(report, Console())
    if args.html:
        Path(args.html).write_text(render_html(report), encoding="utf-8")
        print(f"HTML report written to {args.html}", file=sys.stderr)
    return 0


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from groundedqa.state.db import make_engine, upgrade

    engine = make_engine(settings.state_store_url())
    revision = upgrade(engine)
    engine.dispose()
    print(f"state store {engine.url.render_as_string(hide_password=True)} is at revision {revision}")
    return 0
