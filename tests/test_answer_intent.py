"""What a question asks: its type by general patterns, the shape of a sentence answering it, and
the words that single it out from its topic."""

from __future__ import annotations

import pytest

from groundedqa.answer.intent import (distinctive_weights, has_answer_shape, question_type,
                                      term_incidence, weighted_share)


@pytest.mark.parametrize("question, expected", [
    ("how long should I hold a hamstring stretch", "how_long"),
    ("for how many minutes can i cycle", "how_long"),
    ("how many sets of rows should i do", "how_many"),
    ("what percentage of people recover without surgery", "how_many"),
    ("which moves should i steer clear of with sciatica", "what_to_avoid"),
    ("anything i should avoid at the gym?", "what_to_avoid"),
    ("how is a slipped disc diagnosed", "how_diagnosed"),
    ("do i need an mri first", "how_diagnosed"),
    ("what if the pain spreads to my foot", "what_if"),
    ("when can i run again", "when"),
    ("why does sitting make it worse", "why"),
    ("what kind of stretches help", "which"),
    ("how do i do a bridge", "how_to"),
    ("whats a pinched nerve", "what_is"),
    ("is swimming ok with a bad back", "yes_no"),
    ("tell me about knees", "other"),
])
def test_question_types_by_general_patterns(question, expected):
    assert question_type(question) == expected


def test_answer_shape_for_how_long_is_a_duration():
    fit = [has_answer_shape("how_long", t) for t in [
        "Hold for 20-30 seconds.", "Keep your back straight.", "Rest for two weeks before running."]]
    assert fit == [True, False, True]


def test_answer_shape_for_what_to_avoid_names_avoidance():
    fit = [has_answer_shape("what_to_avoid", t) for t in [
        "Steer clear of heavy lifting.", "Walking is great exercise.", "Sit-ups are not recommended."]]
    assert fit == [True, False, True]


def test_types_without_a_shape_add_nothing():
    assert [has_answer_shape("yes_no", t) for t in ["Yes, you can.", "No."]] == [False, False]


def test_topic_words_every_candidate_shares_weigh_nothing():
    pool = [{"nerv", "plank"}, {"nerv", "walk"}, {"nerv", "swim"}]
    weights = distinctive_weights(["nerv", "plank"], {"nerv": 1.0, "plank": 1.0}, pool)
    assert weights["nerv"] == 0.0 and weights["plank"] > 0.5


def test_the_sentence_naming_the_specific_ask_holds_its_weight():
    pool = [{"nerv", "plank"}, {"nerv", "walk"}]
    share = weighted_share(distinctive_weights(["nerv", "plank"], {"nerv": 2.0, "plank": 1.0}, pool), pool)
    assert share.tolist() == [1.0, 0.0]


def test_term_incidence_marks_which_text_holds_which_term():
    pool = [frozenset({"nerv", "plank"}), frozenset({"walk"}), frozenset()]
    held = term_incidence(["plank", "nerv", "walk"], pool)
    assert held.tolist() == [[True, True, False], [False, False, True], [False, False, False]]


def test_shares_from_a_given_incidence_equal_the_computed_ones():
    pool = [{"nerv", "plank"}, {"nerv", "walk"}, {"swim"}]
    terms = ["nerv", "plank", "swim"]
    idf = {"nerv": 0.3, "plank": 1.7, "swim": 1.1}
    held = term_incidence(terms, pool)
    weights = distinctive_weights(terms, idf, pool, held)
    assert weights == distinctive_weights(terms, idf, pool)
    assert weighted_share(weights, pool, held).tolist() == weighted_share(weights, pool).tolist()
    assert weighted_share(idf, pool).tolist() == [
        pytest.approx((0.3 + 1.7) / 3.1), pytest.approx(0.3 / 3.1), pytest.approx(1.1 / 3.1)]
