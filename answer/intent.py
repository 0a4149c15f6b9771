"""What a question asks beyond its topic: its type, the shape of a sentence that answers that
type, and which of its words are distinctive rather than shared by every candidate sentence.

All rules are general English patterns (how patients phrase a duration, a count, a thing to
avoid ...), never strings of particular articles.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

_I = re.IGNORECASE
_DURATION_UNITS = r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|nights?|weeks?|months?|years?)"

#: Question types, most specific first: the first pattern that matches decides.
QUESTION_TYPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("how_long", re.compile(
        rf"\bhow long\b|\bfor how long\b|\bhow many {_DURATION_UNITS}\b|\bhow much time\b|"
        r"\bduration\b", _I)),
    ("how_many", re.compile(
        r"\bhow (?:many|much|often|frequently)\b|\bwhat (?:percentage|percent|proportion|share|"
        r"number|amount|dose)\b|\bhow many times\b", _I)),
    ("what_to_avoid", re.compile(
        r"\bavoid\w*|\bstay(?:ing)? away\b|\bsteer(?:ing)? (?:clear|away)\b|\bkeep away\b|"
        r"\boff[- ]limits\b|\bbad idea\b|\b(?:not|n['’]?t) (?:be )?(?:do|doing)\b|"
        r"\b(?:bad|harmful|dangerous|unsafe) (?:for|exercises?|moves?|movements?|activities)\b|"
        r"\bcut out\b|\bstop doing\b|\bskip\b", _I)),
    ("how_diagnosed", re.compile(
        r"\bdiagnos\w*|\b(?:tests?|scans?|mri|x-?rays?|imaging|ct|emg|ultrasound|"
        r"nerve conduction)\b|\bhow (?:do|will|can|would|did) (?:they|doctors?|docs?|the doctor|"
        r"physios?) (?:know|tell|find out|confirm|check|figure|work out)\b|\bchecked\b", _I)),
    ("what_if", re.compile(
        r"^\W*(?:so |and |but )?wh?at (?:if|happens? (?:if|when))\b|\bwhat (?:should|do) i do "
        r"(?:if|when)\b|\bwhat if\b", _I)),
    ("when", re.compile(
        r"^\W*(?:so |and |but )?when\b|\bat what (?:point|stage|time)\b|\bhow soon\b|"
        r"\bhow long (?:before|until|till)\b|\buntil when\b|\bwhen (?:can|should|do|does|is|will|"
        r"to|am|are)\b", _I)),
    ("why", re.compile(
        r"^\W*(?:so |and |but )?why\b|\bhow come\b|\bwhat(?:['’]?s| is) the (?:reason|point|purpose)\b|"
        r"\bwhat causes\b|\bwhy\b", _I)),
    ("which", re.compile(
        r"\bwhich\b|\bwhat (?:kinds?|types?|sorts?) of\b|\bwhat (?:\w+ )?(?:exercises|stretches|"
        r"activities|options|treatments|movements|moves|sports|workouts)\b", _I)),
    ("how_to", re.compile(
        r"^\W*(?:so |and |but )?how (?:do|can|should|would|to|does)\b|\bhow (?:do|should|can) i\b|"
        r"\bhow to\b|\bwhat(?:['’]s| is) the (?:best|right|safest) way\b", _I)),
    ("what_is", re.compile(r"^\W*(?:so |and |but )?what(?:['’]?s| is| are| does)\b|\bmean\b", _I)),
    ("yes_no", re.compile(
        r"^\W*(?:so |and |but |also )?(?:is|are|can|could|should|shall|do|does|did|will|would|may|"
        r"might|am|was|were|has|have|had|must|ok|okay)\b|\b(?:is it|are they|can i|should i|"
        r"could i|do i|am i)\b", _I)),
)

#: What a sentence that answers each type tends to contain. Types without a shape (yes/no,
#: which, how-to, what-is) are answered by relevance alone.
ANSWER_SHAPES: dict[str, re.Pattern[str]] = {
    "how_long": re.compile(
        rf"\b\d+(?:\.\d+)?(?:\s*(?:-|–|to)\s*\d+)?[\s-]*{_DURATION_UNITS}\b|"
        rf"\b(?:a|one|two|three|four|five|six|few|several|couple of) {_DURATION_UNITS}\b|"
        r"\buntil\b|\bat least\b|\bshort duration\b", _I),
    "how_many": re.compile(
        r"\d|%|\b(?:once|twice|one|two|three|four|five|six|seven|eight|nine|ten|twelve|dozen|"
        r"several|majority|most|few)\b", _I),
    "what_to_avoid": re.compile(
        r"\bavoid\w*|\bsteer clear\b|\bstay away\b|\bnot recommended\b|\bshould not\b|"
        r"\bshouldn['’]t\b|\bdo not\b|\bdon['’]t\b|\bnever\b|\bstop\b|\bdiscontinue\b|"
        r"\boff-limits\b|\brefrain\b|\baggravat\w*|\bworsen\w*|\birritat\w*|\bharm\w*|"
        r"\bdefer\w*|\brestrict\w*|\bstress\b|\bstrain\b|\bpressure\b", _I),
    "how_diagnosed": re.compile(
        r"\bdiagnos\w*|\bexam\w*|\btests?\b|\btesting\b|\bimaging\b|\bmri\b|\bx-?ray\b|\bct\b|"
        r"\bscans?\b|\bemg\b|\bncs\b|\belectromyograph\w*|\bnerve conduction\b|\bevaluat\w*|"
        r"\bassess\w*|\brule[ds]? out\b|\bmedical history\b|\bidentif\w*", _I),
    "when": re.compile(
        r"\bonce\b|\buntil\b|\bafter\b|\bbefore\b|\bduring\b|\bwhile\b|\bas soon as\b|"
        r"\bwhenever\b|\bwhen\b|\bif\b|\bphase\b|\bstage\b|\bweeks?\b|\bmonths?\b|\bdays?\b", _I),
    "why": re.compile(
        r"\bbecause\b|\bsince\b|\bdue to\b|\bas a result\b|\bcaus\w*|\bso that\b|\bin order to\b|"
        r"\bleads? to\b|\bresult\w* in\b|\bhelps?\b|\ballows?\b|\bby\b|\bwhich\b|\bsensitive\b", _I),
    "what_if": re.compile(
        r"\bif\b|\bstop\b|\bdiscontinue\b|\bseek\b|\bconsult\b|\bimmediately\b|\burgent\w*|"
        r"\bdefer\w*", _I),
}


def question_type(text: str) -> str:
    """The question's type by the first matching pattern; "other" when none matches."""
    for name, pattern in QUESTION_TYPES:
        if pattern.search(text):
            return name
    return "other"


