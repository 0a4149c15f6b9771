"""What each clause of a patient's message says: described, denied, past, or only supposed.

Urgent triage and retrieval both need to know which symptoms the patient actually has now. A
message is cut into clauses; in each, NegEx-style triggers ("no", "not", "never", "without",
"ruled out") are read against two small lexicons, because negation means opposite things in
patients' words:

- negating an ABNORMALITY ("no numbness", "not having any trouble", "not both legs") denies it;
- negating a FUNCTION ("can't feel", "don't get the urge", "couldn't hold it", "haven't peed")
  describes a symptom.

Statements that something is normal ("bladder totally normal", "strength is steady"), that it has
resolved ("that's cleared up", "it went away") or belongs to the distant past ("years ago") deny
too. Supposed symptoms ("if I ever got ...", "in case it happens", "asked whether I'd lost ...")
are kept for retrieval but never count as described.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import simplemma

# Clause boundaries: sentence punctuation, commas, dashes, contrastive conjunctions, and "and/so"
# when a new subject follows ("no numbness and my legs are getting weaker").
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+|(?<=[.!?])(?=[A-Za-z])")
_CLAUSE = re.compile(
    r"[;:,()\[\]]+|\s[-–—]+\s|\.{2,}|\b(?:but|although|though|however|whereas|except|yet|plus)\b"
    r"|\b(?:and|or|so|then|also|because|cause|cos|coz)\s+(?=(?:i|i'm|im|i've|ive|i'd|my|it|it's|its"
    r"|now|the|his|her|their|there|this|that|they|he|she|we|also|then|since|today|yesterday)\b)",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
# Where the story of a symptom's onset begins: "... after lifting", "... ever since the fall".
_ONSET = re.compile(r"\s(?:ever since|since|after|following|from|that (?:started|began|came on))\s",
                    re.IGNORECASE)
# What is left of "Me and my mom have tried ..." when "and my" starts a clause: it says nothing.
_BARE_PRONOUNS = frozenset("i me you he him she her we us they them it".split())
#: Both sides of an onset split have at least this many words ("started after lifting" stays).
MIN_ONSET_WORDS = 2

# Triggers that negate what follows. Inability words ("can't", "unable", "won't") are not among
# them: "can't pee" asserts a problem.
_NEGATION = re.compile(
    r"\b(?:no|not|never|without|nor|none|neither|nothing|nope|zero|free of|absence of|"
    r"ruled? out|rules out|negative for|den(?:y|ies|ied)|"
    r"(?:can'?t|cant|cannot|couldn'?t|wouldn'?t|won'?t|would not|could not) (?:say|tell you|claim)|"
    r"(?:do|does|did|have|has|had|is|are|was|were|ai)n'?t|dont|doesnt|didnt|havent|hasnt|hadnt|"
    r"isnt|arent|wasnt|werent|aint)\b",
    re.IGNORECASE,
)
_INABILITY = re.compile(r"\b(?:can ?no?t|can'?t|cant|couldn'?t|unable|won'?t|wont|wouldn'?t)\b",
                        re.IGNORECASE)
_PERCEPTION = frozenset({"notice", "noticed", "see", "seen", "i", "i've", "ive"})
# "Haven't noticed any numbness", "don't feel any tingling": a perception verb then a named
# abnormality denies it; "don't notice when I need to go", "don't feel anything" describe one.
_SENSING = frozenset({"notice", "see", "spot", "feel", "felt", "experience", "sense"})
_ANY = frozenset({"any", "anything"})
_DETERMINERS = frozenset({"any", "a", "an", "the", "much", "some", "my", "real"})
# After a perception verb only a named abnormality denies: "anything", "pain" or "problems" there
# may be what the patient can no longer feel.
_VAGUE = frozenset({"any", "anything", "pain", "ache", "problem", "problems", "issue", "issues",
                    "trouble", "change", "changes", "difference", "bladder", "bowel", "bowels"})
# Words a double negative may have between its two negations: "it's not like I can't feel my
# legs", "it isn't true that I can't hold it", "not that I can't ...".
_DOUBLE_BRIDGE = frozenset({"like", "that", "true", "the", "case", "as", "if", "i", "i'm", "im",
                            "it", "it's", "its", "is", "so", "exactly", "really", "say", "saying",
                            "though"})
# Post-position triggers (NegEx's "post" list): "numbness in both legs was ruled out by my GP",
# "cauda equina excluded", "the scan came back clear".
_POST_NEGATION = re.compile(
    r"\b(?:(?:was|were|been|is|are|got|get|has|have|'s)\s+)?(?:ruled out|excluded|dismissed)\b"
    r"|\b(?:came|come|comes|coming) back (?:clear|normal|negative|fine|ok|okay)\b"
    r"|\b(?:was|were|is|are|been)\s+(?:negative|clear)\b",
    re.IGNORECASE)
# "nothing in the other leg", "nothing with the bladder", "none down there": nothing somewhere.
_NOTHING_THERE = re.compile(
    r"\b(?:nothing|none|nowhere)\s+(?:at all\s+|whatsoever\s+)?(?:in|on|with|down|around|"
    r"between|below|else|going on)\b", re.IGNORECASE)
_FEELS_WRONG = re.compile(r"\b(?:right|normal|normally|the same|works?|working|feels?|felt)\b")
_ABLE = re.compile(r"\b(?:can|could|able to)\s+(?:still\s+|easily\s+)?([a-z]+)\b")
# Words that make a stated ability a complaint: "I can pee only a little", "can barely walk".
_QUALIFIERS = frozenset("""
only just barely hardly little bit slowly slow dribble dribbles trickle drops sometimes
occasionally struggle struggling effort strain straining push pushing less harder hard difficult
""".split())
# What makes a denial only the story's beginning: "no numbness until this morning".
_UNTIL = re.compile(r"\b(?:until|till|til|up to|up until|at first|before (?:today|yesterday|"
                    r"this|last|now))\b", re.IGNORECASE)
#: A question of at most this many words followed by more text is one the patient answers.
SELF_POSED_WORDS = 2
#: How many words a negation reaches forward (NegEx uses five or six).
NEGATION_REACH = 6

# Words saying something differs from normal: negated, they deny ("nothing unusual"), and after
# a negated function they make it a normal one ("not peeing any differently").
_DIFFERENT = frozenset("different differently unusual unusually weird strange odd abnormal abnormally".split())
# Lemmas whose negation denies a symptom ...
ABNORMALITY = frozenset("""
numb numbness tingle tingling tingly pins needles weak weakness weaker weaken problem problems issue
flag flags
issues trouble troubles difficulty difficulties change changes symptom symptoms sign signs accident
accidents incontinence incontinent leak leaking leakage retention dysfunction loss drop dropping
trip tripping drag dragging both bilateral cauda equina sciatica pain ache tingles
spread spreading worse worsening progress progressing burning buzzing dead heaviness heavy shooting
wrong anaesthesia anesthesia paraesthesia paresthesia groin crotch genital genitals saddle perineum
perineal bladder bowel bowels bum buttock buttocks privates bottom incontinent foot-drop
lose lost losing
""".split()) | _DIFFERENT
# ... and lemmas whose negation describes one.
FUNCTION = frozenset("""
feel sense sensation feeling control hold lift raise move walk stand grip pass go pee wee urinate
piss poo poop empty start stop tell notice realise realize know react respond clench squeeze make
urge work function support bear push flex bend clear wipe finish reach manage climb
sure certain why if whether
""".split())

_NORMAL = re.compile(
    r"\b(?:is|are|was|were|feels?|felt|seems?|looks?|stays?|remains?|been|getting|got|'s|its|"
    r"thats|all|both|totally|completely|perfectly|entirely|100%|still|fully)\s+(?:\w+\s+)?"
    r"(?:fine|normal|normally|ok|okay|good|unaffected|intact|strong|stronger|steady|stable|"
    r"unchanged|improving|better|resolved|clear)\b"
    r"|\b(?:working|functioning) (?:fine|normally|ok|well)\b|\bfull (?:feeling|sensation|strength|"
    r"control)\b|\b(?:improving|improved|recovering)\b"
    r"|\b(?:legs?|strength|power|feeling|sensation|bladder|bowels?|peeing|pee|wee|weeing|stream|"
    r"reflexes|walking|everything|habits?|function|control|waterworks|pooing|pooping|poo|poop)"
    r"\s+(?:\w+\s+)?(?:fine|normal|normally|strong|ok|okay|good|unchanged|intact)\b"
    r"|\bfeel (?:everything|it all|all of it)\b"
    r"|\b(?:can|could|able to)\s+(?:\w+\s+){1,6}(?:fine|normally|ok|okay|without (?:any )?"
    r"(?:problem|problems|trouble|difficulty))\b"
    r"|\b(?:better|stronger|easier) than (?:before|last|yesterday|it was|a (?:week|month))"
    r"|\b(?:strength|power|feeling|sensation|movement)\s+(?:is |are |'s |has |)(?:coming|come) back"
    r"|\bnothing like (?:that|this|it)\b|\bnone of (?:that|this|those|them)\b"
    # "peeing is the same as always", "legs as strong as ever", "bowels are regular"
    r"|\b(?:the )?same as (?:always|usual|ever|before|normal|it was)\b"
    r"|\bas (?:strong|good|normal|usual|steady|solid) as (?:ever|always|before|usual|normal)\b"
    r"|\b(?:is|are|was|were|been|stays?|still)\s+(?:\w+\s+)?regular\b"
    # "the bladder empties fine", "my legs work fine", "I'm fine peeing"
    r"|\b[a-z']+\s+(?:fine|normally|properly)\b|\b(?:i'm|im|i am)\s+(?:\w+\s+)?(?:fine|ok|okay)\b",
    re.IGNORECASE,
)
# Words just before a "fine"/"normal" statement that turn it into a complaint: "can't pee
# properly", "hard to wee normally", "struggling to walk fine".
_NOT_NORMAL_BEFORE = re.compile(
    r"^(?:no|not|never|can'?t|cant|cannot|couldn'?t|won'?t|wont|wouldn'?t|unable|hard|harder|"
    r"difficult|struggle|struggling|trouble|tough|barely|hardly)$|n't$", re.IGNORECASE)
# "is it normal ...?" asks; it does not state that anything is normal.
_ASKS_NORMAL = re.compile(r"^(?:is|are|was|were)\s+(?:it|that|this|they|there|these|those)\b",
                          re.IGNORECASE)
_BARE_NORMAL = re.compile(r"^\s*(?:all |totally |completely |perfectly )?(?:normal|fine|ok|okay|good|"
                          r"unchanged|intact|no change|no changes|same as (?:always|usual|ever))\s*$",
                          re.IGNORECASE)
# "the physio checked the feeling down there and it was normal": a verdict on what the clause
# before it named (it ends the clause, so "it felt fine until today" is not one).
_PRONOUN_VERDICT = re.compile(
    r"^\s*(?:it|that|this|they|those|these|which|everything|all|the results?|results)\s+"
    r"(?:was|were|is|are|'s|came back|come back|felt|feels|seemed|seems|looked|looks)\s+"
    r"(?:all\s+|totally\s+|completely\s+|perfectly\s+|entirely\s+)?(?:normal|fine|ok|okay|good|"
    r"clear|intact|unremarkable)(?:\s+(?:now|too|thankfully|apparently|luckily))?\s*$",
    re.IGNORECASE)
_BARE_NO = re.compile(r"^\s*(?:no|nope|nah|not at all|none|none at all|negative|never|nothing|"
                      r"there'?s none|there is none|there isn'?t any)\s*$", re.IGNORECASE)
# A question about symptoms in general ("why are symptoms in both legs a warning sign?") rather
# than about the patient's own: an open question with no first person in it.
_OPEN_QUESTION = re.compile(r"^\s*(?:what|what's|whats|which|why|how(?! come)|when)\b", re.IGNORECASE)
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|im|i've|ive|i'd|id|me|my|mine|myself)\b", re.IGNORECASE)
_QUESTION_START = re.compile(
    r"^\s*(?:is|are|was|were|does|do|did|can|could|should|would|will|what|why|how|when|which|"
    r"isn't|is it|is that|is this)\b", re.IGNORECASE)
_RESOLVED = re.compile(
    r"\b(?:went away|gone away|go away|goes away|cleared(?: up)?|resolved|settled(?: down)?|"
    r"disappeared|recovered|back to normal|came back to normal|(?:has|have|'s|is) gone"
    r"(?=\s*(?:away|now|completely|$|,|\.))|all gone|no longer there)\b",
    re.IGNORECASE,
)
_LONG_AGO = re.compile(
    r"\b(?:(?:a |two |three |\d+ |many |several |few )?years? ago|last (?:year|summer|winter|"
    r"spring|autumn|fall)|ages ago|decades? ago|as a (?:kid|child|teen(?:ager)?)|when i was "
    r"(?:young|younger|little|a kid|a child|a teenager|pregnant)|in the past|used to)\b",
    re.IGNORECASE,
)
_YEAR = re.compile(r"\b((?:19|20)\d\d)\b")
# "it's been fine ever since", "that's long gone", "antibiotics sorted it": the story before it, in
# the same sentence, is over. A verdict on the patient's present ("fine now") or since the
# episode, never one that is past ("it was fine yesterday" tells when a symptom began) or that
# holds only in some position ("fine when I lie down" describes an intermittent symptom).
_OVER = re.compile(
    r"(?:^|\b(?:and|but|so)\s+)(?:(?:it|that|this|all|everything|which)(?:'s|s| is| has)?\s+)?"
    r"(?:(?:has|have|'s|is)\s+)?(?:been\s+)?(?:all\s+|totally\s+|completely\s+|perfectly\s+|absolutely\s+)?"
    r"(?:(?:fine|perfect|normal|ok|okay|good|great|clear)\s+(?:(?:ever\s+)?since|by (?:the )?(?:morning|next day))"
    r"|(?:long\s+)?gone(?:\s+(?:now|since|ages ago))?\s*$|back to normal|wears? off|wore off|"
    r"(?:has|have)n'?t (?:happened|come back|returned) since|never (?:happened|came back|returned) "
    r"(?:again|since)|"
    r"(?:\w+\s+){0,2}(?:sorted|fixed|cleared) (?:it|that|them)(?: up)?\s*$)",
    re.IGNORECASE)
# "it's never changed", "always have", "had it for decades": the story before it, in the same
# sentence, is long-standing and unchanged: context for what is new, not itself new.
_LONG_STANDING = re.compile(
    r"^(?:(?:and|but|so)\s+)?(?:(?:it|that|this|they)(?:'s|s| is| has| have)?\s+)?"
    r"(?:(?:never|not|hasn'?t|haven'?t|has not)\s+(?:really\s+)?changed|not new|nothing new|no different|"
    r"(?:exactly\s+)?the same(?: as (?:ever|always))?\s*$|always (?:have|has|had|been)(?: done| been)?\s*$|"
    r"(?:i'?ve\s+|i have\s+)?(?:had|done|been like)\s+(?:it|that|this)\s+for\s+(?:about\s+|over\s+)?"
    r"(?:years|decades|ages|\d+\s+years|\w+\s+years)|for (?:decades|years and years)|all my life|"
    r"(?:been\s+)?(?:steady|stable)(?:\s+for\b.*)?$|not getting (?:any )?worse)",
    re.IGNORECASE)
# An outcome that closes a story told before it: "... and it turned out to be a UTI".
_OUTCOME = re.compile(r"\b(?:turned out|ended up (?:having|needing|getting) (?:an? |the )?(?:op|operation|surgery))\b",
                      re.IGNORECASE)
# Reading or hearsay: "I've read that both legs is a red flag", "the list says ...".
_REPORTED = re.compile(
    r"\b(?:i'?ve read|i have read|i read|i saw online|(?:it|the \w+|that \w+) says|according to)\b",
    re.IGNORECASE)
# A question about somebody in general: "should someone with leg weakness avoid hangs?"
_GENERIC_PERSON = re.compile(r"\b(?:someone|somebody|anyone|anybody|people|a person|patients)\b",
                             re.IGNORECASE)
# "only my left leg", "one-sided": says where symptoms are NOT as much as where they are.
_ONE_SIDED = re.compile(
    r"\b(?:only|just|solely)\s+(?:been\s+|ever\s+)?(?:in\s+|on\s+|down\s+)?(?:my\s+|the\s+)?"
    r"(?:one|left|right|l|r)\b"
    r"|\b(?:one|single)[- ]sided\b|\bunilateral\b|\bon one side\b"
    r"|\b(?:in|on|down|into)\s+(?:just\s+|only\s+)?(?:the\s+)?one\s+(?:leg|side|foot|calf|thigh|buttock|hip)\b"
    r"|\bone (?:leg|side) only\b", re.IGNORECASE)
_SINCE = re.compile(r"\bsince\b", re.IGNORECASE)
# A conditional or reported clause that only supposes a symptom.
_SUPPOSED_ALWAYS = re.compile(
    r"\b(?:in case(?! it (?:matters|helps|is relevant|'s relevant|makes a difference))|what if|suppose|supposing|hypothetically|whether|one day|some ?day|"
    r"in (?:the )?future|(?<!only )(?<!than )ever(?=\s+\w)(?! since| before| so| been)|watch(?: out)? for|look out for|"
    r"keep an eye on|(?:asked|asks|asking|checked|checks|tested|tests) (?:me )?(?:about|for|whether|"
    r"if))\b",
    re.IGNORECASE,
)
_IF = re.compile(r"\b(?:if|should i|were i)\b", re.IGNORECASE)
# "can a pinched nerve cause leg weakness?", "does sciatica affect the bladder?": asks what a
# condition can do, not what the patient has (a first person in it makes it the patient's own).
_CAUSAL_QUESTION = re.compile(
    r"^\s*(?:can|could|does|do|will|would|might|may|is it possible (?:that|for))\b.*\b(?:cause[sd]?|"
    r"affects?|lead(?:s)? to|result(?:s)? in|bring(?:s)? on|trigger(?:s)?|give you|make you)\b",
    re.IGNORECASE)
# Only a conditional about a symptom that would begin counts as supposed: "if I cough I leak" is
# a present symptom, "if I get numbness in both legs" is not.
_INCHOATIVE = re.compile(
    r"\b(?:gets? (?:any|new|some|symptoms?|signs?|an?|numb|weak)|develops?|developed|notice|"
    r"noticed|starts? to|started to|begins? to|began to|happens?|happened|experience|experienced|"
    r"were to|was to|would|'d|will)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Clause:
    """One clause of a message and what it does with the symptoms it names."""

    text: str
    sentence: int  # which sentence of the message it belongs to
    denied: bool = False  # denies, calls normal, or says it has resolved
    past: bool = False  # context only: long past ("used to") or one-sided ("only my left leg")
    supposed: str = ""  # the part that only supposes ("if I ever ..."), cut from `described`
    onset: bool = False  # the story of the onset of the clause before it, split from it

    @property
    def described(self) -> str:
        """What the clause says the patient has (empty when denied); a `past` clause describes
        only together with its neighbour ("it used to be my left leg" + "now both")."""
        if self.denied:
            return ""
        if self.supposed:
            rest = self.text[: len(self.text) - len(self.supposed)].strip(" ,")
            return rest if len(rest.split()) >= 2 else ""
        return self.text


def normalise_apostrophes(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")


#: Languages whose words are lemmatised. Each simplemma dictionary costs about 70 MB resident
#: (measured: English plus five bank languages took a replica from 220 to 575 MB); other
#: languages keep their words as written, and the scorer's letter n-grams match their forms.
LEMMATISED = frozenset({"en"})


@lru_cache(maxsize=65536)
def lemma(word: str, lang: str = "en") -> str:
    """simplemma's lemma of one lower-cased word (cached: the same words recur all day); the
    word itself in a language outside LEMMATISED."""
    if lang not in LEMMATISED:
        return word
    try:
        return simplemma.lemmatize(word, lang=lang).lower()
    except ValueError:  # a language simplemma does not know
        return word


def words(text: str) -> list[str]:
    """Lower-cased word tokens, apostrophes normalised."""
    return _WORD.findall(normalise_apostrophes(text).lower())


def lemmas(text: str, lang: str = "en") -> list[str]:
    """The lemmas of `text`'s words."""
    return [lemma(w, lang) for w in words(text)]


