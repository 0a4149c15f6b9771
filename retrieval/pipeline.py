"""One loaded index with everything needed to answer: the library behind HTTP, CLI and eval."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from groundedqa.ingest.embed import Embedder
from groundedqa.ingest.store import IndexStore, check_model
from groundedqa.retrieval.answer import Answerer
from groundedqa.retrieval.redflags import RedFlagConfig, load_redflags, resolve_citations
from groundedqa.retrieval.search import HybridWeights, Retriever
from groundedqa.retrieval.triage import Triage
from groundedqa.settings import Settings


@dataclass
class Pipeline:
    """An index build, its retriever and its answerer. Immutable once loaded: a new index build
    means a new Pipeline (sharing the already-loaded model)."""

    store: IndexStore
    retriever: Retriever
    answerer: Answerer
    redflags: RedFlagConfig

    @classmethod
    def load(cls, settings: Settings, *, embedder: Embedder | None = None,
             index_dir: Path | None = None) -> "Pipeline":
        """Load the live build of `index_dir` (default: settings.index) and the red-flag file.

        Raises IndexUnavailable (no, corrupt or mismatched index) or RedFlagError.
        """
        store = IndexStore.open(index_dir or settings.index)  # before the model: fail fast
        embedder = embedder or Embedder.load(settings.model, settings.encode_batch_size)
        check_model(store.manifest, embedder.describe(), store.path)
        redflags = load_redflags(settings.redflags_path())
        redflags = resolve_citations(redflags, store.document)
        triage = Triage(redflags, embedder.encode(redflags.statements()))
        retriever = Retriever(store, embedder, HybridWeights.of(settings))
        answerer = Answerer(
            store, retriever, redflags, triage,
            max_sentences=settings.max_sentences, max_question_chars=settings.max_question_chars,
        )
        return cls(store=store, retriever=retriever, answerer=answerer, redflags=redflags)

    @property
    def embedder(self) -> Embedder:
        return self.retriever.embedder

    def answer(self, question: str, max_sentences: int | None = None) -> dict:
        """The response body of POST /v1/answer (raises InvalidQuestion on bad input)."""
        return self.answerer.answer(question, max_sentences)
