"""Each seam takes a new implementation without other changes: a fake encoder, an in-memory
vector store and a scripted reranker drive the real answer stages, without the model."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from groundedqa.answer.redflags import load_redflags, resolve_citations
from groundedqa.index.builds import open_index
from groundedqa.service import Service
from groundedqa.settings import Settings
from tests.fakes import InMemoryDenseIndex, ScriptedReranker
from tests.fakes import fake_service as build_fake_service

REDFLAGS = """
disclaimer = "General information, not a diagnosis."
seek_care_message = "Seek care now."
abstain_message = "Our articles do not cover this."
[[red_flags]]
boilerplate = true
text = "Seek care for numbness in both legs."
"""
KNEE = """Knee Care

Rest helps a sore knee recover after a long run. Ice reduces knee swelling in the first two days.
"""
SHOULDER = """Shoulder Care

Pendulum swings keep a stiff shoulder moving. Stop any shoulder stretch that causes sharp pain.
"""


@pytest.fixture()
def fake_service(tmp_path: Path) -> Service:
    return build_fake_service(tmp_path, {"knee.txt": KNEE, "shoulder.txt": SHOULDER}, REDFLAGS)


def test_fake_encoder_builds_and_answers_without_the_model(fake_service):
    answer = fake_service.answer("how do I keep a stiff shoulder moving?")
    assert not answer.abstained
    assert answer.citations[0].doc_id == "shoulder"
    assert "Pendulum swings" in answer.citations[0].quote


def test_fake_encoder_encodes_the_question_once(fake_service):
    encoder = fake_service.encoder
    encoder.calls.clear()
    fake_service.answer("does ice help a swollen knee?")
    assert len(encoder.calls) == 1 and encoder.calls[0][0] == "does ice help a swollen knee?"


def test_in_memory_vector_store_replaces_faiss(tmp_path, fake_service):
    index = fake_service.index
    vectors = index.dense.vectors(np.arange(index.dense.size))
    double = InMemoryDenseIndex(vectors)
    swapped = dataclasses.replace(index, dense=double)
    settings = Settings(index=tmp_path / "index", corpus=tmp_path / "corpus", abstain_below=0.2)
    redflags = resolve_citations(load_redflags(settings.redflags_path()), index.store.document)
    service = Service.assemble(swapped, fake_service.encoder, redflags, settings)
    answer = service.answer("does ice help a swollen knee?")
    assert double.searches == 1
    assert answer.citations[0].doc_id == "knee"


def test_reranker_seam_reorders_the_passages_the_answer_reads(fake_service):
    question = "does ice help a swollen knee?"
    assert fake_service.answer(question).citations[0].doc_id == "knee"
    shoulder_passages = [p for p in range(fake_service.index.dense.size)
                         if fake_service.index.store.passage_docs([p])[0] == 1]
    reranker = ScriptedReranker(shoulder_passages)
    pipeline = dataclasses.replace(fake_service.pipeline, reranker=reranker)
    pipeline.answer(question)
    assert reranker.seen and set(shoulder_passages) <= set(reranker.seen[0])


def test_build_records_the_encoder_that_made_it(fake_service):
    assert fake_service.index.manifest["model"]["fingerprint"] == "hashing-fake-v1"
    assert open_index(fake_service.index.path.parent.parent).build_id == fake_service.build_id
