"""Urgent triage: does the question itself describe red-flag symptoms?

Two signals decide it. Rules find a red-flag concept (a symptom term and a problem cue in one
clause of the question) and check it is not negated ("no numbness in my groin" is not numbness).
The embedding of the question, computed once for retrieval anyway, is compared with the red-flag
statements; a close match counts only when no concept in the question is negated, so a patient who
writes "my bladder is fine" is not sent to the emergency room by similarity alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from groundedqa.answer.redflags import RedFlagConfig

#: Cosine similarity to a red-flag statement above which the question is urgent on its own.
#: Tune split of eval/questions/seed.jsonl: non-urgent questions reach 0.63, urgent ones that no
#: rule catches start at 0.72.
EMBED_URGENT = 0.67

# Clause boundaries: punctuation and contrastive conjunctions ("no numbness but I can't pee").
_CLAUSE_SPLIT = re.compile(r"[.;!?\n]+|,|\b(?:but|although|though|however|whereas|yet)\b", re.I)
# NegEx-style triggers that negate what follows them within the clause.
_PRE_NEGATION = re.compile(
    r"\b(no|not|never|without|nor|denies?|denied|free of|absence of|none|neither|"
    r"do(?:es)?n.?t|did ?n.?t|have ?n.?t|has ?n.?t|had ?n.?t|is ?n.?t|are ?n.?t|was ?n.?t|"
    r"were ?n.?t|ai ?n.?t|don.?t have|no longer|haven.?t had)\b",
    re.I,
)
# Statements after the term that say it is normal ("my bladder is fine").
_POST_NEGATION = re.compile(
    r"\b(is|are|feels?|seems?|has been|have been|stays?|remains?)\s+"
    r"(fine|ok|okay|normal|good|great|unaffected|not affected|intact)\b",
    re.I,
)
# Inability words contain "n't" but assert a problem: "can't pee" is a symptom, not a negation.
_INABILITY = re.compile(r"\b(can ?no?t|can.?t|couldn.?t|unable|won.?t|wont)\b", re.I)


@dataclass
class TriageResult:
    """Why a question was or was not judged urgent."""

    urgent: bool
    concepts: list[str] = field(default_factory=list)  # matched, un-negated
    negated: list[str] = field(default_factory=list)
    similarity: float = 0.0


class Triage:
    """Decides `urgent` for a question from its text and its (already computed) embedding."""

    def __init__(self, config: RedFlagConfig, statement_vectors: np.ndarray,
                 threshold: float = EMBED_URGENT) -> None:
        self.config = config
        self.vectors = np.asarray(statement_vectors, dtype=np.float32)
        self.threshold = threshold

    def without_negated(self, question: str) -> str:
        """The question minus clauses that only deny red-flag symptoms ("no numbness in my groin,
        can I do planks?" -> "can I do planks?"), so retrieval looks for what is really asked."""
        if not self.match_concepts(question)[1]:
            return question
        kept = []
        for clause in _CLAUSE_SPLIT.split(question):
            if clause and clause.strip():
                found, negated = self.match_concepts(clause)
                if found or not negated:
                    kept.append(clause.strip())
        return " ".join(kept) if kept else question

    def assess(self, question: str, question_vector: np.ndarray) -> TriageResult:
        """Urgent when a concept is described un-negated, or the question is very close to a
        red-flag statement and nothing in it is negated."""
        found, negated = self.match_concepts(question)
        similarity = float(np.max(self.vectors @ question_vector)) if len(self.vectors) else 0.0
        urgent = bool(found) or (similarity >= self.threshold and not negated)
        return TriageResult(urgent, found, negated, similarity)

    def match_concepts(self, question: str) -> tuple[list[str], list[str]]:
        """(concepts described, concepts mentioned only as negated) in the question."""
        found: list[str] = []
        negated: list[str] = []
        clauses = [c for c in _CLAUSE_SPLIT.split(question) if c and c.strip()]
        for concept in self.config.concepts:
            state = None
            for clause in clauses:
                term = concept.terms.search(clause)
                if not term:
                    continue
                if concept.cues is not None and not concept.cues.search(clause):
                    continue
                if _is_negated(clause, term.start(), term.end()):
                    state = state or "negated"
                else:
                    state = "found"
                    break
            if state == "found":
                found.append(concept.name)
            elif state == "negated":
                negated.append(concept.name)
        return found, negated


def _is_negated(clause: str, start: int, end: int) -> bool:
    before = clause[:start]
    for trigger in _PRE_NEGATION.finditer(before):
        between = before[trigger.end():]
        # Negation reaches about five words forward (NegEx's window).
        if len(between.split()) <= 5 and not _INABILITY.search(trigger.group(0)):
            return True
    return bool(_POST_NEGATION.search(clause[end:end + 40]))
