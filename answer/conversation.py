"""Follow-up questions: decide whether a message stands alone, and search a dependent one with the
subject of the conversation carried over. No text is generated and the server keeps no state: the
patient's earlier messages come with every request and are read again.

1. **Reading a message** (`read_message`, words only). A message depends on earlier ones when it
   - continues ("tell me more", "go on", "then what": MORE; "what else", "anything else to avoid?":
     ELSE);
   - refers back ("how do I make it harder", "what do those poses do", "the quad one", "which
     ones"): a pronoun, demonstrative or pro-form with no subject of its own beside it (an
     expletive "is it ok to ..." does not count; "that" after a noun is a relative);
   - is elliptical ("and the quad one?", "what about swimming?", "twisting?"): a fragment that
     starts with "and" / "what about" / "how about", or a bare noun phrase, with no question of
     its own; or leans on the earlier answer ("... then?", "... instead?", "... too?");
   - or is a short generic question ("whats the first step", "how long per hang"): then
     retrieval decides (`EVIDENCE_MARGIN`): it is searched alone and with the carried subject,
     and it depends on the conversation only when the carried subject answers it clearly better.
   "Another thing:", "different question", "unrelated, ..." start a new topic, and so does any
   complete question: nothing is carried over (the announcement itself is not searched:
   `without_topic_cue`).
2. **Carrying the subject** (historical query expansion, Lin et al. 2020, done on vectors and
   words): a dependent message is searched with `vector = message + CARRY x the previous turn's
   searched vector` (the previous one folds in the turns before it, so older turns weigh
   geometrically less) and with the previous turn's content words added to its words, the most
   recent first (`CARRIED_TERMS` at most). A fragment with a subject of its own ("and at my
   desk?" after "how should I sit when cycling?") takes the place of part of the last question:
   its most specific word is not carried. Coverage checks what the message names anew (see
   `_carried`), and an uncovered subject stays uncovered for its follow-ups ("what about
   swimming?" after a question on hip replacement abstains, though swimming is covered): the
   verdict is carried, not just the words. A medicine is what was asked, not the subject: after
   a medication question a fragment naming a treatment the articles use ("and injections?") is
   searched with the condition and without the medicine; "how much of it?" or "what else?" still
   asks about the medicine. Neither a fragment nor a reference is answered again with the
   sentences already quoted unless they name its own words (`_off_subject`): "how do I make it
   harder?" asks what the last answer did not say, while a reference that picks out something
   the articles name ("and the quad one?" after a list of stretches) may be. Sentences of the
   sections the previous answer quoted get `SECTION_BONUS` (of its articles, `DOC_BONUS`) before
   coverage and selection: the conversation has already established that subject, so "what is it
   meant to rule out?" after an answer on imaging before dead-hangs needs less evidence from its
   own few words. A short generic question compares its two searches on their scores before that
   bonus, and keeps its own answer when the carried one only repeats what was quoted. An
   elliptical message, or a reference that opens like one ("what about my stiff neck, any
   stretches for that?"), must name anew only words the articles use (`MIN_KNOWN_SHARE`).
3. **Continuations** never repeat a sentence quoted since the topic began: MORE quotes what
   follows the previous answer's best sentence in its article (into the next section at most,
   stepping over the heading between them);
   ELSE quotes the next best answers to the topic's question.
4. A dependent message with nothing to refer to (the first of a conversation, or after a message
   in another language) gets the clinic's `followup_message` when it cannot be read alone
   (continuations, references with fewer than `OWN_SUBJECT_WORDS` content words, bare "and
   ...?"); one with a subject of its own ("what about swimming with a pinched nerve?", "what if
   it hurts while im stretching") is answered alone.

What each earlier answer quoted is recomputed (the stages are deterministic), from the vectors the
reader computed in its one encoder call: a follow-up costs retrieval, never another model call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace

import numpy as np
import simplemma

from groundedqa.answer.clauses import normalise_apostrophes, words
from groundedqa.answer.coverage import idf_and_unseen
from groundedqa.answer.language import ENGLISH
from groundedqa.answer.medication import asks_about_medication
from groundedqa.answer.stop_words import ENGLISH_STOP_WORDS
from groundedqa.answer.types import AnswerTuning, Candidate, Coverage, Query
from groundedqa.index.ports import LexicalIndex, SentenceStore

#: Weight of the previous turn's searched vector against the message's own.
CARRY = 0.8
#: Carried content words at most (the most recent turns' first).
CARRIED_TERMS = 12
#: Score added to a candidate sentence in a section the previous answer quoted, or in its article.
SECTION_BONUS = 0.08
DOC_BONUS = 0.03
#: A short generic question depends on the conversation when its best sentence scores at least
#: this much better with the carried subject than alone (or it is only covered with it).
EVIDENCE_MARGIN = 0.05
#: A follow-up on a covered subject abstains below `AnswerTuning.abstain_below` minus this: the
#: carried words dilute its best sentence's score (tune split: by 0.05-0.10).
FOLLOW_UP_SLACK = 0.1
#: An elliptical follow-up's own content words must be this much (idf-weighted) words the
#: articles use at all: "what about my neck?" names a subject they never mention.
MIN_KNOWN_SHARE = 0.5
#: A word this long or longer that begins a word of the conversation's articles is one of theirs
#: (a clipped name: "quad" for "quadriceps", "lat" for "latissimus").
MIN_CLIPPED = 3
#: An ELSE continuation with words of its own ("anything else to avoid?") weighs them this much.
ELSE_OWN_WEIGHT = 0.5
#: A message with more content words than this has a subject of its own, pronoun or not.
MAX_REFERENCE_CONTENT = 4
#: A reference with this many content words ("how long do i hold each stretch") is answered
#: alone when there is nothing earlier to refer to; with fewer ("is that one better?") it gets
#: `followup_message`.
OWN_SUBJECT_WORDS = 2
#: Fragments ("and the doorway lat one", "what about swimming") have at most this many words.
MAX_FRAGMENT_WORDS = 8

STANDALONE, SHIFT, MORE, ELSE, REFERENCE, ELLIPSIS, GENERIC = (
    "standalone", "shift", "more", "else", "reference", "ellipsis", "generic")

_LEAD = re.compile(r"^(?:(?:ok(?:ay)?|kk?|right|hm+|oh|ah|cool|thanks|thank you|great|alright|"
                   r"yeah|yes|yep|um+|well|so|got it|i see|nice|sure)\b[\s,.!:;-]*)+")
_MORE = re.compile(
    r"(?:(?:and|so)\s+)?(?:please\s+)?(?:tell me more|more|more please|more info(?:rmation)?|"
    r"more details?|go on|go on then|keep going|carry on|continue|and then|then what|what then|"
    r"what next|what'?s next|what comes next|what happens next|after that|next|what now|say more|"
    r"and after that)(?:\s+(?:about|on|with)\s+(?:it|that|this|those|them))?(?:\s+please)?")
_ELSE = re.compile(
    r"^(?:(?:and|so|also)\s+)?(?:(?:what|anything|something|any)\s+else\b|(?:any\s+)?others?\b"
    r"(?!\s+(?:leg|side|arm|foot|one)\b)|(?:any\s+)?more\s+(?:tips|ideas|options|ways|exercises|"
    r"advice)\b)")
_SHIFT = re.compile(
    r"^(?:another thing|one more thing|(?:a\s+)?different (?:thing|topic|question|subject)|"
    r"new (?:question|topic)|separate(?:ly| question)|unrelated|switching gears|"
    r"chang(?:e|ing) (?:of |the )?(?:subject|topic)|other q(?:uestion)?\b|on another note|"
    r"(?:totally|completely|something) (?:different|else)|random question|btw|by the way)\b")
_INTERROGATIVE = (r"how|what|what's|whats|why|when|where|which|who|is|are|can|could|should|"
                  r"would|will|do|does|did|may|might|am|i|im|i'm|my|its|it's")
_ELLIPSIS = re.compile(
    rf"^(?:(?:and|or|also|plus|but)\s+(?!(?:{_INTERROGATIVE})\b)|(?:and\s+)?(?:what|how)\s+"
    rf"(?:about|abt|bout)\s+|same (?:for|with)\s+|(?:and\s+)?if\s+)(?P<rest>.+)$")
_LEANS = re.compile(r"\b(?:then|too|instead|as well|either|still)\s*$")
_STARTS_QUESTION = re.compile(rf"^(?:{_INTERROGATIVE})\b")
_PRO_FORM = re.compile(
    r"\b(?:the other(?: ones?)?|the same(?: one)?|(?:that|this|which|each) ones?|"
    r"those ones|these ones|the [a-z-]+ ones?|one of (?:them|those|these)|either of (?:them|those))\b"
    r"|\beach\b(?!\s+(?:day|week|time|morning|night|month|year|side|set|rep|other)s?\b)")
_THEY = re.compile(r"\b(?:they|them|their|those|these)\b(?!\s+(?:who|with|of you|people)\b)")
_TIME = r"(?:week|weekend|morning|afternoon|evening|night|time|year|month|day|summer|winter)"
# Referential "that"/"this": opening the message, after a preposition or a verb that takes it as
# object, or closing it; a "that" after a noun or a verb of saying is a relative or complementiser.
_THAT = re.compile(
    rf"(?:^|\b(?:for|with|about|of|from|to|before|after|during|like|than|on|in|at|by|if|do|does|"
    rf"did|doing|done|try|trying|tried|mean|means|is|was|are|help|helps|cause|causes|caused|"
    rf"avoid|skip|stop|keep|use|using|get|got|hold|recommend|say|said|mean)\s+)(?:that|this)\b"
    rf"(?!\s+{_TIME}s?\b)|\b(?:that|this)\s*$")
# "it" that refers to nothing: "is it ok to ...", "it's safe to ...", "does it matter if ...".
_EXPLETIVE_IT = re.compile(
    r"\b(?:is|was|isn'?t|will|would|could|does|if|when)\s+it\s+(?:\w+\s+)?(?:ok|okay|safe|normal|"
    r"bad|good|fine|possible|wise|smart|better|worse|worth|true|necessary|advisable|dangerous|"
    r"risky|alright|all right|too (?:late|early|soon)|likely|common|helpful|best|recommended|"
    r"harmful|essential|important|matter|help|hurt)\b"
    r"|\bit(?:'s| is|s)\s+(?:\w+\s+)?(?:ok|okay|safe|normal|bad|good|fine|possible|wise|better|"
    r"worth|true|necessary|advisable|dangerous|important|recommended)\s+(?:to|if|for|that)\b"
    r"|\bit depends\b|\bmake it to\b")
_IT = re.compile(r"\b(?:it|its|it's|itself)\b")
_FILLER = frozenset("""
ok okay got get gets getting going go goes does did do doing done im ive just really actually like
want need know think good bad best better worse safe safely still help helps thing things stuff tip
tips advice lol pls please thanks thank hi hey yo mate basically anyway long much many way time times
day days make makes doing use using try trying start started fine normal kind sort lot bit able also
ever even today now yes yeah right quick question wondering wonder possible ask tell say said mean
means work works should would could can will may might one ones each other else more tho though
exactly then too instead still really
""".split()) | ENGLISH_STOP_WORDS


@dataclass(frozen=True)
class Reading:
    """How a message relates to the conversation, from its words alone."""

    kind: str
    #: Cannot be read alone: with nothing earlier to refer to, it gets `followup_message`.
    needs_antecedent: bool = False
    #: Opens like a fragment that brings up a subject ("what about ...", "and ..."), whatever
    #: else it holds: the new words it names must be words the articles use.
    fragment: bool = False


def content_words(text: str) -> list[str]:
    """The words that name a subject (not stop words, chat filler, pronouns or cue words)."""
    return [w for w in dict.fromkeys(words(text)) if w not in _FILLER and not w.isdigit()
            and len(w) > 1]


def read_message(text: str) -> Reading:
    """Standalone, a new topic, or dependent (and how), from the message's words."""
    low = normalise_apostrophes(text).lower().strip()
    low = re.sub(r"[?!.]+$", "", _LEAD.sub("", low)).strip(" ,.")
    if not low:
        return Reading(STANDALONE)
    if _SHIFT.match(low):
        return Reading(SHIFT)
    if _MORE.fullmatch(low):
        return Reading(MORE, True)
    if _ELSE.match(low):
        return Reading(ELSE, True)
    n_words = len(words(low))
    content = content_words(low)
    referring = _refers(low)
    match = _ELLIPSIS.match(low)
    if referring and len(content) <= MAX_REFERENCE_CONTENT and n_words <= 20:
        # "what if it hurts while im stretching" names its subject: alone, it is a question.
        return Reading(REFERENCE, len(content) < OWN_SUBJECT_WORDS, fragment=bool(match))
    if match and len(words(match.group("rest"))) <= MAX_FRAGMENT_WORDS:
        return Reading(ELLIPSIS, not content)
    if n_words <= 3 and not _STARTS_QUESTION.match(low):
        return Reading(ELLIPSIS, not content)  # a bare fragment: "twisting?", "crunches"
    if _LEANS.search(low) and n_words <= 12:
        return Reading(ELLIPSIS)
    if len(content) <= 2 and n_words <= 8:
        return Reading(GENERIC)
    return Reading(STANDALONE)


