"""Coverage: does the evidence cover what was asked? Abstain when it does not.

Four checks, in order:

1. Medicines, doses and prescriptions are never answered here (`medication`): the patient's
   doctor or pharmacist answers those, even when an article names a drug in passing.
2. The question's distinctive words must be in the evidence. Each content word of the question
   (stop words and chat filler left out; strings that are not words, such as "lol" or typos the
   corpus never uses, ignored) weighs its idf in this index, from the LexicalIndex port: a word the
   articles never use weighs the most, "back" or "pain" almost nothing. The share of that weight
   found in the evidence (the best candidate sentences and their articles' titles) must reach
   `MIN_SUBJECT_SHARE`: "acupuncture vs physio for chronic back pain" finds "chronic back pain"
   in the evidence but not its subject.
3. The question's named subject must be covered too, whatever its share of the idf: a body
   region or patient group the asking sentence names ("my hip replacement", "20 weeks
   pregnant", "my neck"; `NAMED_SUBJECTS`) must be in the evidence (in a long run-on, where it
   may be scenery, only when the articles never name it), and the thing a "does X help / is X
   any good / should I use X" question asks about must be a word the index has seen: advice for
   the lower back does not answer a question about the neck or about cupping.
4. The best candidate sentence must score at least `AnswerTuning.abstain_below` (the blend of
   cosine and word overlap that ranks the sentences).

`confidence` (0..1) is the best sentence's score scaled by the share of distinctive words found:
best x (1 + share) / 2. It is 0 when the service abstains.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

import simplemma

from groundedqa.answer.clauses import words
from groundedqa.answer.medication import asking_sentences, asks_about_medication
from groundedqa.answer.stop_words import ENGLISH_STOP_WORDS
from groundedqa.answer.types import AnswerTuning, Candidate, Coverage, Query
from groundedqa.index.ports import LexicalIndex, SentenceStore

#: Below this idf-weighted share of the question's distinctive words in the evidence, the
#: articles do not discuss what was asked (tune sets: README, "How an answer is made").
MIN_SUBJECT_SHARE = 0.05
#: How many of the best candidate sentences count as the evidence.
EVIDENCE_SENTENCES = 5
# Words that carry the conversation, not its subject.
_FILLER = frozenset("""
ok okay got get gets getting going go goes does im ive just really actually like want need know
think good bad best better worse safe safely still help helps thing things stuff tip tips advice lol
pls please thanks thank hi hey yo mate basically anyway long much many way time times day days make
doing use using try trying start started fine normal kind sort lot bit able also ever even today
now yes yeah right left quick question wondering wonder possible ask tell say said
""".split()) | ENGLISH_STOP_WORDS


_NEVER_SEEN = "\u0000never-seen"


def idf_and_unseen(lexical: LexicalIndex, terms: Iterable[str]) -> tuple[dict[str, float], float]:
    """The idf of each term in the index, and the idf of a term it has never seen (the largest
    there is; asked for with a term that cannot be in it): a term at that idf is not in the
    articles."""
    idf = lexical.idf(sorted(set(terms) | {_NEVER_SEEN}))
    return idf, idf.pop(_NEVER_SEEN)
#: An asking sentence of at most this many words is about what it names (longer ones are run-ons
#: that tell a story).
SUBJECT_SENTENCE_WORDS = 20
#: Words that name WHO or WHERE a question is about: a body region or a patient group. When the
#: sentence that asks names one and the evidence never does, the articles answer a different
#: patient ("after my hip replacement, can I do dead hangs?" answered with back advice). Words,
#: not corpus terms: the check is the same for any clinic's articles.
NAMED_SUBJECTS = frozenset("""
neck necks cervical shoulder shoulders rotator cuff elbow elbows wrist wrists hand hands finger
fingers thumb thumbs knee knees ankle ankles heel heels hip hips shin shins jaw achilles pelvis
rib ribs pregnant pregnancy postpartum breastfeeding baby babies child children kid kids son
daughter teenager teenage toddler carpal acl meniscus
""".split()) | frozenset((
    # Procedures on a joint: "after my knee replacement" is not answered by a mention of the knee.
    "replacement replacements arthroscopy reconstruction microdiscectomy discectomy laminectomy "
    # Money: what treatment costs or who pays is a question for the clinic, not the articles.
    "cost costs price prices pricing expensive cheap cheaper afford affordable insurance insurer "
    "insured medicare medicaid fee fees copay reimbursement refund "
    # Diet, and devices bought for a back.
    "food foods diet nutrition supplements vitamins vitamin mattress pillow brace corset insoles "
    "orthotics collar massager inversion tens "
    # Other practitioners and therapies: advice on exercise does not answer whether they help.
    "chiropractor chiropractors chiropractic osteopath osteopathy acupuncture acupuncturist cupping "
    "reiki homeopathy"
).split())


# "does X help", "is X any good", "should I use X": the thing asked about is the word after the
# question's verb (a compound's first word is its specific part: "cupping therapy", "inversion
# table"); the question abstains when the index has never seen it.
_ASKS_ABOUT = re.compile(
    r"\b(?:does|do|did|will|would|can|could|is|are|should i (?:use|get|try|buy|see)|"
    r"worth (?:trying|getting|buying))\s+(?:a |an |the |some |having |getting |using |doing )?"
    r"(?P<thing>[a-z][a-z'-]+)\b(?=(?P<rest>.*))", re.IGNORECASE)
# "acupuncture vs physio": both things compared are asked about.
_VERSUS = re.compile(r"\b(?P<thing>[a-z][a-z'-]+)\s+(?:vs\.?|versus)\s+(?P<other>[a-z][a-z'-]+)\b",
                     re.IGNORECASE)
_VERDICT = re.compile(r"\b(?:help|helps|helpful|work|works|good|worth|safe|effective|better|"
                      r"any use|useful|fix)\b", re.IGNORECASE)


class CoverageCheck(Protocol):
    """Decides between answering and abstaining, with a confidence in 0..1."""

    def assess(self, query: Query, candidates: list[Candidate]) -> Coverage: ...


class SubjectCoverage:
    """Medicines out; the question's distinctive words in the evidence; the best sentence close."""

    def __init__(self, tuning: AnswerTuning, lexical: LexicalIndex, store: SentenceStore,
                 min_share: float = MIN_SUBJECT_SHARE) -> None:
        self.tuning = tuning
        self.lexical = lexical
        self.store = store
        self.min_share = min_share

    def assess(self, query: Query, candidates: list[Candidate]) -> Coverage:
        if asks_about_medication(query.subject):
            return Coverage(False, 0.0, "medication")
        best = candidates[0].score if candidates else 0.0
        share, missing = self.subject_share(query.subject, candidates[:EVIDENCE_SENTENCES])
        confidence = float(min(1.0, max(0.0, best * (1.0 + share) / 2.0)))
        floor = self.tuning.abstain_below if query.abstain_below is None else query.abstain_below
        absent = self.absent_named_subjects(query.subject, candidates[:EVIDENCE_SENTENCES])
        covered = best >= floor and share >= self.min_share and not absent
        return Coverage(covered, confidence if covered else 0.0,
                        None if covered else "not_covered", tuple(dict.fromkeys([*absent, *missing])))

    def absent_named_subjects(self, question: str, evidence: list[Candidate]) -> list[str]:
        """The body regions and patient groups (`NAMED_SUBJECTS`) the question's asking sentences
        name and the evidence never does."""
        asking = asking_sentences(question)
        # In a short question the region or group is its subject; in a long run-on it may be
        # scenery ("I burnt my wrist ... and my hand swelled, what should I do?"), so there it
        # counts only when the articles never name it at all.
        named = [(w, len(words(s)) <= SUBJECT_SENTENCE_WORDS)
                 for s in asking for w in words(s) if w in NAMED_SUBJECTS]
        absent = []
        if named:
            found = self._evidence_terms(evidence)
            stems = [s[0] if s else "" for s in self.lexical.terms([w for w, _ in named])]
            idf, unseen = idf_and_unseen(self.lexical, (s for s in stems if s))
            passing = self._named_in_passing(asking, {s for s in stems if s}, evidence)
            absent = [w for (w, short), stem in zip(named, stems)
                      if not stem or (stem not in found and (short or idf[stem] >= unseen))
                      or (short and stem in passing)]
        return absent + self._unknown_things(asking)

    def _named_in_passing(self, asking: list[str], regions: set[str],
                          evidence: list[Candidate]) -> set[str]:
        """Regions the evidence names only in passing: no evidence sentence that names one also
        has another word of the question ("keep your back and knee straight" does not answer
        "my knee clicks going downstairs"; "hang with relaxed shoulders" does answer "can I hang
        with a sore shoulder?")."""
        others = {t for ts in self.lexical.terms([w for s in asking for w in words(s)
                                                  if w not in _FILLER and len(w) > 1])
                  for t in ts} - regions
        rows = [set(ts) for ts in self.lexical.terms([c.text for c in evidence])]
        return {r for r in regions
                if any(r in row for row in rows) and not any(r in row and row & others for row in rows)}

    def _unknown_things(self, asking: list[str]) -> list[str]:
        """The things a "does X help?" question asks about that the index has never seen (a
        dictionary word, so a typo or a name the analyser splits does not count)."""
        things = []
        for sentence in asking:
            for match in _ASKS_ABOUT.finditer(sentence.lower()):
                thing = match.group("thing")
                if (_VERDICT.search(match.group("rest")) and thing not in _FILLER
                        and simplemma.is_known(thing, lang="en")):
                    things.append(thing)
            for match in _VERSUS.finditer(sentence.lower()):
                things += [w for w in match.group("thing", "other")
                           if w not in _FILLER and simplemma.is_known(w, lang="en")]
        if not things:
            return []
        stems = [s[0] for s in self.lexical.terms(things) if s]
        if len(stems) != len(things):
            return []
        idf, unseen = idf_and_unseen(self.lexical, stems)
        return [t for t, s in zip(things, stems) if idf[s] >= unseen]

    def _evidence_terms(self, evidence: list[Candidate]) -> set[str]:
        texts = [c.text for c in evidence]
        texts += sorted({self.store.doc_titles[c.doc_idx] for c in evidence})
        # The analyser cuts each word on its own, so the terms of the texts taken one by one
        # (each analysed once and cached by the index) are the terms of the texts joined.
        return set().union(*self.lexical.terms(texts))

    def subject_share(self, question: str, evidence: list[Candidate]) -> tuple[float, list[str]]:
        """(idf-weighted share of the question's distinctive words in the evidence, the words
        missing from it)."""
        content = [w for w in dict.fromkeys(words(question)) if w not in _FILLER and not w.isdigit()
                   and len(w) > 1]
        if not content:
            return 1.0, []
        stems = self.lexical.terms(content)
        pairs = [(w, s[0]) for w, s in zip(content, stems) if s]
        if not pairs:
            return 1.0, []
        idf, unseen = idf_and_unseen(self.lexical, (s for _, s in pairs))
        found = self._evidence_terms(evidence)
        total = covered = 0.0
        missing = []
        for word, stem in pairs:
            if stem not in found and idf[stem] >= unseen and not simplemma.is_known(word, lang="en"):
                continue  # not a word and not in the articles: slang, a name, a typo
            total += idf[stem]
            if stem in found:
                covered += idf[stem]
            else:
                missing.append(word)
        return (covered / total if total else 1.0), missing
