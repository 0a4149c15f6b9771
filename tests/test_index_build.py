"""The index artifact: incremental builds, atomic swap, refusal of corrupt or mismatched builds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from groundedqa.ingest.build import IngestError, build_index
from groundedqa.index.builds import (
    IndexCorrupt,
    IndexMismatch,
    IndexMissing,
    builds_dir,
    current_build_id,
    open_index,
)
from groundedqa.settings import Settings
from tests.reliability_helpers import write_corpus

pytestmark = pytest.mark.slow

ARTICLE_A = """Knee Care Basics

Rest helps a sore knee recover after a long run. Ice can reduce swelling in the first two days.

When to Call

Call your clinician if the knee locks or gives way.
"""
ARTICLE_B = """Shoulder Stretches

Gentle pendulum swings keep the shoulder moving. Stop any stretch that causes sharp pain.
"""


def settings_for(tmp_path: Path) -> Settings:
    return Settings(index=tmp_path / "index", corpus=tmp_path / "corpus")


def test_build_publishes_a_loadable_index_with_exact_offsets(tmp_path, embedder):
    corpus = write_corpus(tmp_path, knee=ARTICLE_A, shoulder=ARTICLE_B)
    settings = settings_for(tmp_path)
    report = build_index([corpus], settings.index, settings, embedder=embedder)
    index = open_index(settings.index)
    store = index.store
    assert report.changed and index.build_id == report.build_id
    assert sorted(store.doc_ids) == ["knee", "shoulder"]
    rows = list(range(index.manifest["counts"]["sentences"]))
    for sentence in store.sentences(rows):
        assert store.document(sentence.doc_id).text[sentence.start:sentence.end] == sentence.text


def test_manifest_records_model_hashes_and_counts(tmp_path, embedder):
    corpus = write_corpus(tmp_path, knee=ARTICLE_A)
    settings = settings_for(tmp_path)
    build_index([corpus], settings.index, settings, embedder=embedder)
    build = builds_dir(settings.index) / current_build_id(settings.index)
    manifest = json.loads((build / "manifest.json").read_text())
    assert manifest["model"]["dimension"] == 384
    assert set(manifest["documents"]) == {"knee"}
    assert manifest["counts"]["documents"] == 1 and manifest["counts"]["passages"] >= 1
    assert manifest["faiss"]["type"] == "sq_fp16"


def test_unchanged_corpus_embeds_nothing(tmp_path, embedder):
    corpus = write_corpus(tmp_path, knee=ARTICLE_A, shoulder=ARTICLE_B)
    settings = settings_for(tmp_path)
    first = build_index([corpus], settings.index, settings, embedder=embedder)
    second = build_index([corpus], settings.index, settings, embedder=embedder)
    assert second.embedded_documents == 0 and second.embedded_passages == 0
    assert not second.changed and second.build_id == first.build_id


def test_unchanged_corpus_with_a_skipped_document_is_recognised_unread(tmp_path, embedder):
    corpus = write_corpus(tmp_path, knee=ARTICLE_A)
    (corpus / "empty.md").write_text("# Only a heading\n", encoding="utf-8")
    settings = settings_for(tmp_path)
    first = build_index([corpus], settings.index, settings, embedder=embedder)
    second = build_index([corpus], settings.index, settings, embedder=embedder)
    assert [s.reason for s in first.skipped] == ["no article text left after cleaning"]
    assert [s.reason for s in second.skipped] == [s.reason for s in first.skipped]
    assert not second.changed and second.build_id == first.build_id
    assert "prepare_s" not in second.timings  # answered from the manifest, no document re-read


def test_build_without_title_vectors_is_reused_and_only_titles_are_embedded(tmp_path, embedder):
    corpus = write_corpus(tmp_path, knee=ARTICLE_A, shoulder=ARTICLE_B)
    settings = settings_for(tmp_path)
    build_index([corpus], settings.index, settings, embedder=embedder)
    # Make the live build look like one written before title vectors existed.
    build = builds_dir(settings.index) / current_build_id(settings.index)
    (build / "titles.npy").unlink()
    manifest = json.loads((build / "manifest.json").read_text())
    del manifest["files"]["titles.npy"]
    (build / "manifest.json").write_text(json.dumps(manifest))
    assert open_index(settings.index).store.title_vectors() is None
    report = build_index([corpus], settings.index, settings, embedder=embedder)
    assert report.changed and report.embedded_passages == 0 and report.embedded_titles == 2
    assert any("title vectors added to 2 reused documents" in note for note in report.notes)
    assert open_index(settings.index).store.title_vectors().shape == (2, 384)


def test_changed_document_is_the_only_one_embedded(tmp_path, embedder):
    corpus = write_corpus(tmp_path, knee=ARTICLE_A, shoulder=ARTICLE_B)
    settings = settings_for(tmp_path)
    build_index([corpus], settings.index, settings, embedder=embedder)
    write_corpus(tmp_path, knee=ARTICLE_A, shoulder=ARTICLE_B + "\nHold each swing for ten seconds.\n")
    report = build_index([corpus], settings.index, settings, embedder=embedder)
    assert report.embedded_documents == 1 and report.reused_documents == 1
    store = open_index(settings.index).store
    assert "ten seconds" in store.document("shoulder").text


def test_removed_document_leaves_the_index_with_sync(tmp_path, embedder):
    corpus = write_corpus(tmp_path, knee=ARTICLE_A, shoulder=ARTICLE_B)
    settings = settings_for(tmp_path)
    build_index([corpus], settings.index, settings, embedder=embedder)
    write_corpus(tmp_path, knee=ARTICLE_A)
    report = build_index([corpus], settings.index, settings, embedder=embedder, sync=True)
    assert report.removed_documents == 1 and report.embedded_documents == 0
    assert open_index(settings.index).store.doc_ids == ["knee"]


def test_failed_build_leaves_previous_index_live(tmp_path, embedder):
    corpus = write_corpus(tmp_path, knee=ARTICLE_A)
    settings = settings_for(tmp_path)
    first = build_index([corpus], settings.index, settings, embedder=embedder)
    write_corpus(tmp_path, knee=ARTICLE_A, shoulder=ARTICLE_B)

    def crash(_build_dir: Path) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        build_index([corpus], settings.index, settings, embedder=embedder, before_publish=crash)
    assert current_build_id(settings.index) == first.build_id
    assert open_index(settings.index).store.doc_ids == ["knee"]
    assert not any(p.name.startswith("tmp-") for p in builds_dir(settings.index).iterdir())


def test_killed_build_leaves_previous_index_loadable(tmp_path, embedder):
    corpus = write_corpus(tmp_path, knee=ARTICLE_A)
    settings = settings_for(tmp_path)
    first = build_index([corpus], settings.index, settings, embedder=embedder)
    write_corpus(tmp_path, knee=ARTICLE_A, shoulder=ARTICLE_B)
    # A separate process is SIGKILLed after writing every file of the new build, just before
    # publishing it: the worst moment for the live index.
    script = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from groundedqa.ingest.build import build_index
        from groundedqa.settings import Settings
        s = Settings(index=Path({str(settings.index)!r}), corpus=Path({str(corpus)!r}))
        build_index([s.corpus], s.index, s, before_publish=lambda d: os.kill(os.getpid(), signal.SIGKILL))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    assert current_build_id(settings.index) == first.build_id
    assert open_index(settings.index).store.doc_ids == ["knee"]
    # The next build cleans up the abandoned one and publishes normally.
    report = build_index([corpus], settings.index, settings, embedder=embedder)
    assert sorted(open_index(settings.index).store.doc_ids) == ["knee", "shoulder"]
    assert not any(p.name.startswith("tmp-") for p in builds_dir(settings.index).iterdir())
    assert report.changed


def test_truncated_file_is_refused_with_a_clear_message(tmp_path, embedder):
    corpus = write_corpus(tmp_path, knee=ARTICLE_A)
    settings = settings_for(tmp_path)
    build_index([corpus], settings.index, settings, embedder=embedder)
    build = builds_dir(settings.index) / current_build_id(settings.index)
    vectors = build / "sentences.npy"
    vectors.write_bytes(vectors.read_bytes()[:100])
    with pytest.raises(IndexCorrupt, match="sentences.npy"):
        open_index(settings.index)


def test_index_from_another_model_is_refused(tmp_path, embedder):
    corpus = write_corpus(tmp_path, knee=ARTICLE_A)
    settings = settings_for(tmp_path)
    build_index([corpus], settings.index, settings, embedder=embedder)
    other = {"id": "other-model", "dimension": 768, "fingerprint": "0000"}
    with pytest.raises(IndexMismatch, match="other-model"):
        open_index(settings.index, expect_model=other)


def test_missing_index_is_reported(tmp_path):
    with pytest.raises(IndexMissing, match="groundedqa ingest"):
        open_index(tmp_path / "nowhere")


def test_corpus_of_only_bad_files_fails_without_touching_the_index(tmp_path, embedder):
    corpus = write_corpus(tmp_path, knee=ARTICLE_A)
    settings = settings_for(tmp_path)
    first = build_index([corpus], settings.index, settings, embedder=embedder)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_text("   \n")
    (bad / "binary.txt").write_bytes(b"\x00\x01\x02\xff" * 50)
    with pytest.raises(IngestError, match="skipped"):
        build_index([bad], settings.index, settings, embedder=embedder)
    assert current_build_id(settings.index) == first.build_id