def without_topic_cue(text: str) -> str:
    """`text` without a cue that announces a new topic ("new question, ...", "btw can i ...",
    "totally different: ..."): the cue steers the conversation, not the search. Kept when what
    follows is not set off from it ("something else hurts too")."""
    low = normalise_apostrophes(text).lower()
    lead = _LEAD.match(low)
    start = lead.end() if lead else 0
    cue = _SHIFT.match(low[start:])
    if cue is None:
        return text
    rest = low[start + cue.end():]
    body = rest.lstrip(" ,.:;!-\u2013\u2014")
    if len(words(body)) < 2 or (body == rest.lstrip() and not _STARTS_QUESTION.match(body)):
        return text
    return text[len(low) - len(body):]


def reading_of(m: Query) -> Reading:
    """How message `m` relates to the conversation: its announced new topic, if it announces one
    (the cue is not in its `search_text`), else what its searched words say."""
    if without_topic_cue(m.text) != m.text:
        return Reading(SHIFT)
    return read_message(m.search_text)


def _clips(mine: Collection[str], theirs: Collection[str]) -> bool:
    """Whether one of `mine` begins one of `theirs` (a clipped or derived form the stemmer keeps
    apart: "roll" and "roller", "quad" and "quadriceps")."""
    return any(t.startswith(w) for w in mine if len(w) >= MIN_CLIPPED for t in theirs)


