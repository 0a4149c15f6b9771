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

    Min-max BM25 raises nDCG@10 over dense alone on MedQuAD's templated questions and on
    MEDIQA's consumer questions both, so it is on. Title match and the topic-free question
    raise MedQuAD (0.753 -> 0.832) but lower MEDIQA (0.671 -> 0.626): they fit a corpus whose
    questions name a document's title, so they are off by default (TITLE and INTENT give the
    values measured for such a corpus). Rank fusion (RRF) of dense and BM25 lowered both.
    """

    lexical: float = 0.1
    title: float = 0.0
    intent: float = 0.0


    @classmethod
    def of(cls, settings: Settings) -> "HybridWeights":
        """The weights a `Settings` object names."""
        return cls(settings.lexical_weight, settings.title_weight, settings.intent_weight)


#: The title and topic-free weights measured on MedQuAD, for corpora whose questions name titles.
TITLE = 0.4
INTENT = 0.5
