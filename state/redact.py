"""Obvious identifiers out of patients' text before it is stored: emails, phone numbers, dates
and long numbers become placeholders such as "[email]".

Regular expressions, because what is asked for is the obvious: the tools that find names and
addresses (Presidio and the like) need language models this service cannot download.
"""

from __future__ import annotations

import re

_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
          r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"

#: (pattern, placeholder), applied in this order: a date's digits must not read as a number.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+", re.IGNORECASE), "[email]"),
    (re.compile(
        r"\b(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"            # 2024-03-05
        r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"              # 05/03/2024, 5.3.24
        rf"|{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?"  # 5th of March 2024
        rf"|{_MONTH}\s+{_DAY}(?:,?\s+\d{{4}})?"          # March 5, 2024
        rf"|{_MONTH}\s+\d{{4}})\b",                      # March 2024
        re.IGNORECASE), "[date]"),
    # Seven or more digits with the separators phone numbers are written with.
    (re.compile(r"(?<![\w+])\+?\(?\d(?:[\s().-]{0,2}\d){6,}\b"), "[phone]"),
    (re.compile(r"\b\d{5,}\b"), "[number]"),
)


def redact(text: str) -> str:
    """`text` with emails, dates, phone numbers and runs of 5+ digits replaced by placeholders."""
    for pattern, placeholder in _RULES:
        text = pattern.sub(placeholder, text)
    return text
