"""Hybrid retrieval: title words pick the named document; the rest of the question picks its section."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from groundedqa.ingest.build import build_index
from groundedqa.index.builds import open_index
from groundedqa.retrieval.search import HybridSearch, HybridWeights
from groundedqa.retrieval.weights import INTENT, TITLE
from groundedqa.retrieval.titles import TitleIndex
from groundedqa.settings import Settings

TITLES = ["spastic paraplegia type 3A", "spastic paraplegia type 4", "Asthma"]


def test_title_match_ranks_the_exactly_named_title_first():
    scores = TitleIndex(TITLES).match(
        "How many people are affected by spastic paraplegia type 3A?", np.array([0, 1, 2]))
    assert scores[0] > scores[1] > scores[2] == 0.0


def test_title_match_counts_single_letters_and_digits():
    index = TitleIndex(["Charcot-Marie-Tooth disease type 1", "Charcot-Marie-Tooth disease type 2"])
    scores = index.match("Is Charcot-Marie-Tooth disease type 2 inherited?", np.array([0, 1]))
    assert scores[1] > scores[0]


def test_title_match_is_zero_for_a_question_without_title_words():
    scores = TitleIndex(TITLES).match("Can I lift weights after surgery?", np.array([0, 1, 2]))
    assert not scores.any()


# Two conditions whose articles an embedding can hardly tell apart: only the number differs.
SECTIONS = {
    "about": "Frobnitz syndrome is a rare condition that affects the joints and the skin.",
    "frequency": "It occurs in about 1 in 50,000 newborns worldwide.",
    "care": "Treatment includes physical therapy, pain relief and regular check-ups.",
    "cause": "Mutations in the FRB1 gene lead to this condition.",
}
RECORDS = [{"_id": f"type{n}-{part}", "title": f"Frobnitz syndrome type {n}", "text": text}
           for n in (1, 2) for part, text in SECTIONS.items()]


@pytest.fixture(scope="module")
def frobnitz_store(tmp_path_factory, embedder):
    root: Path = tmp_path_factory.mktemp("hybrid")
    corpus = root / "corpus.jsonl"
    corpus.write_text("\n".join(json.dumps(r) for r in RECORDS) + "\n", encoding="utf-8")
    settings = Settings(index=root / "index", corpus=root)
    build_index([corpus], settings.index, settings, embedder=embedder)
    index = open_index(settings.index)
    yield index
    index.close()


#: The weights for a corpus whose questions name its titles (off by default; see HybridWeights).
TITLED = HybridWeights(title=TITLE, intent=INTENT)


def _ranked(store, embedder, weights, question) -> list[tuple[str, float]]:
    retriever = HybridSearch(store, embedder, weights)
    return retriever.to_documents(retriever.search(question, "hybrid", k=16), k=8)


def _documents(store, embedder, weights, question) -> list[str]:
    return [d for d, _ in _ranked(store, embedder, weights, question)]


@pytest.mark.slow
def test_hybrid_ranks_every_section_of_the_named_title_above_its_numbered_sibling(
        frobnitz_store, embedder):
    question = "How is Frobnitz syndrome type 1 treated?"
    dense_only = _documents(frobnitz_store, embedder, HybridWeights(0, 0, 0), question)
    assert not all(d.startswith("type1") for d in dense_only[:4])  # the premise: dense mixes them
    hybrid = _documents(frobnitz_store, embedder, TITLED, question)
    assert hybrid[0] == "type1-care"
    assert all(d.startswith("type1") for d in hybrid[:4])


def _section_margin(store, embedder, weights, question, asked) -> float:
    ranked = _ranked(store, embedder, weights, question)
    scores = dict(ranked)
    topic = asked.split("-")[0]
    others = [s for d, s in ranked if d.startswith(topic) and d != asked]
    return scores[asked] - max(others)


@pytest.mark.slow
def test_intent_separates_the_asked_section_from_the_topics_other_sections(frobnitz_store, embedder):
    question = "How is Frobnitz syndrome type 1 treated?"
    with_intent = _section_margin(frobnitz_store, embedder, TITLED, question, "type1-care")
    without = _section_margin(frobnitz_store, embedder, HybridWeights(title=TITLE), question,
                              "type1-care")
    assert with_intent > 0 and with_intent > 2 * without


class RecordingEmbedder:
    """The real embedder, remembering what it was asked to encode."""

    def __init__(self, inner):
        self.inner, self.texts = inner, []

    def encode(self, texts):
        self.texts.extend(texts)
        return self.inner.encode(texts)


@pytest.mark.slow
def test_hybrid_runs_the_model_once_on_the_question(frobnitz_store, embedder):
    recording = RecordingEmbedder(embedder)
    HybridSearch(frobnitz_store, recording, TITLED).search(
        "What causes Frobnitz syndrome type 2?", "hybrid")
    assert recording.texts == ["What causes Frobnitz syndrome type 2?"]
