"""The hybrid's weights: one place for the values measured on MedQuAD (README), which the
settings take as their defaults. Kept free of heavy imports so that settings can import it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from groundedqa.settings import Settings


@dataclass(frozen=True)
class HybridWeights:
    """What the hybrid adds to a candidate passage's cosine similarity (0 turns a signal off).

    Measured on MedQuAD (README): min-max BM25, title match and the topic-free question each
    raise nDCG@10 over dense alone; rank fusion (RRF) of dense and BM25 lowered it.
    """

    lexical: float = 0.1
    title: float = 0.4
    intent: float = 0.5

    @classmethod
    def of(cls, settings: Settings) -> "HybridWeights":
        """The weights a `Settings` object names."""
        return cls(settings.lexical_weight, settings.title_weight, settings.intent_weight)