def _refers(low: str) -> bool:
    if _PRO_FORM.search(low) or _THEY.search(low) or _THAT.search(low):
        return True
    return bool(_IT.search(_EXPLETIVE_IT.sub(" ", low)))


# ------------------------------------------------------------------------------------------------
# Resolving a message against the conversation
# ------------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What the stages found for one searched query."""

    candidates: list[Candidate]
    coverage: Coverage
    selected: list[Candidate]
    #: The best candidate's score as the stages scored it, before any preference for the earlier
    #: answer's sections: what two searches of one message are compared on.
    top: float | None = None

    @property
    def best(self) -> float:
        if self.top is not None:
            return self.top
        return self.candidates[0].score if self.candidates else 0.0


#: Runs retrieval -> locate -> coverage -> select for a query; `exclude` drops sentence rows from
#: the candidates, `prefer` rescores them before coverage and selection.
Search = Callable[..., Outcome]


@dataclass
class Topic:
    """The conversation's subject after a message: what was searched, found and quoted."""

    query: Query  # the searched query (vector and words, carried subject included)
    outcome: Outcome
    texts: list[str]  # the patient's words of the topic's messages, oldest first
    quoted: set[int] = field(default_factory=set)  # every sentence row quoted since it began


@dataclass
class Plan:
    """How to answer the current message."""

    query: Query
    selected: list[Candidate]
    coverage: Coverage
    interpreted_as: str
    context_used: bool


