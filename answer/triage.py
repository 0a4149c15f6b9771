"""Urgent triage: does the patient describe a red-flag symptom as their own, now?

The message is cut into clauses (`clauses.analyse`). Clauses that deny a symptom, call it normal,
say it resolved or put it years back are dropped; so is the part of a clause that only supposes
one ("if I ever ..."). Every remaining clause, and every pair of neighbouring ones ("my leg is
weak" + "it's worse every day"), is scored by the urgent scorer (`urgent.UrgentScorer`); the
question is urgent when any of them reaches the operating point `URGENT_AT`.

In a conversation the patient's earlier messages are read the same way and scored again with
every request (the server keeps no state), so a red flag reported once keeps every later answer
urgent; a clause of one message and a clause of an earlier one are also scored as a pair, so
symptoms told in pieces combine ("sciatica down my left leg" ... "now my right leg too"). Denied
clauses never enter a unit, in any message.

The clause vectors come from the reader's one encoder call per request; a pair's vector is the
normalised mean of its clauses' (MiniLM's mean pooling makes that a close stand-in for encoding
the pair).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from groundedqa.answer.clauses import Clause, analyse, described_text, split_clauses
from groundedqa.answer.redflags import RedFlagConfig
from groundedqa.answer.types import Query
from groundedqa.answer.urgent import UrgentScorer

#: P(urgent) at or above which a clause makes the question urgent. Recall first: chosen as the
#: highest value that keeps every urgent question of the tune sets caught (README, "How an answer
#: is made", has the figures).
URGENT_AT = 0.35
#: At most this many clauses are encoded per question (longer messages merge clauses per sentence).
MAX_CLAUSES = 24


@dataclass
class TriageResult:
    """Why a question was or was not judged urgent."""

    urgent: bool
    concepts: list[str] = field(default_factory=list)  # described concepts, most likely first
    score: float = 0.0  # the highest P(concept) of any clause or pair of clauses
    evidence: str = ""  # the clause (or pair) that scored highest
    from_earlier: bool = False  # urgent only because of what earlier messages said


class Triage:
    """Decides `urgent` from the question's described clauses and their (already computed)
    vectors."""

    def __init__(self, config: RedFlagConfig, scorer: UrgentScorer,
                 threshold: float = URGENT_AT) -> None:
        self.config = config
        self.scorer = scorer
        self.threshold = threshold

    def without_negated(self, question: str) -> str:
        """The question minus clauses that deny symptoms ("no numbness in my groin, can I do
        planks?" -> "can I do planks"), so retrieval looks for what is really asked."""
        return described_text(question)

    def clause_texts(self, question: str, language: str = "en") -> list[str]:
        """The clauses that describe something the patient has now: what the reader encodes.

        Denials are read in English only; in another language every clause counts (recall first).
        """
        clauses = self._clauses(question, language)
        groups: list[list[str]] = [[c.described] for c in clauses if c.described]
        if len(groups) > MAX_CLAUSES:
            by_sentence: dict[int, list[str]] = {}
            for c in clauses:
                if c.described:
                    by_sentence.setdefault(c.sentence, []).append(c.described)
            groups = list(by_sentence.values())
            while len(groups) > MAX_CLAUSES:  # merge the shortest neighbours
                i = min(range(len(groups) - 1), key=lambda k: len(" ".join(groups[k] + groups[k + 1])))
                groups[i: i + 2] = [groups[i] + groups[i + 1]]
        return list(dict.fromkeys(", ".join(g) for g in groups))

    @staticmethod
    def _clauses(question: str, language: str) -> list[Clause]:
        return (analyse(question) if language == "en"
                else [Clause(text, n) for text, n in split_clauses(question)])

    def assess(self, query: Query) -> TriageResult:
        """Urgent when a described clause, or two neighbouring ones, score at the operating
        point for any concept; in a conversation, also when a clause of one message and a clause
        of an earlier one do together ("my left leg" ... "now my right leg too"), or when an
        earlier message was urgent (every unit of the earlier messages is scored again, so an
        urgent conversation stays urgent)."""
        messages = [m for m in (*query.earlier, query) if m.clauses]
        units: list[str] = []
        unit_vectors: list[np.ndarray] = []
        own = 0  # units of the current message come first
        described: list[list[tuple[str, np.ndarray, bool]]] = []
        for m in reversed(messages):  # the current message first, then the most recent
            texts, vectors, context = self._read(m)
            u, v = self._message_units(texts, vectors, context)
            units += u
            unit_vectors += v
            if m is query:
                own = len(units)
            described.append([(t, vectors[i], t in context) for i, t in enumerate(texts)])
        # Pairs across messages: each clause of a message with each clause of an earlier one, the
        # most recent messages first, at most MAX_CLAUSES clauses in all.
        flat = [(n, c) for n, clauses in enumerate(described) for c in clauses][:MAX_CLAUSES]
        for text, vector, current in _both_sides(flat):
            # A unit of the current message's own clauses counts as the message's own.
            current = current and bool(query.clauses)  # message 0 is this one only if it has clauses
            at = own if current else len(units)
            units.insert(at, text)
            unit_vectors.insert(at, vector)
            own += current
        for i, (n, (a, va, ca)) in enumerate(flat):
            for m, (b, vb, cb) in flat[i + 1:]:
                if m == n or (ca and cb):
                    continue
                units.append(f"{b}, {a}")
                unit_vectors.append(_mean(va, vb))
        if not units or not self.scorer.labels:
            return TriageResult(False)
        proba = self.scorer.probabilities(units, np.vstack(unit_vectors), query.language)
        urgent_p = proba.max(axis=1)
        best = int(np.argmax(urgent_p))
        score = float(urgent_p[best])
        concepts: list[str] = []
        if score >= self.threshold:
            strongest = proba.max(axis=0)
            for j in np.argsort(-strongest):
                if strongest[j] >= self.threshold / 2 or not concepts:
                    concepts.append(self.scorer.labels[int(j)])
        from_earlier = score >= self.threshold and (not own or float(urgent_p[:own].max()) < self.threshold)
        return TriageResult(score >= self.threshold, concepts, score, units[best], from_earlier)

    def _read(self, query: Query) -> tuple[list[str], np.ndarray, set[str]]:
        texts = list(query.clauses)
        vectors = np.asarray(query.clause_vectors, dtype=np.float32)
        # Context-only clauses ("only my left leg", "it used to be ...") count only in a pair.
        context = {c.described for c in self._clauses(query.text, query.language) if c.past}
        return texts, vectors, context

    @staticmethod
    def _message_units(texts: list[str], vectors: np.ndarray,
                       context: set[str]) -> tuple[list[str], list[np.ndarray]]:
        """One message's clauses (context ones left out) and its neighbouring pairs."""
        alone = [i for i, t in enumerate(texts) if t not in context]
        units, unit_vectors = [texts[i] for i in alone], [vectors[i] for i in alone]
        for i in range(len(texts) - 1):
            if texts[i] in context and texts[i + 1] in context:
                continue  # two context clauses describe nothing current
            units.append(f"{texts[i]}, {texts[i + 1]}")
            unit_vectors.append(_mean(vectors[i], vectors[i + 1]))
        return units, unit_vectors


def _both_sides(clauses: list[tuple[int, tuple[str, np.ndarray, bool]]]) -> list[tuple[str, np.ndarray, bool]]:
    """Symptoms told side by side, read as what they add up to: a clause naming the left leg (or
    foot, calf ...) and one naming the right, in any message, context-only ones included ("it
    used to be only my left calf" + "now my right calf is doing it too"), make one unit in which
    both sides read "both" when one of them tells a nerve symptom. It is scored like any other
    unit: its vector is the two clauses' mean, its words carry "both". Denied clauses never get
    here. Each unit says whether both clauses are the current message's (message number 0)."""
    left = [(n, t, v) for n, (t, v, _) in clauses if _LOWER_LIMB.search(t) and _LEFT.search(t)]
    right = [(n, t, v) for n, (t, v, _) in clauses if _LOWER_LIMB.search(t) and _RIGHT.search(t)]
    out = []
    for n, a, va in left:
        for m, b, vb in right:
            text = a if a == b else f"{a}, {b}"
            if not _NERVE.search(text) or (a == b and _COMPARED.search(a)):
                # "my left hamstring is tighter than my right" tells no nerve symptom; "my left
                # leg is weaker than my right" compares the sides, it does not put it in both
                continue
            out.append((_SIDES.sub("both", text), va if a == b else _mean(va, vb), n == m == 0))
    return out[:MAX_CLAUSES]


#: Where a side of the lower body is named ("my left calf", "the right leg").
_LOWER_LIMB = re.compile(r"\b(?:legs?|calf|calves|foot|feet|thighs?|shins?|knees?|ankles?|toes?|"
                         r"hamstrings?|glutes?|buttocks?|bum cheeks?|heels?)\b", re.I)
#: What a nerve does when it is pinched, in patients' words (a tight or sprained leg is not it).
_NERVE = re.compile(r"numb|tingl|pins and needles|burn|shoot|sciatic|nerve|electric|zing|buzz|"
                    r"weak|dead|heavy|giv(?:e|es|ing) way|buckl|radiat|shock", re.I)
_COMPARED = re.compile(r"\bthan\b", re.I)
_LEFT = re.compile(r"\bleft\b", re.I)
_RIGHT = re.compile(r"\bright\b", re.I)
_SIDES = re.compile(r"\b(?:left|right)\b", re.I)


def _mean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The normalised mean of two clause vectors: MiniLM's mean pooling makes it a close stand-in
    for encoding the pair."""
    mean = a + b
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 1e-6 else mean