def split_clauses(text: str) -> list[tuple[str, int]]:
    """(clause, sentence number) for every non-empty clause of `text`."""
    out: list[tuple[str, int]] = []
    for n, sentence in enumerate(s for s in _SENTENCE.split(normalise_apostrophes(text)) if s):
        for part in _CLAUSE.split(sentence):
            part = (part or "").strip(" .!?\t")
            if part and _WORD.search(part) and part.lower() not in _BARE_PRONOUNS:
                out.append((part, n))
    return out


def _onset_split(clause: str) -> list[str]:
    """A symptom and when or how it began as two clauses ("groin numb" | "after deadlifts on
    monday"): the story of its onset would otherwise dilute what the symptom is. Triage still
    reads the two together as neighbours."""
    match = _ONSET.search(clause)
    if not match:
        return [clause]
    head, tail = clause[: match.start()].strip(), clause[match.start():].strip()
    if len(_WORD.findall(head)) < MIN_ONSET_WORDS or len(_WORD.findall(tail)) < MIN_ONSET_WORDS:
        return [clause]
    return [head, tail]


def analyse(text: str) -> list[Clause]:
    """Every clause of `text`, marked denied or supposed where it is."""
    # The reader, triage and retrieval all read the same message, and every turn of a
    # conversation sends the earlier messages again: each text is analysed once.
    return list(_analysed(text))


