"""Encoder runtimes: the variant a build records, ONNX against torch, micro-batching, late
chunking, and a serving process that never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from groundedqa.index.batching import BatchingEncoder, with_batching
from groundedqa.index.builds import IndexMismatch, open_index
from groundedqa.index.pooling import TokenStates, span_vector
from groundedqa.ingest.build import _embed_fresh, _sentence_windows, build_index, prepare
from groundedqa.ingest.models import SourceDoc
from groundedqa.service import Service
from groundedqa.settings import Settings
from tests.conftest import CORPUS, REPO
from tests.fakes import HashingEncoder

KNEE = """Knee Care

Rest helps a sore knee recover after a long run. Ice reduces knee swelling in the first two days.

## When to call

Call your clinician if the knee locks or gives way under you.
"""
QUESTIONS = [json.loads(line)["question"]
             for line in (REPO / "eval/questions/seed.jsonl").read_text().splitlines()[:24]]


class VariantEncoder(HashingEncoder):
    """The hashing fake under a runtime variant's name."""

    def __init__(self, variant: str) -> None:
        super().__init__()
        self.variant = variant

    def describe(self) -> dict:
        return {**super().describe(), "encoder": self.variant}


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    (corpus / "knee.md").write_text(KNEE, encoding="utf-8")
    return corpus


# --- the variant that built an index is the only one that reads it ---------------------------------

def test_build_records_its_encoder_variant(tmp_path):
    settings = Settings(index=tmp_path / "index")
    build_index([_corpus(tmp_path)], settings.index, settings, embedder=VariantEncoder("onnx-int8"))
    assert open_index(settings.index).manifest["model"]["encoder"] == "onnx-int8"


def test_other_variant_is_refused_with_the_setting_to_change(tmp_path):
    settings = Settings(index=tmp_path / "index")
    build_index([_corpus(tmp_path)], settings.index, settings, embedder=VariantEncoder("onnx-int8"))
    with pytest.raises(IndexMismatch, match="built with the onnx-int8 encoder.*GROUNDEDQA_ENCODER=onnx-int8"):
        Service.load(settings, encoder=VariantEncoder("onnx"))


def test_build_without_a_variant_counts_as_torch(tmp_path):
    settings = Settings(index=tmp_path / "index")
    build_index([_corpus(tmp_path)], settings.index, settings, embedder=HashingEncoder())
    torch_like = VariantEncoder("torch").describe()
    assert open_index(settings.index, expect_model=torch_like).build_id
    with pytest.raises(IndexMismatch, match="torch encoder"):
        open_index(settings.index, expect_model=VariantEncoder("onnx").describe())


def test_changing_variant_re_embeds_every_document(tmp_path):
    settings = Settings(index=tmp_path / "index")
    corpus = _corpus(tmp_path)
    build_index([corpus], settings.index, settings, embedder=VariantEncoder("torch"))
    # Another variant is another model: the index is rebuilt from the corpus (sync), as the
    # README says, and nothing embedded by the old variant is reused.
    again = build_index([corpus], settings.index, settings, embedder=VariantEncoder("onnx"),
                        sync=True)
    assert again.changed and again.embedded_documents == 1 and again.reused_documents == 0


# --- ONNX Runtime against sentence-transformers -----------------------------------------------------

def test_a_serving_encoder_keeps_no_memory_arena(embedder):
    """A server's ONNX session frees each pass's memory (one large batch would otherwise stay
    resident for the server's life); ingest keeps the arena (faster on big batches)."""
    from groundedqa.index.encoders import load_encoder

    served = load_encoder(Settings(), threads=1, serving=True)
    assert served.runtime.session.get_session_options().enable_cpu_mem_arena is False
    assert embedder.runtime.session.get_session_options().enable_cpu_mem_arena is True
    texts = ["can I deadlift with a pinched nerve?", "numb groin and both legs weak"]
    np.testing.assert_array_equal(served.encode(texts), embedder.encode(texts))


@pytest.mark.slow
def test_onnx_vectors_match_torch(embedder, torch_embedder):
    assert embedder.describe()["encoder"] == "onnx"
    texts = QUESTIONS + [" padded at the front", "A longer passage. " * 60]
    cosine = np.sum(embedder.encode(texts) * torch_embedder.encode(texts), axis=1)
    assert cosine.min() > 0.9999


@pytest.mark.slow
def test_int8_vectors_stay_close_to_torch(torch_embedder):
    from groundedqa.index.encoders import load_encoder

    int8 = load_encoder(Settings(encoder="onnx-int8"))
    cosine = np.sum(int8.encode(QUESTIONS) * torch_embedder.encode(QUESTIONS), axis=1)
    # Per-channel int8 weights: 0.985-0.995 on questions (per-tensor int8 gave 0.94-0.97).
    assert cosine.min() > 0.97 and cosine.mean() > 0.985


# --- micro-batching ---------------------------------------------------------------------------------

