"""Does a question ask about medicines: which to take, how much, with what, on prescription?

Those questions go to the patient's doctor or pharmacist, who know their health and their other
medicines, even when an article names a drug in passing. A question counts when it names a
medicine and asks anything about it, or asks about doses and prescriptions outright.

A medicine is recognised by its class ("painkillers", "muscle relaxants", "NSAIDs"), by a common
over-the-counter or brand name, or by the endings that international non-proprietary names share
by drug family (-profen, -azepam, -pentin, -codone, -statin, ...), so drugs never listed here are
caught too. An injection given as a treatment ("steroid shots", "epidural injection") is a
procedure the articles may describe, not a medication question.
"""

from __future__ import annotations

import re

from groundedqa.answer.normalise import split_sentences

_CLASSES = (
    r"medications?|medicines?|meds|drugs?|pills?|tablets?|capsules?|painkillers?|pain ?killers?|"
    r"pain relievers?|anti-?inflammator(?:y|ies)|nsaids?|opioids?|opiates?|narcotics?|"
    r"muscle relaxants?|relaxants?|antidepressants?|anti-?depressants?|antibiotics?|sedatives?|"
    r"sleeping pills|benzos?|steroids?|corticosteroids?|supplements?|vitamins?|blood thinners?|"
    r"anticoagulants?"
)
_NAMES = (
    r"aspirin|ibuprofen|advil|motrin|nurofen|aleve|naproxen|tylenol|paracetamol|acetaminophen|"
    r"panadol|codeine|co-?codamol|co-?dydramol|morphine|oxycodone|oxycontin|tramadol|fentanyl|"
    r"valium|xanax|lyrica|neurontin|cbd|thc|cannabis|marijuana|kratom|turmeric|creatine|"
    r"melatonin|insulin|warfarin|metformin|adderall|voltaren|deep heat|tiger balm|lidocaine|"
    r"prednisone|prednisolone|cortisone|ozempic|viagra"
)
# Endings shared by international non-proprietary names of one drug family.
_INN_ENDINGS = (
    r"profen|fenac|coxib|oxicam|azepam|azolam|zolam|codone|morphone|adol|pentin|gabalin|"
    r"triptyline|ptyline|oxetine|pramine|traline|xetine|olol|pril|sartan|statin|cillin|mycin|"
    r"cycline|floxacin|prazole|tidine|dronate|isone|olone|caine|carbamol|etamol|xaban|parin|"
    r"gliptin|formin|glitazone|lukast|tadine|setron|triptan|afil|vir|mab|nib|zodone|apine|"
    r"idone|peridol|amine"
)
_PROCEDURE = r"\s+(?:shots?|injections?|jabs?|epidurals?|infusions?)\b"
_MEDICINE = re.compile(
    rf"\b(?:{_CLASSES}|{_NAMES})\b(?!{_PROCEDURE})|\b[a-z]{{2,}}(?:{_INN_ENDINGS})\b(?!{_PROCEDURE})",
    re.IGNORECASE,
)
# Words that end like a drug family but are everyday English.
_NOT_MEDICINES = frozenset("""
examine determine famine vitamine shine spine swine urine wine mine line fine nine pine machine
routine feline canine saline marine engine genuine masculine feminine doctrine discipline
amine vir idone
""".split())
_DOSE = re.compile(
    r"\b(?:dose|doses|dosage|dosing|overdose|\d+\s?(?:mg|mcg|ml|milligrams?|micrograms?)|mg|"
    r"milligrams?|prescri(?:be|bed|bing|ption|ptions)|refills?|how many (?:pills|tablets|capsules)|"
    r"side effects?|taper(?:ing)?|wean(?:ing)? off)\b",
    re.IGNORECASE,
)


_NOT_A_DRUG = re.compile(r"\b(?:non[- ]?drugs?|drug[- ]free|without (?:any )?(?:drugs|medications?|"
                         r"medicines?|pills|meds))\b|\bis (?:the best )?medicine\b", re.IGNORECASE)
#: A message of at most this many sentences is all question, even without a question form.
SHORT_MESSAGE = 2
# A sentence that asks or requests something; statements in a story ("I take four medicines",
# "she starts her first dose on Thursday") are context, not the question.
_ASKING = re.compile(
    r"\?\s*$|^\s*(?:what|what's|whats|how|which|when|why|can|could|should|shall|is|are|am|do|does|"
    r"did|will|would|may|might|list|give|tell|show|recommend|suggest|explain|please|pls|any)\b|"
    r"\b(?:how much|how many|want to know|wondering|advice|advise|maximum|max|too much|safe to)\b",
    re.IGNORECASE,
)


def asking_sentences(question: str) -> list[str]:
    """The sentences of a message that ask or request something (the story around them left
    out); a short message counts whole."""
    sentences = split_sentences(question)
    asking = [s for s in sentences if _ASKING.search(s)]
    if not asking and len(sentences) <= SHORT_MESSAGE:
        asking = sentences  # "gabapentin dose for sciatica": short, unpunctuated, still a question
    return asking


def asks_about_medication(question: str) -> bool:
    """True when the question asks about medicines, their doses or prescriptions."""
    return any(_mentions_medicine(_NOT_A_DRUG.sub(" ", s)) for s in asking_sentences(question))


def _mentions_medicine(text: str) -> bool:
    if _DOSE.search(text):
        return True
    return any(m.group(0).lower() not in _NOT_MEDICINES for m in _MEDICINE.finditer(text))
