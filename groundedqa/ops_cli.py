"""Day-two commands: `withdraw` / `restore`, `index list` / `index rollback`, `backup` /
`restore-backup`. They work on this machine's index root, corpus and state store (the settings),
and every server reading that index root sees the result at its next request.
"""

from __future__ import annotations

import argparse
import getpass
import os

from groundedqa.errors import CliError
from groundedqa.settings import Settings

INDEX_HELP = "index directory (default: $GROUNDEDQA_INDEX or var/index)"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the day-two commands."""
    p = sub.add_parser("withdraw", help="stop quoting a document at once (no build; every server "
                       "reading the index, from its next request)")
    p.add_argument("doc_id", metavar="DOC_ID", help="the document's id (see `groundedqa admin list`)")
    p.add_argument("--reason", default="", help="why it is withdrawn (recorded with who and when; "
                   "never shown to patients)")
    p.add_argument("--by", default=None, help="who withdraws it (default: the OS user)")
    p.add_argument("--index", metavar="DIR", help=INDEX_HELP)
    p.set_defaults(func=cmd_withdraw)

    p = sub.add_parser("restore", help="serve a withdrawn document again")
    p.add_argument("doc_id", metavar="DOC_ID", help="the withdrawn document's id")
    p.add_argument("--by", default=None, help="who restores it (default: the OS user)")
    p.add_argument("--index", metavar="DIR", help=INDEX_HELP)
    p.set_defaults(func=cmd_restore)

    index = sub.add_parser("index", help="list the builds on disk, roll back to an earlier one")
    index_sub = index.add_subparsers(dest="index_action", required=True, metavar="ACTION")
    p = index_sub.add_parser("list", help="builds with their time, documents, size, which is live")
    p.add_argument("--index", metavar="DIR", help=INDEX_HELP)
    p.set_defaults(func=cmd_index_list)
    p = index_sub.add_parser("rollback", help="serve an earlier build again (CURRENT re-pointed "
                             "atomically, after the build is checked whole)")
    p.add_argument("build", metavar="BUILD", nargs="?", default=None,
                   help="build id (default: the build published before the live one)")
    p.add_argument("--index", metavar="DIR", help=INDEX_HELP)
    p.set_defaults(func=cmd_index_rollback)

    p = sub.add_parser("backup", help="one archive (+ .sha256) of the live build, the corpus and "
                       "the clinic's records")
    p.add_argument("dest", metavar="DEST", help="archive file to write (.tar.gz), or a folder to "
                   "write a dated one into")
    p.add_argument("--index", metavar="DIR", help=INDEX_HELP)
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore-backup", help="unpack a backup into empty index, corpus and state "
                       "store locations (the settings')")
    p.add_argument("src", metavar="SRC", help="the archive `groundedqa backup` wrote")
    p.add_argument("--skip-checksum", action="store_true",
                   help="restore without the SRC.sha256 file (the build is still checked whole)")
    p.add_argument("--index", metavar="DIR", help=INDEX_HELP)
    p.set_defaults(func=cmd_restore_backup)


def os_user() -> str:
    """Who runs this command, as recorded."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container's numeric user)
        return f"uid {os.getuid()}"


def _admin(settings: Settings):
    from groundedqa.admin import ClinicAdmin
    from groundedqa.state import StateStore

    def no_encoder():
        raise CliError("internal: withdrawing needs no model")

    return ClinicAdmin(settings, StateStore.open(settings), no_encoder)


def cmd_withdraw(args: argparse.Namespace, settings: Settings) -> int:
    from groundedqa.ingest.corpus_edit import UnknownDocument

    try:
        done = _admin(settings).withdraw(args.doc_id, args.reason, args.by or os_user())
    except UnknownDocument as exc:
        raise CliError(str(exc)) from exc
    w = done.withdrawal
    if done.changed:
        print(f"withdrawn {w.doc_id} (by {w.by} at {w.at}): no answer quotes it from now on")
    for note in done.notes:
        print(f"  note: {note}")
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    done = _admin(settings).restore(args.doc_id, args.by or os_user())
    print(f"restored {args.doc_id}: answers may quote it again (it was withdrawn by "
          f"{done.withdrawal.by} at {done.withdrawal.at})")
    for note in done.notes:
        print(f"  note: {note}")
    return 0


def cmd_index_list(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console
    from rich.table import Table

    from groundedqa.index.builds import list_builds

    builds = list_builds(settings.index)
    if not builds:
        raise CliError(f"no builds in {settings.index}: run `groundedqa ingest` first")
    table = Table(title=f"Builds in {settings.index}")
    for column in ("build", "built at (UTC)", "documents", "size", "state"):
        table.add_column(column, overflow="fold")
    for b in builds:
        state = ["LIVE" if b.live else "published" if b.published else "never published"]
        state += ["served by a running server"] if b.leased and not b.live else []
        state += [f"unreadable: {b.problem}"] if b.problem else []
        table.add_row(b.build_id, (b.built_at or "?").replace("+00:00", ""),
                      "?" if b.documents is None else str(b.documents), _size(b.size_bytes),
                      "; ".join(state))
    Console(width=max(120, Console().width)).print(table)
    return 0


def cmd_index_rollback(args: argparse.Namespace, settings: Settings) -> int:
    from groundedqa.index.builds import current_build_id, rollback

    before = current_build_id(settings.index)
    live = rollback(settings.index, args.build)
    if live == before:
        print(f"build {live} is already live")
        return 0
    note = _record_versions(settings)
    print(f"rolled back: {live} is live (was {before}); servers reading {settings.index} serve "
          "it from their next request")
    print("  note: the corpus folder is unchanged: fix or withdraw the article before the next "
          "ingest, or it is published again")
    if note:
        print(f"  note: {note}")
    return 0


def _record_versions(settings: Settings) -> str | None:
    """Record the rolled-back build's document versions as live (citations resolve as served)."""
    from groundedqa.index.builds import open_index
    from groundedqa.state import StateStore

    try:
        state = StateStore.open(settings)
        index = open_index(settings.index)
        try:
            docs = [index.store.document(d) for d in index.manifest.get("documents", {})]
            state.versions.record_published(index.build_id, [d for d in docs if d is not None])
        finally:
            index.close()
            state.close()
    except Exception as exc:  # noqa: BLE001 - the rollback stands; say what was not recorded
        return f"document versions not recorded in the state store: {exc}"
    return None


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from groundedqa.backup import BackupError, backup

    try:
        report = backup(settings, Path(args.dest))
    except BackupError as exc:
        raise CliError(str(exc)) from exc
    print(f"backup written: {report.archive} ({_size(report.archive.stat().st_size)})")
    print(f"  checksum: {report.checksum_file} (sha256 {report.sha256[:16]}...; "
          "`sha256sum -c` checks it)")
    print(f"  index build {report.build_id} ({report.documents} documents), "
          f"{report.corpus_files} corpus files, clinic records: "
          f"{'included' if report.state_included else 'not included'}")
    for note in report.notes:
        print(f"  note: {note}")
    return 0


def cmd_restore_backup(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from groundedqa.backup import BackupError, restore_backup

    try:
        report = restore_backup(settings, Path(args.src), verify_checksum=not args.skip_checksum)
    except BackupError as exc:
        raise CliError(str(exc)) from exc
    print(f"restored build {report.build_id} into {report.index}, the corpus into {report.corpus}"
          + (f", the clinic's records into {report.state}" if report.state else ""))
    for note in report.notes:
        print(f"  note: {note}")
    print("  start the server with the same GROUNDEDQA_* settings as before (they are not in "
          "the backup)")
    return 0


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"

