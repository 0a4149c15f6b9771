"""Pruning keeps what is served: the published build, and any build a running server leases
(issue 12, findings 4 and 10)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from fastapi.testclient import TestClient

from groundedqa.api.app import create_app
from groundedqa.index.builds import (
    BuildLease,
    builds_dir,
    current_build_id,
    leased_builds,
    leases_dir,
    prune_builds,
    published_history,
)
from groundedqa.service import Service
from tests.fakes import HashingEncoder
from tests.reliability_helpers import BACK, KNEE, SHOULDER, build_tiny, tiny_settings, write_corpus

QUESTION = {"question": "does ice help a sore knee?"}


def on_disk(settings) -> set[str]:
    return {p.name for p in builds_dir(settings.index).iterdir()}


def test_build_a_running_server_still_serves_is_not_pruned(tmp_path) -> None:
    # Finding 4: two ingests later, the build the server still had loaded was gone: 500s.
    write_corpus(tmp_path, knee=KNEE)
    settings = tiny_settings(tmp_path, reload_check_seconds=3600, keep_builds=1)
    served = build_tiny(settings).build_id
    client = TestClient(create_app(settings, Service.load(settings, encoder=HashingEncoder())))
    assert client.post("/v1/answer", json=QUESTION).json()["index"] == served  # first check done
    write_corpus(tmp_path, knee=KNEE, back=BACK)
    build_tiny(settings)
    write_corpus(tmp_path, knee=KNEE, back=BACK, shoulder=SHOULDER)
    newest = build_tiny(settings).build_id
    # No request came between the builds, so the server still held `served`: its lease kept it.
    assert on_disk(settings) == {served, newest}
    response = client.post("/v1/answer", json=QUESTION)
    assert response.status_code == 200 and response.json()["index"] == newest


def test_swapping_builds_ends_the_lease_on_the_old_one(tmp_path) -> None:
    write_corpus(tmp_path, knee=KNEE)
    settings = tiny_settings(tmp_path, keep_builds=1)
    first = build_tiny(settings).build_id
    client = TestClient(create_app(settings, Service.load(settings, encoder=HashingEncoder())))
    write_corpus(tmp_path, knee=KNEE, back=BACK)
    second = build_tiny(settings).build_id
    client.app.state.holder.reload()
    assert client.post("/v1/answer", json=QUESTION).json()["index"] == second
    assert leased_builds(settings.index) == {second}
    assert prune_builds(settings.index, keep=1) == [first]


def leasing_process(settings, build_id: str, then: str) -> list[str]:
    """A Python command line that leases `build_id`, then runs the statement `then`."""
    return [sys.executable, "-c", textwrap.dedent(f"""
        import os, signal, sys
        from pathlib import Path
        from groundedqa.index.builds import BuildLease
        lease = BuildLease(Path({str(settings.index)!r}), {build_id!r})
        {then}
    """)]


def test_lease_of_a_killed_server_does_not_count(tmp_path) -> None:
    write_corpus(tmp_path, knee=KNEE)
    settings = tiny_settings(tmp_path)
    build_id = build_tiny(settings).build_id
    command = leasing_process(settings, build_id, "os.kill(os.getpid(), signal.SIGKILL)")
    proc = subprocess.run(command, capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    assert len(list(leases_dir(settings.index).iterdir())) == 1  # its file is still there
    assert leased_builds(settings.index) == set()
    assert list(leases_dir(settings.index).iterdir()) == []  # and is cleaned up


def test_lease_held_by_another_live_process_counts(tmp_path) -> None:
    write_corpus(tmp_path, knee=KNEE)
    settings = tiny_settings(tmp_path)
    build_id = build_tiny(settings).build_id
    command = leasing_process(settings, build_id, 'print("leased", flush=True); sys.stdin.read()')
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline().strip() == b"leased"
        assert leased_builds(settings.index) == {build_id}
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    assert leased_builds(settings.index) == set()


def test_prune_after_a_kill_between_rename_and_publish_keeps_the_last_published(
        tmp_path, monkeypatch) -> None:
    # Finding 10: by folder time the unpublished build looked newest, so the next prune kept it
    # and removed the last published build.
    write_corpus(tmp_path, knee=KNEE)
    settings = tiny_settings(tmp_path)
    published = build_tiny(settings).build_id
    write_corpus(tmp_path, knee=KNEE, back=BACK)

    def killed(*_args: object) -> None:
        raise KeyboardInterrupt  # the process dies after the rename, before CURRENT changes

    monkeypatch.setattr("groundedqa.ingest.build.publish", killed)
    with pytest.raises(KeyboardInterrupt):
        build_tiny(settings)
    monkeypatch.undo()
    [unpublished] = on_disk(settings) - {published}
    assert current_build_id(settings.index) == published
    write_corpus(tmp_path, knee=KNEE, back=BACK, shoulder=SHOULDER)
    newest = build_tiny(settings).build_id
    assert on_disk(settings) == {published, newest}  # the unpublished one went, not the published
    assert published_history(settings.index) == [published, newest]


def test_prune_keeps_the_live_build_even_if_it_was_never_recorded(tmp_path) -> None:
    write_corpus(tmp_path, knee=KNEE)
    settings = tiny_settings(tmp_path)
    live = build_tiny(settings).build_id
    (settings.index / "PUBLISHED").unlink()  # an index from before PUBLISHED existed
    assert prune_builds(settings.index, keep=1) == []
    assert on_disk(settings) == {live}


def test_prune_keeps_the_most_recently_published_builds(tmp_path) -> None:
    write_corpus(tmp_path, knee=KNEE)
    settings = tiny_settings(tmp_path, keep_builds=5)
    ids = []
    for articles in ({"knee": KNEE, "back": BACK}, {"knee": KNEE},
                     {"knee": KNEE, "shoulder": SHOULDER}):
        write_corpus(tmp_path, **articles)
        ids.append(build_tiny(settings, sync=True).build_id)
    # Roll back to the first build by hand: it becomes the most recent publication.
    from groundedqa.index.builds import publish

    publish(settings.index, ids[0])
    assert prune_builds(settings.index, keep=2) == [ids[1]]
    assert on_disk(settings) == {ids[0], ids[2]}


def test_lease_release_is_idempotent(tmp_path) -> None:
    lease = BuildLease(tmp_path, "20260101T000000Z-aaaaaaaa")
    assert leased_builds(tmp_path) == {"20260101T000000Z-aaaaaaaa"}
    lease.release()
    lease.release()
    assert leased_builds(tmp_path) == set()
