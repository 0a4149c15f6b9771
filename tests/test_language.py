"""Which language a question is in (answer/language.py), and when the model is asked at all."""

from __future__ import annotations

from groundedqa.answer.language import LanguageDetector


def test_a_mostly_english_question_is_english_without_loading_the_model():
    detector = LanguageDetector()
    assert detector.detect("can I deadlift with a pinched nerve in my lower back?") == "en"
    assert detector._identifier is None


def test_a_question_in_another_language_is_read_by_the_model():
    detector = LanguageDetector()
    assert detector.detect("¿puedo hacer peso muerto con un nervio pinzado en la espalda?") == "es"
    assert detector._identifier is not None


def test_slang_and_misspellings_that_the_model_reads_as_english_stay_english():
    assert LanguageDetector().detect("ma bak iz killin me bruv cnt sleep") == "en"
