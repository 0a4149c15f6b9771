"""Fault injection on the index: every damaged build is refused with a clear message, and a
running server keeps serving the previous build (issue 12, findings 3, 7, 8, 9).

Each case damages one thing of a published build (truncate, delete, flip bytes, a bad manifest,
a bad CURRENT), then checks both sides: a fresh load refuses it, naming the problem and what to
do, and a server already serving the build before it keeps answering from that build.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from groundedqa.api.app import create_app
from groundedqa.cli import main
from groundedqa.index.builds import (
    IndexCorrupt,
    IndexMismatch,
    IndexUnavailable,
    builds_dir,
    current_build_id,
    open_index,
    prune_builds,
)
from groundedqa.service import Service
from tests.fakes import HashingEncoder
from tests.reliability_helpers import BACK, KNEE, SHOULDER, build_tiny, tiny_settings, write_corpus

QUESTION = {"question": "does ice help a sore knee?"}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, str, str]:
    """An index with two published builds: `previous` (knee, back) and `damaged` (+ shoulder),
    CURRENT naming the first. Each test works on a copy."""
    root = tmp_path_factory.mktemp("faults")
    write_corpus(root, knee=KNEE, back=BACK)
    settings = tiny_settings(root)
    previous = build_tiny(settings).build_id
    write_corpus(root, knee=KNEE, back=BACK, shoulder=SHOULDER)
    target = build_tiny(settings).build_id
    (settings.index / "CURRENT").write_text(previous + "\n")
    return root, previous, target


class Case:
    """A copy of the template, and a server already serving its previous build."""

    def __init__(self, template: tuple[Path, str, str], tmp_path: Path) -> None:
        source, self.previous, self.target = template
        shutil.copytree(source, tmp_path, dirs_exist_ok=True)
        self.settings = tiny_settings(tmp_path)
        self.index = self.settings.index
        self.build = builds_dir(self.index) / self.target
        self.app = create_app(self.settings, Service.load(self.settings, encoder=HashingEncoder()))
        self.client = TestClient(self.app)

    def publish_target(self) -> None:
        (self.index / "CURRENT").write_text(self.target + "\n")

    def assert_refused_and_previous_serves(self, *expected: str) -> str:
        """A fresh load refuses the damaged build with a message naming what is wrong and what to
        do; the running server, told to reload, keeps answering from the previous build."""
        with pytest.raises(IndexUnavailable) as refused:
            open_index(self.index)
        message = str(refused.value)
        for text in expected:
            assert text in message, message
        assert "groundedqa ingest" in message and "\n" not in message
        holder = self.app.state.holder
        holder.reload()
        response = self.client.post("/v1/answer", json=QUESTION)
        assert response.status_code == 200 and response.json()["index"] == self.previous
        assert self.client.get("/healthz").json()["index"] == self.previous
        assert holder.last_error
        return message


@pytest.fixture
def case(template, tmp_path) -> Case:
    return Case(template, tmp_path)


def build_files(template: tuple[Path, str, str]) -> list[str]:
    root, _, target = template
    manifest = json.loads((builds_dir(root / "index") / target / "manifest.json").read_text())
    return sorted(manifest["files"])


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def flip(path: Path) -> None:
    """Invert one byte in the middle: same size, different content."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def delete(path: Path) -> None:
    path.unlink()


DAMAGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncate": (truncate, "truncated"),
    "flip": (flip, "checksum"),
    "delete": (delete, "missing"),
}

# The files every build of the default backend holds (the test below checks the list is whole).
FILES = ["bm25/data.csc.index.npy", "bm25/indices.csc.index.npy", "bm25/indptr.csc.index.npy",
         "bm25/params.index.json", "bm25/vocab.index.json", "layout.npz", "passages.faiss",
         "passages.npy", "records.sqlite", "sentences.npy", "titles.npy"]


def test_the_suite_damages_every_file_a_build_holds(template) -> None:
    assert build_files(template) == FILES