@lru_cache(maxsize=4096)
def _analysed(text: str) -> tuple[Clause, ...]:
    return tuple(_analyse(text))


def _analyse(text: str) -> list[Clause]:
    sentences = _sentences(text)
    asked_self = _self_posed(sentences)
    clauses: list[Clause] = []
    supposing = -1  # the sentence in which a supposition began: the rest of it is supposed too
    for part, sentence in split_clauses(text):
        if supposing == sentence:
            clauses.append(Clause(part, sentence, False, False, part))
            continue
        resolved = _resolved(part)
        # "bowels: normal", "had my bladder checked, all good" (but "numb down there, normal?" asks)
        verdict = (bool(_BARE_NORMAL.match(part) or _PRONOUN_VERDICT.match(part))
                   and not sentences[sentence].rstrip().endswith("?"))
        if clauses and (((resolved or verdict) and clauses[-1].sentence == sentence)
                        or _BARE_NO.match(part)):
            # "I had numbness after a long ride, but it went away" / "Numb down there? No.": the
            # earlier clause is denied by this one.
            prev = clauses[-1]
            clauses[-1] = Clause(prev.text, prev.sentence, True, prev.past, prev.supposed)
        denied = resolved or verdict or bool(_BARE_NO.match(part)) or _denies(part)
        if denied and clauses and clauses[-1].sentence in asked_self and clauses[-1].sentence == sentence - 1:
            prev = clauses[-1]  # "Numbness? I don't have any.": the answer denies the question
            clauses[-1] = Clause(prev.text, prev.sentence, True, prev.past, prev.supposed)
        supposed = "" if denied else _supposed(part)
        if supposed:
            supposing = sentence
        elif not denied and (reported := _REPORTED.search(part)):
            supposed = part[reported.start():]  # hearsay supposes only what it reports
        context = _long_past(part) or _one_sided(part) or sentence in asked_self
        clauses.append(Clause(part, sentence, denied, context, supposed))
    clauses = _closed_stories(clauses)
    # Read whole, told in pieces: what a clause denies, puts in the past or supposes holds for
    # both its symptom and its onset.
    return [Clause(piece, c.sentence, c.denied, c.past, c.supposed, onset=i > 0)
            for c in clauses
            for i, piece in enumerate(_onset_split(c.text) if not c.supposed else [c.text])]


