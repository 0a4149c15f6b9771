"""One loaded index build with everything needed to answer: what HTTP, CLI and eval call.

Built at the edge from the settings (the clinic's corpus, red flags, index root and model travel
together there), immutable once loaded: a new build means a new Service sharing the encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from groundedqa.answer.compose import CitedComposer
from groundedqa.answer.conversation import Conversation
from groundedqa.answer.coverage import SubjectCoverage
from groundedqa.answer.locate import SentenceLocator
from groundedqa.answer.pipeline import AnswerPipeline
from groundedqa.answer.question import PlainQuestionReader
from groundedqa.answer.redflags import RedFlagConfig, load_redflags, resolve_citations
from groundedqa.answer.rerank import IdentityReranker
from groundedqa.answer.retrieve import HybridRetriever
from groundedqa.answer.select import MmrSelector
from groundedqa.answer.triage import Triage
from groundedqa.answer.types import Answer, AnswerTuning
from groundedqa.answer.urgent import UrgentScorer
from groundedqa.index.builds import check_model, open_index
from groundedqa.index.encoders import load_encoder
from groundedqa.index.ports import Encoder, LoadedIndex
from groundedqa.index.records import DocumentRecord
from groundedqa.retrieval.search import HybridSearch
from groundedqa.retrieval.weights import HybridWeights
from groundedqa.settings import Settings


@dataclass
class Service:
    """An index build, its search and its answer pipeline."""

    index: LoadedIndex
    encoder: Encoder
    search: HybridSearch
    pipeline: AnswerPipeline
    redflags: RedFlagConfig

    @classmethod
    def load(cls, settings: Settings, *, encoder: Encoder | None = None,
             index_dir: Path | None = None) -> "Service":
        """Load the live build of `index_dir` (default: settings.index) and the red-flag file.

        Raises IndexUnavailable (no, corrupt or mismatched index) or RedFlagError.
        """
        index = open_index(index_dir or settings.index)  # before the model: fail fast
        try:
            encoder = encoder or load_encoder(settings)
            check_model(index.manifest, encoder.describe(), index.path)
            redflags = resolve_citations(load_redflags(settings.redflags_path()), index.store.document)
        except BaseException:
            index.close()
            raise
        return cls.assemble(index, encoder, redflags, settings)

    @classmethod
    def assemble(cls, index: LoadedIndex, encoder: Encoder, redflags: RedFlagConfig,
                 settings: Settings) -> "Service":
        """Wire the default stages over an open index (tests pass doubles at the seams instead)."""
        tuning = AnswerTuning.of(settings)
        search = HybridSearch(index, encoder, HybridWeights.of(settings))
        triage = Triage(redflags, UrgentScorer.train(redflags, encoder))
        store = index.store
        pipeline = AnswerPipeline(
            reader=PlainQuestionReader(encoder, triage, tuning),
            triage=triage,
            retriever=HybridRetriever(search, tuning),
            reranker=IdentityReranker(),
            locator=SentenceLocator(store, index.dense, search, tuning),
            coverage=SubjectCoverage(tuning, index.lexical, store),
            selector=MmrSelector(store, tuning),
            composer=CitedComposer(store, redflags, index.build_id),
            conversation=Conversation(store, index.lexical, tuning),
        )
        return cls(index=index, encoder=encoder, search=search, pipeline=pipeline, redflags=redflags)

    @property
    def build_id(self) -> str:
        return self.index.build_id

    def answer(self, question: str, max_sentences: int | None = None,
               history: Sequence[str] = ()) -> Answer:
        """The typed answer; `history`: the patient's earlier messages, oldest first (raises
        InvalidQuestion on bad input, naming a bad history entry)."""
        return self.pipeline.answer(question, max_sentences, history)

    def document(self, doc_id: str) -> DocumentRecord | None:
        """A stored document (cleaned text and metadata), None for an unknown id."""
        return self.index.store.document(doc_id)

    def close(self) -> None:
        self.index.close()