class Conversation:
    """Resolves a message against the patient's earlier messages (`query.earlier`)."""

    def __init__(self, store: SentenceStore, lexical: LexicalIndex, tuning: AnswerTuning) -> None:
        self.store = store
        self.lexical = lexical
        self.tuning = tuning

    def plan(self, query: Query, search: Search) -> Plan:
        """How to answer `query`: alone, with the carried subject, or with `followup_message`."""
        reading = reading_of(query)
        if reading.kind in (STANDALONE, SHIFT):
            return self._alone(query, search)
        topic = self._topic(list(query.earlier), search)
        topic, context = self._step(query, reading, topic, search)
        if topic is None:
            no = Coverage(False, 0.0, "followup")
            return Plan(query, [], no, query.search_text, False)
        return Plan(topic.query, topic.outcome.selected, topic.outcome.coverage,
                    " … ".join(topic.texts[-3:]) if context else query.search_text, context)

    def _alone(self, query: Query, search: Search) -> Plan:
        outcome = search(query)
        return Plan(query, outcome.selected, outcome.coverage, query.search_text, False)

    def _topic(self, earlier: list[Query], search: Search) -> Topic | None:
        """The subject after the earlier messages: replayed from the last one that stood alone."""
        start = 0
        for i in range(len(earlier) - 1, -1, -1):
            m = earlier[i]
            if m.language != ENGLISH or reading_of(m).kind in (STANDALONE, SHIFT):
                start = i
                break
        topic = None
        for m in earlier[start:]:
            topic, _ = self._step(m, reading_of(m), topic, search)
        return topic

    def _step(self, m: Query, reading: Reading, topic: Topic | None,
              search: Search) -> tuple[Topic | None, bool]:
        """The topic after message `m`, and whether `m` was answered with the carried subject."""
        if m.language != ENGLISH:
            return None, False
        if reading.kind in (STANDALONE, SHIFT) or topic is None:
            if reading.needs_antecedent:
                return None, False  # nothing to refer to: answered with followup_message
            return Topic(m, search(m), [m.search_text]), False
        if reading.kind == GENERIC:
            alone = search(m)
            carried = self._follow(m, reading, topic, search)
            # The carried words score the earlier answer's sentences high whatever is asked: an
            # answer that only says again what was quoted does not answer a question of its own.
            said = topic.quoted | {c.sentence for c in topic.outcome.selected}
            repeats = {c.sentence for c in carried.outcome.selected} <= said
            if alone.coverage.covered and (repeats or not (
                    carried.outcome.coverage.covered
                    and carried.outcome.best >= alone.best + EVIDENCE_MARGIN)):
                return Topic(m, alone, [m.search_text]), False
            return carried, True
        return self._follow(m, reading, topic, search), True

    def _follow(self, m: Query, reading: Reading, topic: Topic, search: Search) -> Topic:
        """`m` answered with the topic's subject carried over."""
        texts = [*topic.texts, m.search_text]
        if not topic.outcome.coverage.covered and not self._leaves_medication(m, reading, topic):
            # The subject is not covered (or is about medicines): neither is its follow-up.
            carried = self._carried(m, topic, 1.0, reading)
            verdict = Coverage(False, 0.0, topic.outcome.coverage.reason or "not_covered")
            return Topic(carried, Outcome([], verdict, []), texts, set(topic.quoted))
        quoted = topic.quoted | {c.sentence for c in topic.outcome.selected}
        if asks_about_medication(m.search_text):
            return Topic(self._carried(m, topic, 1.0, reading),
                         Outcome([], Coverage(False, 0.0, "medication"), []), texts, quoted)
        if (reading.kind == ELLIPSIS or reading.fragment) and self._known_share(
                " ".join(self._new_words(m, topic)),
                {c.doc_idx for c in topic.outcome.selected}) < MIN_KNOWN_SHARE:
            return Topic(self._carried(m, topic, 1.0, reading),
                         Outcome([], Coverage(False, 0.0, "not_covered"), []), texts, quoted)
        if reading.kind == MORE:
            following = self._following(topic, quoted, m.limit)
            if following:
                outcome = Outcome(following, topic.outcome.coverage, following)
                return Topic(topic.query, outcome, texts, quoted)
        sections = set(self.store.sections([c.sentence for c in topic.outcome.selected]))
        docs = {c.doc_idx for c in topic.outcome.selected}
        if reading.kind in (MORE, ELSE):
            own = ELSE_OWN_WEIGHT if content_words(m.search_text) else 0.0
            carried = self._carried(m, topic, own, reading)
            return Topic(carried, search(carried, exclude=quoted, prefer=lambda cands: self._prefer(
                cands, sections, docs)), texts, quoted)
        carried = self._carried(m, topic, 1.0, reading)
        exclude = (self._off_subject(m, quoted)
                   if reading.kind == ELLIPSIS or not self._picks_out(m, topic, docs) else set())
        outcome = search(carried, exclude=exclude,
                         prefer=lambda cands: self._prefer(cands, sections, docs))
        return Topic(carried, outcome, texts, quoted)

    def _leaves_medication(self, m: Query, reading: Reading, topic: Topic) -> bool:
        """Whether `m` puts a subject of its own in place of the medicine the topic asked about
        ("and injections?" after "can I take ibuprofen for it?"): the medicine was what was asked,
        not the patient's condition, so the new question is judged on its own words. A reference
        or a continuation ("how much of it?", "what else?") still asks about the medicine."""
        if topic.outcome.coverage.reason != "medication" or reading.kind != ELLIPSIS:
            return False
        new = [t for ts in self.lexical.terms(self._new_words(m, topic)) for t in ts]
        if not new or asks_about_medication(m.search_text):
            return False
        idf, unseen = idf_and_unseen(self.lexical, new)
        return any(idf[t] < unseen for t in new)  # a subject the articles name, not "doesnt"

    def _picks_out(self, m: Query, topic: Topic, docs: Collection[int]) -> bool:
        """Whether a reference names anew something the articles speak of ("the quad one" after a
        list of stretches): it picks out part of what was said, which may be quoted again, where
        "how do I make it harder?" asks what was not said."""
        new = self._new_words(m, topic)
        # Words that are neither English nor the articles' ("shouldnt") pick out nothing.
        return bool(new) and self._known_share(" ".join(new), docs, empty=0.0) > 0.0

    def _off_subject(self, m: Query, quoted: set[int]) -> set[int]:
        """The quoted sentences that do not name what a fragment or reference asks about: "and an
        MRI?" after an answer on X-rays is not answered by the X-ray sentences again, while a
        quoted sentence naming MRIs too still may be."""
        mine = content_words(m.search_text)
        own = {t for ts in self.lexical.terms(mine) for t in ts}
        if not own or not quoted:
            return set()
        records = self.store.sentences(sorted(quoted))
        terms = self.lexical.terms([r.text for r in records])
        return {r.idx for r, ts in zip(records, terms)
                if not own & set(ts) and not _clips(mine, words(r.text))}

    def _new_words(self, m: Query, topic: Topic) -> list[str]:
        """The content words `m` names that the topic's messages did not: its new subject, if any
        ("neck" in "what about my stiff neck, any stretches for that?" after a hamstring stretch)."""
        own = content_words(m.search_text)
        if not own:
            return []
        said = {t for ts in self.lexical.terms(content_words(" ".join(topic.texts))) for t in ts}
        return [w for w, ts in zip(own, self.lexical.terms(own)) if not set(ts) <= said]

    def _known_share(self, text: str, docs: Collection[int] = (), empty: float = 1.0) -> float:
        """The idf-weighted share of `text`'s content words that the articles use at all (words
        that are not English words and not in the articles, such as typos, are left out). A word
        that begins a word of the conversation's articles (`docs`) is theirs too: patients clip
        names ("the quad one" for the quadriceps stretch, "pecs"). `empty` when no word counts."""
        content = content_words(text)
        stems = self.lexical.terms(content) if content else []
        pairs = [(w, t[0]) for w, t in zip(content, stems) if t]
        if not pairs:
            return empty
        idf, unseen = idf_and_unseen(self.lexical, (t for _, t in pairs))
        vocabulary: set[str] | None = None
        total = known = 0.0
        for word, stem in pairs:
            seen = idf[stem] < unseen
            if not seen and len(word) >= MIN_CLIPPED and docs:
                if vocabulary is None:
                    vocabulary = self._vocabulary(docs)
                seen = _clips([word], vocabulary)
            if not seen and not simplemma.is_known(word, lang="en"):
                continue
            total += idf[stem]
            known += idf[stem] if seen else 0.0
        return known / total if total else empty

    def _vocabulary(self, docs: Collection[int]) -> set[str]:
        """The words of the given articles, lower-cased."""
        rows = [r for d in sorted(docs) for r in self.store.doc_sentences(d)]
        return {w for rec in self.store.sentences(rows) for w in words(rec.text)}

    def _carried(self, m: Query, topic: Topic, own: float, reading: Reading) -> Query:
        """`m` with the topic's subject: vectors summed, the topic's words after its own.

        The topic was judged covered already and the message's own new words were checked
        (`_known_share`), so coverage only asks that the best sentence score at least
        `abstain_below - FOLLOW_UP_SLACK`."""
        vector = own * np.asarray(m.vector, dtype=np.float32) + CARRY * np.asarray(
            topic.query.vector, dtype=np.float32)
        norm = float(np.linalg.norm(vector))
        vector = vector / norm if norm > 1e-6 else np.asarray(topic.query.vector, dtype=np.float32)
        mine = set(words(m.search_text))
        carried = [w for w in content_words(topic.query.search_text) if w not in mine]
        if topic.outcome.coverage.reason == "medication":
            # The medicine is what the follow-up replaced, not its subject (only such a follow-up
            # gets here with that topic: `_leaves_medication`).
            carried = [w for w in carried if not asks_about_medication(w)]
        elif reading.kind == ELLIPSIS and carried and self._new_words(m, topic):
            # A fragment with a subject of its own puts it in place of the earlier question's
            # most specific word ("and at my desk?" after "how should I sit when cycling?").
            carried = self._without_most_specific(carried)
        carried = carried[:CARRIED_TERMS]
        text = " ".join([m.search_text, *carried]) if own else " ".join(
            [topic.query.search_text, m.search_text])
        return replace(m, search_text=text, vector=vector, subject_text="",
                       abstain_below=self.tuning.abstain_below - FOLLOW_UP_SLACK)

    def _without_most_specific(self, carried: list[str]) -> list[str]:
        """`carried` without the words of its most specific term the articles use (the highest
        idf below never-seen: a word they never use matches nothing anyway), in every form."""
        stems = self.lexical.terms(carried)
        idf, unseen = idf_and_unseen(self.lexical, (t for ts in stems for t in ts))
        seen = {t: v for t, v in idf.items() if v < unseen}
        if not seen:
            return carried
        top = max(seen, key=lambda t: seen[t])
        return [w for w, ts in zip(carried, stems) if top not in ts]

    def _following(self, topic: Topic, quoted: set[int], limit: int) -> list[Candidate]:
        """What follows the previous answer's best sentence in its article, in reading order: the
        rest of its section not yet quoted, else the next section's sentences."""
        selected = topic.outcome.selected
        if not selected:
            return []
        anchor = max(selected, key=lambda c: c.score)
        rows = range(anchor.sentence + 1, self.store.doc_sentences(anchor.doc_idx).stop)
        if not len(rows):
            return []
        out: list[int] = []
        current, crossed = self.store.sections([anchor.sentence])[0], 0
        for row, kind, section in zip(rows, self.store.sentence_kinds(rows),
                                      self.store.sections(list(rows))):
            if not section and kind != "sentence":
                continue  # a heading stands outside the section it opens: no section of its own
            if section != current:
                crossed, current = crossed + 1, section
                if crossed > 1 or out:
                    break
            if kind == "sentence" and row not in quoted:
                out.append(row)
                if len(out) >= limit:
                    break
        score = anchor.score
        return [Candidate(r.idx, r.doc_idx, score, r.text) for r in self.store.sentences(out)]

    def _prefer(self, candidates: list[Candidate], sections: set[tuple[str, ...]],
                docs: set[int]) -> list[Candidate]:
        """Candidates in the previous answer's sections (or articles) first, scores raised."""
        if not candidates:
            return candidates
        in_sections = self.store.sections([c.sentence for c in candidates])
        scored = [replace(c, score=c.score + (SECTION_BONUS if s in sections else
                                              DOC_BONUS if c.doc_idx in docs else 0.0))
                  for c, s in zip(candidates, in_sections)]
        return sorted(scored, key=lambda c: -c.score)