def _closed_stories(clauses: list[Clause]) -> list[Clause]:
    """A clause that closes the story told before it in its sentence reaches back over that
    story: "it's been fine ever since" denies it, "it's never changed" / "it turned out to be a
    UTI" make it context (long-standing or explained: counted only next to something new)."""
    out = list(clauses)
    for i, c in enumerate(clauses):
        low = normalise_apostrophes(c.text).strip()
        over = bool(_OVER.search(low))
        if not (over or _LONG_STANDING.search(low) or _OUTCOME.search(low)):
            continue
        # The verdict itself tells only the story's end: not something the patient has now.
        out[i] = Clause(c.text, c.sentence, c.denied or over, True, c.supposed)
        for j in range(i - 1, -1, -1):
            p = out[j]
            if p.sentence != c.sentence:
                break
            out[j] = Clause(p.text, p.sentence, p.denied or over, p.past or not over, p.supposed)
    return out


def _sentences(text: str) -> list[str]:
    """The sentences of `text`, numbered as `split_clauses` numbers them."""
    return [s for s in _SENTENCE.split(normalise_apostrophes(text)) if s]


def _self_posed(sentences: list[str]) -> set[int]:
    """Sentences that are a one- or two-word question the patient answers next ("Numbness? Only
    a little patch on my foot."): context for the answer, never a description on their own."""
    return {n for n, s in enumerate(sentences[:-1])
            if s.rstrip().endswith("?") and len(words(s)) <= SELF_POSED_WORDS}