def has_answer_shape(qtype: str, text: str) -> bool:
    """The text has the shape of an answer to `qtype` (never for shapeless types)."""
    shape = ANSWER_SHAPES.get(qtype)
    return shape is not None and shape.search(text) is not None


def distinctive_weights(query_terms: Sequence[str], idf: dict[str, float],
                        pool_terms: Sequence[set[str] | frozenset[str]],
                        held: np.ndarray | None = None) -> dict[str, float]:
    """Each question term's weight: its idf in the index, times the share of candidate sentences
    that lack it. Topic words every candidate shares ("nerve") fall toward 0; what the question
    singles out ("planks", "swimming", "how long") keeps its weight. `held`: the pool's
    `term_incidence` for the distinct query terms, when the caller has it already."""
    n = len(pool_terms)
    wanted = list(dict.fromkeys(query_terms))
    df = (term_incidence(wanted, pool_terms) if held is None else held).sum(axis=0)
    return {term: idf.get(term, 0.0) * (1.0 - int(d) / n if n else 1.0) for term, d in zip(wanted, df)}


def weighted_share(weights: dict[str, float], pool_terms: Sequence[set[str] | frozenset[str]],
                   held: np.ndarray | None = None) -> np.ndarray:
    """Per text: the share of the total weight its terms hold (0..1); `held`: the pool's
    `term_incidence` for the weights' terms in their order, when the caller has it already."""
    total = sum(weights.values())
    if total <= 0:
        return np.zeros(len(pool_terms), dtype=np.float32)
    if held is None:
        held = term_incidence(list(weights), pool_terms)
    # Added term by term in the weights' order, in float64: the sums a loop over the weights gives.
    acc = np.zeros(len(pool_terms), dtype=np.float64)
    for j, w in enumerate(weights.values()):
        acc += np.where(held[:, j], w, 0.0)
    return (acc / total).astype(np.float32)


def term_incidence(terms: list[str], pool_terms: Sequence[set[str] | frozenset[str]]) -> np.ndarray:
    """(len(pool_terms), len(terms)) bool: which text holds which term (one set intersection per
    text, not one scan of the pool per term)."""
    column = {t: j for j, t in enumerate(terms)}
    keys = frozenset(column)
    out = np.zeros((len(pool_terms), len(terms)), dtype=bool)
    for i, text_terms in enumerate(pool_terms):
        for t in keys.intersection(text_terms):
            out[i, column[t]] = True
    return out
