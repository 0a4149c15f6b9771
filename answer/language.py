"""Which language a question is written in (py3langid, offline), cautious with short English.

langid.py's naive Bayes model is unreliable on a few words ("is swimming ok" reads as Frisian),
so a question counts as another language only when the model is confident AND most of its words
are not English words (simplemma's English dictionary). Short English questions, slang and
misspellings therefore stay English; a sentence in Spanish or German does not.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import simplemma

ENGLISH = "en"
#: langid's normalised probability a non-English label needs.
MIN_CONFIDENCE = 0.90
#: ... and the most of the question's words that may be English words.
MAX_ENGLISH_SHARE = 0.5
#: Fewer letters-only words than this are always read as English.
MIN_WORDS = 3

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


class LanguageDetector:
    """ISO 639-1 code of a text's language ("en" unless clearly another)."""

    def __init__(self) -> None:
        self._identifier: Any = None
        self._lock = threading.Lock()

    def _model(self) -> Any:
        if self._identifier is None:
            with self._lock:
                if self._identifier is None:
                    from py3langid.langid import MODEL_FILE, LanguageIdentifier

                    self._identifier = LanguageIdentifier.from_model_file(MODEL_FILE,
                                                                          norm_probs=True)
        return self._identifier

    def detect(self, text: str) -> str:
        """The language of `text`: "en", or another code when the evidence is clear."""
        words = _WORD.findall(text.lower())
        if len(words) < MIN_WORDS:
            return ENGLISH
        # Mostly English words read as English whatever the model says, so the model is asked
        # only about the rest: most questions never load it (~75 MiB resident, ~0.5 s to load).
        english = sum(simplemma.is_known(w, lang=ENGLISH) for w in words) / len(words)
        if english > MAX_ENGLISH_SHARE:
            return ENGLISH
        code, confidence = self._model().classify(text)
        if code == ENGLISH or confidence < MIN_CONFIDENCE:
            return ENGLISH
        return str(code)