def described_text(text: str) -> str:
    """`text` without the clauses that deny symptoms: what retrieval should look for."""
    clauses = analyse(text)
    kept = [c for c in clauses if not c.denied]
    if not kept or len(kept) == len(clauses):
        return text
    # Sentences stay sentences, so later stages can still tell the story from the question.
    out = kept[0].text
    for prev, c in zip(kept, kept[1:]):
        out += (" " if c.onset else ", " if c.sentence == prev.sentence else ". ") + c.text
    return out


def _denies(clause: str) -> bool:
    low = normalise_apostrophes(clause).lower()
    if _UNTIL.search(low):
        return False  # "no numbness until this morning": the denial is the story's beginning
    tokens = words(low)
    for trigger in _NEGATION.finditer(low):
        if _INABILITY.fullmatch(trigger.group(0)):
            continue
        before = len(_WORD.findall(low[: trigger.end()]))
        if _negated_abnormality(tokens[before: before + NEGATION_REACH], trigger.group(0)):
            return True
    if _post_negated(low) or _nothing_there(low):
        return True
    if _QUESTION_START.match(low) or _OPEN_QUESTION.match(low):
        return False
    if _still_able(low, tokens):
        return True
    for match in _NORMAL.finditer(low):
        if _ASKS_NORMAL.match(match.group(0)):
            continue
        # "I don't feel normal down there", "can't pee properly" are symptoms.
        if not any(_NOT_NORMAL_BEFORE.search(w) or _NEGATION.fullmatch(w)
                   for w in words(low[: match.start()])[-NEGATION_REACH:]):
            return True
    return False