@pytest.mark.parametrize("damage", sorted(DAMAGES))
@pytest.mark.parametrize("name", FILES)
def test_damaged_file_is_refused_and_the_previous_build_keeps_serving(case, name, damage) -> None:
    apply, wording = DAMAGES[damage]
    apply(case.build / name)
    case.publish_target()
    case.assert_refused_and_previous_serves(name, wording)


def test_build_without_its_bm25_folder_is_refused_before_any_answer(case) -> None:
    # Finding 3: this passed validation and /healthz, then every answer was a 500.
    shutil.rmtree(case.build / "bm25")
    case.publish_target()
    case.assert_refused_and_previous_serves("bm25/")


def test_same_size_corruption_of_sentence_vectors_is_refused(case) -> None:
    # Finding 7: sizes matched, so flipped bytes served silently wrong answers.
    path = case.build / "sentences.npy"
    size = path.stat().st_size
    flip(path)
    assert path.stat().st_size == size
    case.publish_target()
    case.assert_refused_and_previous_serves("sentences.npy", "checksum")


# ------------------------------------------------------------------------------------------------
# bad manifests
# ------------------------------------------------------------------------------------------------

def rewrite_manifest(case: Case, change: Callable[[dict], object]) -> None:
    path = case.build / "manifest.json"
    manifest = json.loads(path.read_text())
    result = change(manifest)
    # A change returns a list only to replace the whole manifest (dict.pop's value is ignored).
    path.write_text(json.dumps(result if isinstance(result, list) else manifest))


BAD_MANIFESTS: dict[str, tuple[Callable[[dict], object], str]] = {
    "files is a list": (lambda m: m.update(files=list(m["files"])), "files"),
    "files entry is text": (lambda m: m["files"].update({"layout.npz": "big"}), "files.layout.npz"),
    "checksum is not hex": (lambda m: m["files"]["layout.npz"].update(blake2b="zz"), "blake2b"),
    "file outside the build": (lambda m: m["files"].update({"../../CURRENT": 3}), "not a file inside"),
    "counts missing": (lambda m: m.pop("counts"), "counts"),
    "count is negative": (lambda m: m["counts"].update(passages=-1), "counts.passages"),
    "not an object": (lambda m: [m], "not a JSON object"),
    "required file unlisted": (lambda m: m["files"].pop("records.sqlite"), "records.sqlite"),
}


@pytest.mark.parametrize("name", sorted(BAD_MANIFESTS))
def test_malformed_manifest_is_refused_and_the_previous_build_keeps_serving(case, name) -> None:
    change, wording = BAD_MANIFESTS[name]
    rewrite_manifest(case, change)
    case.publish_target()
    case.assert_refused_and_previous_serves(wording)


def test_manifest_that_is_not_json_is_refused(case) -> None:
    (case.build / "manifest.json").write_text('{"schema_version": 1, "files": ')
    case.publish_target()
    case.assert_refused_and_previous_serves("unreadable manifest.json")


def test_missing_manifest_is_refused(case) -> None:
    (case.build / "manifest.json").unlink()
    case.publish_target()
    case.assert_refused_and_previous_serves("no manifest.json")


def test_manifest_of_another_schema_version_is_a_mismatch(case) -> None:
    rewrite_manifest(case, lambda m: m.update(schema_version=99))
    case.publish_target()
    with pytest.raises(IndexMismatch, match="schema version 99"):
        open_index(case.index)