def _concurrently(call, items: list) -> list:
    """call(item) for every item, each on its own thread, all released at once."""
    results: list = [None] * len(items)
    start = threading.Barrier(len(items))

    def run(i: int) -> None:
        start.wait()
        results[i] = call(items[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(items))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_batcher_returns_each_caller_its_own_vectors():
    inner = HashingEncoder()
    batcher = BatchingEncoder(inner, max_batch=64, max_wait_s=0.05)
    items = [[q] for q in QUESTIONS] + [QUESTIONS[:3]]
    got = _concurrently(batcher.encode, items)
    for texts, vectors in zip(items, got):
        assert np.array_equal(vectors, HashingEncoder().encode(texts))
    assert batcher.passes < len(items)  # callers shared forward passes
    batcher.close()


def test_batcher_hands_an_error_to_every_caller_of_the_pass():
    class Broken(HashingEncoder):
        def encode(self, texts):
            raise RuntimeError("model failed")

    batcher = BatchingEncoder(Broken(), max_batch=8, max_wait_s=0.05)

    def call(text):
        try:
            batcher.encode([text])
        except RuntimeError as exc:
            return str(exc)

    assert _concurrently(call, QUESTIONS[:4]) == ["model failed"] * 4
    batcher.close()


def test_batching_is_not_installed_for_batch_dependent_vectors():
    int8_like = VariantEncoder("onnx-int8")
    int8_like.batch_invariant = False
    assert with_batching(int8_like, Settings(encoder="onnx-int8")) is int8_like
    fp32_like = VariantEncoder("onnx")
    fp32_like.batch_invariant = True
    assert isinstance(with_batching(fp32_like, Settings()), BatchingEncoder)
    assert with_batching(fp32_like, Settings(batch_max=1)) is fp32_like


@pytest.mark.slow
def test_batched_questions_get_the_same_vectors_and_answers(embedder, seed_settings, seed_service):
    alone = [embedder.encode([q])[0] for q in QUESTIONS]
    batcher = BatchingEncoder(embedder, max_batch=32, max_wait_s=0.05)
    batched = _concurrently(lambda q: batcher.encode([q])[0], QUESTIONS)
    assert batcher.passes < len(QUESTIONS)
    assert np.allclose(np.array(batched), np.array(alone), atol=1e-6)

    service = Service.assemble(seed_service.index, batcher, seed_service.redflags, seed_settings)
    def content(answer) -> dict:
        return {k: v for k, v in answer.to_dict().items() if k != "answer_id"}  # fresh per answer

    answers = _concurrently(lambda q: content(service.answer(q)), QUESTIONS)
    assert answers == [content(seed_service.answer(q)) for q in QUESTIONS]
    batcher.close()


# --- late chunking ----------------------------------------------------------------------------------

def test_span_vector_pools_the_tokens_inside_the_span_only():
    states = np.array([[9, 9], [1, 0], [0, 1], [3, 3], [9, 9]], dtype=np.float32)
    offsets = np.array([[0, 0], [0, 4], [5, 9], [10, 14], [0, 0]])
    special = np.array([True, False, False, False, True])
    tokens = TokenStates(states, offsets, special)
    assert np.allclose(span_vector(tokens, 0, 9), np.array([1, 1]) / np.sqrt(2))
    assert np.allclose(span_vector(tokens, 10, 14), np.array([1, 1]) / np.sqrt(2))
    assert span_vector(tokens, 20, 30) is None  # cut off by the token limit


@pytest.mark.slow
def test_late_chunked_sentence_vectors_line_up_with_their_sentences(embedder):
    settings = Settings()
    doc = prepare(SourceDoc(doc_id="knee", source="knee.md", format="markdown", raw=KNEE, metadata={}),
                  settings, "hash")
    for chunk in doc.chunks:
        for i, start, end in _sentence_windows(doc, chunk):
            assert chunk.embed_text[start:end] == doc.spans[i].text
    _embed_fresh([doc], [doc], embedder, None, late_chunking=True)
    quotable = [i for i, s in enumerate(doc.spans) if s.kind == "sentence"]
    assert doc.sentence_vectors.shape == (len(doc.spans), embedder.dimension)
    assert doc.passage_vectors.shape == (len(doc.chunks), embedder.dimension)
    norms = np.linalg.norm(doc.sentence_vectors.astype(np.float32), axis=1)
    assert np.allclose(norms[quotable], 1.0, atol=1e-2)
    assert not norms[[i for i in range(len(doc.spans)) if i not in quotable]].any()
    # A pooled sentence is nearest to what it says itself among the document's sentences.
    alone = embedder.encode([doc.spans[i].text for i in quotable])
    sims = doc.sentence_vectors[quotable].astype(np.float32) @ alone.T
    assert (sims.argmax(axis=1) == np.arange(len(quotable))).all()


# --- a serving process without torch -----------------------------------------------------------------

@pytest.mark.slow
def test_serving_answers_without_importing_torch_or_scikit_learn(seed_settings, seed_service):
    # seed_service has stored the urgent scorer for this bank and encoder: a replica applying a
    # stored scorer runs its ONNX graphs (only training imports scikit-learn).
    script = textwrap.dedent(f"""
        import sys
        import time
        from fastapi.testclient import TestClient
        from groundedqa.api.app import create_app
        from groundedqa.settings import Settings

        app = create_app(Settings(index={str(seed_settings.index)!r}, corpus={str(CORPUS)!r},
                                  rate_limit=None))
        with TestClient(app) as client:
            for _ in range(1200):  # the index loads in the background; ready within a minute
                if client.get("/readyz").status_code == 200:
                    break
                time.sleep(0.05)
            response = client.post("/v1/answer", json={{"question": "Can I deadlift with a pinched nerve?"}})
        assert response.status_code == 200, response.text
        loaded = sorted(m for m in ("torch", "transformers", "sentence_transformers", "sklearn",
                                    "skl2onnx") if m in sys.modules)
        print("LOADED", ",".join(loaded) or "-")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "LOADED -"