def _negated_abnormality(following: list[str], trigger: str) -> bool:
    """Whether the words after a negation trigger deny an abnormality (NegEx forward scope,
    stopped by a function word: "don't feel the urge" is a symptom)."""
    # "can't say I've noticed any changes": perception words are part of the denial there.
    transparent = _PERCEPTION if trigger.endswith(("say", "tell you", "claim")) else frozenset()
    sensing = pending = False
    for i, word in enumerate(following):
        base = lemma(word)
        if base in transparent:
            continue
        if all(w in _DOUBLE_BRIDGE for w in following[:i]):
            if _INABILITY.fullmatch(word):
                return True  # "it's not like I can't feel my legs": a double negative denies
            if word in _DOUBLE_BRIDGE and any(_INABILITY.fullmatch(w) for w in following[i + 1:]):
                continue
        if sensing:
            if word in _DETERMINERS:
                continue
            return (base in ABNORMALITY or word in ABNORMALITY) and word not in _VAGUE
        if base in _SENSING or word in _SENSING:
            sensing = True  # "haven't noticed any numbness" vs "don't notice when I need to go"
            continue
        if word in _ANY:
            pending = True  # "don't have any" denies, "don't have any feeling" does not
            continue
        if base in FUNCTION or word in FUNCTION:
            # "not peeing myself": wetting oneself, denied; "haven't peed": retention, a symptom
            return (following[i + 1: i + 2] == ["myself"]
                    or any(w in _DIFFERENT for w in following[i + 1:]))
        if base in ABNORMALITY or word in ABNORMALITY or word == "myself":
            return True
    return pending


