"""How a message relates to the conversation, from its words alone (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from groundedqa.answer.conversation import (
    ELLIPSIS, ELSE, MORE, REFERENCE, SHIFT, STANDALONE, read_message, reading_of, without_topic_cue)
from groundedqa.answer.types import Query


@pytest.mark.parametrize("message", ["and for rack pulls?", "what about swimming?", "twisting?"])
def test_fragments_are_elliptical(message):
    assert read_message(message).kind == ELLIPSIS


@pytest.mark.parametrize("message, kind", [("tell me more", MORE), ("go on", MORE),
                                           ("what else?", ELSE), ("anything else to avoid?", ELSE)])
def test_continuations(message, kind):
    reading = read_message(message)
    assert reading.kind == kind and reading.needs_antecedent


@pytest.mark.parametrize("message", ["is that one better?", "and the quad one?",
                                     "how do I make it harder", "and if that doesnt work?"])
def test_references_without_a_subject_need_an_antecedent(message):
    reading = read_message(message)
    assert reading.kind == REFERENCE and reading.needs_antecedent


@pytest.mark.parametrize("message", ["how long do i hold each stretch",
                                     "what if it hurts while im stretching"])
def test_references_naming_their_subject_can_be_read_alone(message):
    assert not read_message(message).needs_antecedent


@pytest.mark.parametrize("message", ["can I deadlift with a pinched nerve?",
                                     "is it ok to swim during spinal decompression therapy?"])
def test_complete_questions_stand_alone(message):
    assert read_message(message).kind == STANDALONE


def test_a_new_topic_is_announced():
    assert read_message("another thing: is deadlifting good for sciatica?").kind == SHIFT


@pytest.mark.parametrize("message, searched", [
    ("new question, during decompression what do i do if it hurts", "during decompression what do i do if it hurts"),
    ("ok totally different: whats the evidence for dead hangs", "whats the evidence for dead hangs"),
    ("btw can i swim with sciatica", "can i swim with sciatica"),
])
def test_the_announcement_of_a_new_topic_is_not_searched(message, searched):
    assert without_topic_cue(message) == searched


@pytest.mark.parametrize("message", ["something else hurts too", "another thing"])
def test_words_that_are_not_set_off_from_the_cue_are_kept(message):
    assert without_topic_cue(message) == message


def test_a_message_searched_without_its_announcement_still_starts_a_new_topic():
    message = "different question: is deadlifting good for sciatica?"
    query = Query(asked=message, text=message, search_text=without_topic_cue(message),
                  vector=np.zeros(4, dtype=np.float32), limit=5)
    assert reading_of(query).kind == SHIFT


def test_a_reference_opening_like_a_fragment_brings_up_a_subject():
    reading = read_message("what about my stiff neck, any stretches for that?")
    assert reading.kind == REFERENCE and reading.fragment
    assert not read_message("how do I make it harder").fragment
