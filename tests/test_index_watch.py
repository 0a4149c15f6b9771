"""A published build is served at once: by the very next request (its own check of CURRENT), and
loaded before any request by the file-system watch, with the fallback poll set to an hour."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from groundedqa.api.app import create_app
from groundedqa.service import Service
from tests.fakes import HashingEncoder
from tests.reliability_helpers import BACK, KNEE, build_tiny, tiny_settings, write_corpus
from tests.servers import serving, until

QUESTION = {"question": "does walking help lower back pain?"}
AN_HOUR = 3600.0


def test_the_very_next_request_after_a_publish_is_answered_by_the_new_build(tmp_path) -> None:
    write_corpus(tmp_path, knee=KNEE)
    settings = tiny_settings(tmp_path, reload_check_seconds=AN_HOUR)
    first = build_tiny(settings).build_id
    # Plain TestClient: no lifespan, so no watch; only the request's own check.
    client = TestClient(create_app(settings, Service.load(settings, encoder=HashingEncoder())))
    assert client.post("/v1/answer", json=QUESTION).json()["index"] == first
    for _ in range(3):
        write_corpus(tmp_path, knee=KNEE, back=BACK + f"\nWalk {_ + 2} times a week.\n")
        published = build_tiny(settings).build_id
        assert client.post("/v1/answer", json=QUESTION).json()["index"] == published
    client.app.state.admin_worker.stop()


def test_the_watch_loads_a_published_build_before_any_request(tmp_path) -> None:
    write_corpus(tmp_path, knee=KNEE)
    settings = tiny_settings(tmp_path, reload_check_seconds=AN_HOUR)
    build_tiny(settings)
    app = create_app(settings, Service.load(settings, encoder=HashingEncoder()))
    holder = app.state.holder
    with serving(app):
        assert until(lambda: holder._watcher is not None and holder._watcher.watching)
        write_corpus(tmp_path, knee=KNEE, back=BACK)
        published = build_tiny(settings).build_id
        start = time.monotonic()
        assert until(lambda: holder._loaded_id == published), "the watch did not load the build"
        print(f"\npublished -> loaded by the watch: {1000 * (time.monotonic() - start):.1f} ms")


def test_without_a_file_system_watch_the_server_polls(tmp_path, monkeypatch, caplog) -> None:
    def no_watch(*_args, **_kwargs):
        raise OSError("inotify watch limit reached")

    monkeypatch.setattr("watchfiles.watch", no_watch)
    write_corpus(tmp_path, knee=KNEE)
    settings = tiny_settings(tmp_path, reload_check_seconds=0.1)
    build_tiny(settings)
    app = create_app(settings, Service.load(settings, encoder=HashingEncoder()))
    with serving(app):
        write_corpus(tmp_path, knee=KNEE, back=BACK)
        published = build_tiny(settings).build_id
        assert until(lambda: app.state.holder._loaded_id == published)
    assert "polling for new builds every 0.1 s" in caplog.text
