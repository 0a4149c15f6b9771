"""One loaded index build with everything needed to answer: what HTTP, CLI and eval call.

Built at the edge from the settings (the clinic's corpus, red flags, index root and model travel
together there), immutable once loaded: a new build means a new Service sharing the encoder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from groundedqa.answer.compose import CitedComposer
from groundedqa.answer.conversation import Conversation
from groundedqa.answer.coverage import SubjectCoverage
from groundedqa.answer.locate import SectionLocator
from groundedqa.answer.pipeline import AnswerPipeline
from groundedqa.answer.question import PlainQuestionReader
from groundedqa.answer.redflags import RedFlagConfig, load_redflags, resolve_citations
from groundedqa.answer.rerank import IdentityReranker
from groundedqa.answer.retrieve import HybridRetriever
from groundedqa.answer.select import SectionSelector
from groundedqa.answer.structure import StructureReader
from groundedqa.answer.triage import Triage
from groundedqa.answer.types import Answer, AnswerTuning
from groundedqa.answer.urgent import UrgentScorer
from groundedqa.answer.urgent_cache import ScorerCache, default_cache_dir
from groundedqa.index.builds import check_model, open_index
from groundedqa.index.encoders import load_encoder
from groundedqa.index.ports import Encoder, LoadedIndex
from groundedqa.index.records import DocumentRecord
from groundedqa.index.withdrawals import Withdrawal, WithdrawalWatch
from groundedqa.retrieval.search import HybridSearch
from groundedqa.retrieval.weights import HybridWeights
from groundedqa.settings import Settings


@dataclass
class Service:
    """An index build, its search and its answer pipeline, and the clinic's withdrawals."""

    index: LoadedIndex
    encoder: Encoder
    search: HybridSearch
    pipeline: AnswerPipeline
    redflags: RedFlagConfig
    #: The index root's withdrawal list (checked on every answer; see index/withdrawals.py).
    withdrawals: WithdrawalWatch = field(default_factory=lambda: WithdrawalWatch(None))

    @classmethod
    def load(cls, settings: Settings, *, encoder: Encoder | None = None,
             index_dir: Path | None = None) -> "Service":
        """Load the live build of `index_dir` (default: settings.index) and the red-flag file.

        Raises IndexUnavailable (no, corrupt or mismatched index) or RedFlagError.
        """
        index_dir = index_dir or settings.index
        index = open_index(index_dir)  # before the model: fail fast
        try:
            encoder = encoder or load_encoder(settings)
            check_model(index.manifest, encoder.describe(), index.path)
            redflags = resolve_citations(load_redflags(settings.redflags_path()), index.store.document)
        except BaseException:
            index.close()
            raise
        return cls.assemble(index, encoder, redflags, settings, WithdrawalWatch(index_dir))

    @classmethod
    def assemble(cls, index: LoadedIndex, encoder: Encoder, redflags: RedFlagConfig,
                 settings: Settings, withdrawals: WithdrawalWatch | None = None) -> "Service":
        """Wire the default stages over an open index (tests pass doubles at the seams instead);
        `withdrawals` watches the index root's withdrawal list (None: nothing is withdrawn)."""
        tuning = AnswerTuning.of(settings)
        search = HybridSearch(index, encoder, HybridWeights.of(settings))
        cache = ScorerCache(settings.urgent_cache or default_cache_dir())
        triage = Triage(redflags, UrgentScorer.load_or_train(redflags, encoder, cache))
        store = index.store
        structure = StructureReader(store)
        pipeline = AnswerPipeline(
            reader=PlainQuestionReader(encoder, triage, tuning),
            triage=triage,
            retriever=HybridRetriever(search, tuning),
            reranker=IdentityReranker(),
            locator=SectionLocator(store, index.dense, index.lexical, tuning, structure),
            coverage=SubjectCoverage(tuning, index.lexical, store),
            selector=SectionSelector(store, tuning, structure),
            composer=CitedComposer(store, redflags, index.build_id),
            conversation=Conversation(store, index.lexical, tuning),
        )
        return cls(index=index, encoder=encoder, search=search, pipeline=pipeline, redflags=redflags,
                   withdrawals=withdrawals or WithdrawalWatch(None))

    @property
    def build_id(self) -> str:
        return self.index.build_id

    def answer(self, question: str, max_sentences: int | None = None,
               history: Sequence[str] = ()) -> Answer:
        """The typed answer; `history`: the patient's earlier messages, oldest first (raises
        InvalidQuestion on bad input, naming a bad history entry); withdrawn documents are never
        quoted, from the request after their withdrawal returned."""
        return self.pipeline.answer(question, max_sentences, history,
                                    withheld=self.withdrawals.current().keys())

    def withdrawn(self) -> Mapping[str, Withdrawal]:
        """The documents withdrawn now, by id."""
        return self.withdrawals.current()

    def document(self, doc_id: str) -> DocumentRecord | None:
        """A stored document (cleaned text and metadata), None for an unknown id."""
        return self.index.store.document(doc_id)

    def close(self) -> None:
        self.index.close()