def _still_able(low: str, tokens: list[str]) -> bool:
    """"I can still feel when I need to go", "I'm able to walk": an ability stated plainly, with
    no abnormality, no negation and no qualifier ("I can only just pee", "can barely walk")."""
    match = _ABLE.search(low)
    if not match or lemma(match.group(1)) not in FUNCTION:
        return False
    return not any(lemma(w) in ABNORMALITY or w in ABNORMALITY or w in _QUALIFIERS
                   or _NEGATION.fullmatch(w) or _INABILITY.fullmatch(w) for w in tokens)


def _post_negated(low: str) -> bool:
    """"numbness in both legs was ruled out": an abnormality named just before a post-position
    trigger."""
    for trigger in _POST_NEGATION.finditer(low):
        before = words(low[: trigger.start()])[-NEGATION_REACH:]
        if any(lemma(w) in ABNORMALITY or w in ABNORMALITY
               for w in before):
            return True
    return False


def _nothing_there(low: str) -> bool:
    """"nothing in the other leg", "nothing with the bladder" deny; "I feel nothing down there"
    describes numbness."""
    for match in _NOTHING_THERE.finditer(low):
        if _FEELS_WRONG.search(low[match.end():]):
            continue  # "nothing in my legs feels right" is a symptom
        before = words(low[: match.start()])[-2:]
        if not any(lemma(w) in FUNCTION or lemma(w) in _SENSING or w in _SENSING for w in before):
            return True
    return False


