"""The state store on a real PostgreSQL server, the builder lock, and the orphaned-build recovery:
what several replicas share."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from groundedqa.admin import ClinicAdmin
from groundedqa.cli import main
from groundedqa.index.records import StoredDocument
from groundedqa.settings import Settings
from groundedqa.state import StateError, StateStore
from groundedqa.state.db import make_engine
from groundedqa.state.queue import BUILDING
from tests.clinic_helpers import KNEE, make_clinic

REPO = Path(__file__).resolve().parents[1]


def doc(doc_id: str, text: str) -> StoredDocument:
    return StoredDocument(doc_id=doc_id, title=doc_id.title(), text=text, metadata={"url": None},
                          references=[], content_hash=f"h-{abs(hash(text)) % 10**8}", source="x")


def test_a_postgresql_url_without_a_driver_goes_through_psycopg():
    for url in ("postgresql://u@db.example/clinic", "postgres://u@db.example/clinic"):
        engine = make_engine(url)
        assert engine.url.drivername == "postgresql+psycopg"
        engine.dispose()


def test_postgresql_needs_db_upgrade_then_holds_every_record(postgres_url, tmp_path, monkeypatch):
    settings = Settings(index=tmp_path / "index", state_url=postgres_url)
    with pytest.raises(StateError, match="groundedqa db upgrade"):
        StateStore.open(settings)
    monkeypatch.setenv("GROUNDEDQA_STATE_URL", postgres_url)
    assert main(["db", "upgrade"]) == 0
    state = StateStore.open(settings)
    try:
        # document versions: a replaced version retires and stays readable
        state.versions.record_published("b1", [doc("knee", "Rest helps.")])
        state.versions.record_published("b2", [doc("knee", "Ice helps.")])
        history = state.versions.history("knee")
        assert [v.retired_at is None for v in history] == [False, True]
        assert state.versions.get("knee", history[0].version).text == "Rest helps."
        # answers, feedback (the latest click counts), export
        answer_id = str(uuid.uuid4())
        state.feedback.record_answer({
            "answer_id": answer_id, "index": "b2", "abstained": False, "urgent": False,
            "confidence": 0.8, "question": "q", "citations": [
                {"id": 1, "doc_id": "knee", "doc_version": "v", "start": 0, "end": 9}]})
        state.feedback.add(answer_id, True)
        state.feedback.add(answer_id, False, "not it")
        [exported] = state.feedback.export()
        assert (exported.helpful, exported.comment, exported.citations[0]["doc_id"]) == \
            (False, "not it", "knee")
        assert exported.created_at.tzinfo is not None
        # coverage gaps: near questions join one topic, a far one starts another
        near = np.zeros(8, dtype=np.float32)
        near[0] = 1
        far = np.zeros(8, dtype=np.float32)
        far[5] = 1
        topics = [state.gaps.record(v, kind="abstained", build_id="b2", question="q")
                  for v in (near, near, far)]
        assert topics[0] == topics[1] != topics[2]
        assert sorted(t.size for t in state.gaps.topics()) == [1, 2]
        # the admin queue
        change = state.changes.add("knee", "put", "v")
        [claimed] = state.changes.claim("host-a:1")
        assert (claimed.change_id, claimed.status, claimed.owner) == \
            (change.change_id, BUILDING, "host-a:1")
        state.changes.finish([claimed], "b3")
        assert state.changes.get(change.change_id).build_id == "b3"
    finally:
        state.close()


def test_the_postgresql_builder_lock_admits_one_and_ends_with_its_holder(postgres_url, tmp_path,
                                                                        monkeypatch):
    settings = Settings(index=tmp_path / "index", state_url=postgres_url)
    monkeypatch.setenv("GROUNDEDQA_STATE_URL", postgres_url)
    assert main(["db", "upgrade"]) == 0
    first, second = StateStore.open(settings), StateStore.open(settings)
    try:
        with first.builder_lock(settings.index) as held:
            assert held
            with second.builder_lock(settings.index) as also:
                assert not also
        with second.builder_lock(settings.index) as held:
            assert held  # released on exit
        # A holder killed mid-build: the server ends its session, and its lock with it.
        holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from pathlib import Path
            from groundedqa.settings import Settings
            from groundedqa.state import StateStore
            state = StateStore.open(Settings(index=Path({str(settings.index)!r}),
                                             state_url={postgres_url!r}))
            with state.builder_lock(Path({str(settings.index)!r})) as held:
                print("held" if held else "refused", flush=True)
                time.sleep(120)
            """)], stdout=subprocess.PIPE, text=True, cwd=REPO)
        try:
            assert holder.stdout.readline().strip() == "held"
            with first.builder_lock(settings.index) as held:
                assert not held
        finally:
            holder.kill()
            holder.wait()
        deadline = time.monotonic() + 10
        while True:
            with first.builder_lock(settings.index) as held:
                if held:
                    break
            assert time.monotonic() < deadline, "the killed holder's lock never ended"
            time.sleep(0.1)
    finally:
        first.close()
        second.close()


def test_a_build_in_progress_elsewhere_is_left_alone_and_an_orphaned_one_is_rebuilt(tmp_path):
    clinic = make_clinic(tmp_path)
    clinic.app.state.admin_worker.stop()  # this test drives the builders by hand
    state = clinic.app.state.clinic_state
    other = ClinicAdmin(clinic.settings.model_copy(update={"replica_id": "other:1"}), state,
                        lambda: clinic.encoder)
    here = ClinicAdmin(clinic.settings.model_copy(update={"replica_id": "here:2"}), state,
                       lambda: clinic.encoder)
    other.put("ankle", "ankle.md", KNEE.replace("Knee", "Ankle").encode(), {})
    with state.builder_lock(clinic.settings.index) as held:  # "other" is mid-build
        assert held
        [claimed] = state.changes.claim(other.owner)
        assert here.build_pending() == []
        assert state.changes.get(claimed.change_id).status == BUILDING
    # "other" died without finishing: its lock is gone, its change still says building.
    [rebuilt] = here.build_pending()
    assert rebuilt.change_id == claimed.change_id
    change = state.changes.get(claimed.change_id)
    assert (change.status, change.owner) == ("done", "here:2") and change.build_id
    assert state.changes.pending() == []


def test_replicas_opening_one_new_sqlite_store_at_once_all_find_it_migrated(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    settings = Settings(index=tmp_path / "var" / "index")

    def open_and_count() -> int:
        state = StateStore.open(settings)
        try:
            return len(state.changes.pending())
        finally:
            state.close()

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda _: open_and_count(), range(4))) == [0, 0, 0, 0]