def test_serve_with_a_malformed_files_field_is_a_one_line_error(case, monkeypatch, capsys) -> None:
    # Finding 8: this crashed `serve` with a traceback.
    monkeypatch.setattr("groundedqa.index.encoders.load_encoder",
                        lambda settings, **_: HashingEncoder())
    rewrite_manifest(case, lambda m: m.update(files=list(m["files"])))
    case.publish_target()
    code = main(["serve", "--index", str(case.index)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("groundedqa: error:") and "\n" not in err
    assert "manifest.json" in err and "files" in err


def test_build_whose_manifest_names_another_build_is_refused_once(case, monkeypatch) -> None:
    # Finding 9: the folder name and the manifest's id disagreed, and the server reloaded the
    # build every reload check, forever.
    rewrite_manifest(case, lambda m: m.update(build_id="20200101T000000Z-somewhere"))
    case.publish_target()
    with pytest.raises(IndexCorrupt, match="holds the manifest of build"):
        open_index(case.index)
    loads = []
    real_load = Service.load

    def counting_load(*args, **kwargs):
        loads.append(1)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(Service, "load", counting_load)
    holder = case.app.state.holder
    # The background reload runs inline, so each get() has finished loading when it returns.
    monkeypatch.setattr(holder, "_reload_in_background", holder.reload)
    for _ in range(5):
        assert holder.get().build_id == case.previous
    assert len(loads) == 1
    assert case.client.post("/v1/answer", json=QUESTION).json()["index"] == case.previous


# ------------------------------------------------------------------------------------------------
# bad CURRENT
# ------------------------------------------------------------------------------------------------

BAD_CURRENT: dict[str, tuple[Callable[[Path], None], str]] = {
    "names a missing build": (lambda p: p.write_text("20990101T000000Z-00000000\n"), "not in"),
    "a path": (lambda p: p.write_text("../../etc\n"), "does not hold a build id"),
    "a temporary build": (lambda p: p.write_text("tmp-20990101T000000Z\n"), "does not hold a build id"),
    "binary": (lambda p: p.write_bytes(b"\xff\xfe\x00garbage"), "unreadable"),
    "a folder": (lambda p: (p.unlink(), p.mkdir()), "unreadable"),
}


@pytest.mark.parametrize("name", sorted(BAD_CURRENT))
def test_bad_current_is_refused_and_the_previous_build_keeps_serving(case, name) -> None:
    damage, wording = BAD_CURRENT[name]
    damage(case.index / "CURRENT")
    case.assert_refused_and_previous_serves("CURRENT", wording)


# ------------------------------------------------------------------------------------------------
# pruning while servers read
# ------------------------------------------------------------------------------------------------

def test_concurrent_prunes_never_remove_the_served_build(case) -> None:
    # CURRENT moves on to a build the server refuses, so it keeps serving `previous`, while
    # several prunes race each other.
    flip(case.build / "records.sqlite")
    case.publish_target()
    case.app.state.holder.reload()
    errors: list[BaseException] = []

    def prune() -> None:
        try:
            for _ in range(5):
                prune_builds(case.index, keep=1)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=prune) for _ in range(4)]
    for thread in threads:
        thread.start()
    statuses = [case.client.post("/v1/answer", json=QUESTION).status_code for _ in range(10)]
    for thread in threads:
        thread.join()
    assert not errors and set(statuses) == {200}
    assert (builds_dir(case.index) / case.previous).is_dir()  # leased by the server
    assert (builds_dir(case.index) / case.target).is_dir()  # live
    assert current_build_id(case.index) == case.target


def test_build_from_before_checksums_serves_and_the_next_ingest_adds_them(case, caplog) -> None:
    # Manifests written before checksums recorded bare sizes: still served (sizes checked), and
    # rewritten by the next ingest even when no article changed.
    legacy = ["records.sqlite", "layout.npz", "passages.npy", "sentences.npy", "passages.faiss",
              "titles.npy"]  # what those manifests listed: bm25/ was not among them
    rewrite_manifest(case, lambda m: m.update(
        files={name: record["size"] for name, record in m["files"].items() if name in legacy}))
    case.publish_target()
    with caplog.at_level("WARNING", logger="groundedqa.index"):
        assert open_index(case.index).build_id == case.target
    assert "before content checksums" in caplog.text
    report = build_tiny(case.settings)
    assert report.changed and report.embedded_documents == 0
    manifest = open_index(case.index).manifest
    assert all("blake2b" in record for record in manifest["files"].values())
    assert "bm25/vocab.index.json" in manifest["files"]


def test_build_from_before_checksums_without_bm25_is_refused(case) -> None:
    rewrite_manifest(case, lambda m: m.update(
        files={name: record["size"] for name, record in m["files"].items() if "/" not in name}))
    shutil.rmtree(case.build / "bm25")
    case.publish_target()
    case.assert_refused_and_previous_serves("bm25/", "missing")