def _resolved(clause: str) -> bool:
    match = _RESOLVED.search(clause)
    if not match:
        return False
    before = words(clause[: match.start()])[-3:]
    # "hasn't gone away", "won't go away", "can't make it go away" are ongoing
    return not any(_NEGATION.fullmatch(w) or _INABILITY.fullmatch(w) for w in before)


def _general_question(clause: str) -> bool:
    """A question about symptoms in general, not the patient's own: what they mean, what a
    condition can cause, what somebody should do ("does 'bilateral' mean both legs?")."""
    if _FIRST_PERSON.search(normalise_apostrophes(clause)):
        return False
    return bool(_OPEN_QUESTION.match(clause) or _CAUSAL_QUESTION.match(clause)
                or (_QUESTION_START.match(clause) and _GENERIC_PERSON.search(clause)))


def _long_past(clause: str) -> bool:
    match = _LONG_AGO.search(clause) or _past_year(clause)
    return bool(match) and not _SINCE.search(clause[: match.start()])


def _past_year(clause: str) -> re.Match[str] | None:
    """"back in 2016", "my op in 2021": a calendar year before this one."""
    this_year = date.today().year
    return next((m for m in _YEAR.finditer(clause) if int(m.group(1)) < this_year), None)


def _one_sided(clause: str) -> bool:
    return bool(_ONE_SIDED.search(clause))


def _supposed(clause: str) -> str:
    """The tail of the clause that only supposes a symptom ("" when nothing is supposed)."""
    if _general_question(clause):
        return clause
    always = _SUPPOSED_ALWAYS.search(clause)
    if always:
        return clause[always.start():]
    for cond in _IF.finditer(clause):
        tail = clause[cond.start():]
        if _INCHOATIVE.search(tail):
            return tail
    return ""
