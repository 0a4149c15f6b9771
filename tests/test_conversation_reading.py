"""How a message relates to the conversation, from its words alone (no model)."""

from __future__ import annotations

import pytest

from groundedqa.answer.conversation import (
    ELLIPSIS, ELSE, MORE, REFERENCE, SHIFT, STANDALONE, read_message)


@pytest.mark.parametrize("message", ["and for rack pulls?", "what about swimming?", "twisting?"])
def test_fragments_are_elliptical(message):
    assert read_message(message).kind == ELLIPSIS


@pytest.mark.parametrize("message, kind", [("tell me more", MORE), ("go on", MORE),
                                           ("what else?", ELSE), ("anything else to avoid?", ELSE)])
def test_continuations(message, kind):
    reading = read_message(message)
    assert reading.kind == kind and reading.needs_antecedent


@pytest.mark.parametrize("message", ["is that one better?", "and the quad one?",
                                     "how do I make it harder"])
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
