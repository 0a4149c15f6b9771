"""classify_spans(): sentences that are not the article's content get their own kind, content stays."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.builders import make_doc
from groundedqa.ingest.build import prepare
from groundedqa.ingest.clean import clean
from groundedqa.ingest.models import NON_CONTENT_KINDS, SPAN_KINDS, SourceDoc
from groundedqa.ingest.segment import segment_doc
from groundedqa.ingest.sentence_kinds import classify_spans
from groundedqa.index.records import KIND_CODES
from groundedqa.settings import Settings

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def _kinds(page: str, *, publisher: str | None = None) -> dict[str, str]:
    """Sentence text -> kind for a plain-text page, through clean and segment as ingest runs them."""
    doc = clean(page, "text")
    return {s.text: s.kind for s in classify_spans(segment_doc(doc), doc, publisher=publisher)}


def _page(*paragraphs: str) -> str:
    return "\n\n".join(["Knee Pain After Running", *paragraphs]) + "\n"


def _body_kinds(*paragraphs: str) -> set[str]:
    """The kinds of a page's sentences (its title heading left out)."""
    return set(_kinds(_page(*paragraphs)).values()) - {"heading"}


def _kind(sentence: str, *, after: str = "", publisher: str | None = None) -> str:
    """The kind of `sentence` on a page, in one paragraph after the sentences `after`."""
    return _kinds(_page(f"{after} {sentence}".strip()), publisher=publisher)[sentence]


# --------------------------------------------------------------------------- call to action


def test_invitation_to_contact_the_clinic_is_a_call_to_action():
    kinds = _kinds(_page("Runner's knee settles with graded loading. Not sure where to start? "
                         "Get in touch with our team."))
    assert kinds["Get in touch with our team."] == "call_to_action"
    assert kinds["Runner's knee settles with graded loading."] == "sentence"


def test_booking_pitch_is_a_call_to_action():
    after = "Most runners need a tailored plan to recover."
    assert _kind("Book your free running assessment today.", after=after) == "call_to_action"


def test_named_clinic_with_a_pitch_is_a_call_to_action():
    sentence = "Don't let knee pain slow you down – contact Riverside Physio today to arrange a visit."
    assert _kind(sentence, after="Patellar taping can ease pain on stairs.") == "call_to_action"


def test_ask_us_after_a_question_is_a_call_to_action():
    after = "A soft brace can help on long runs. Unsure which brace suits you?"
    assert _kind("Just ask us!", after=after) == "call_to_action"


def test_telling_the_reader_to_seek_care_stays_content():
    assert _body_kinds(
        "Call 999 if you lose control of your bladder. Contact your GP if the swelling has not gone down "
        "after a week. Call our office right away if the wound starts to bleed. Schedule an appointment "
        "with your doctor if the pain persists."
    ) == {"sentence"}


def test_referral_to_another_organisation_stays_content():
    sentence = "To find a hand therapist near you, contact the Hand Therapy Society for more information."
    assert _kind(sentence) == "sentence"


# --------------------------------------------------------------------------- promotion


def test_at_any_capitalised_name_we_is_promotion():
    sentence = "At Harbourside Physiotherapy, we believe every runner deserves a plan of their own."
    assert _kind(sentence) == "promotion"


def test_at_a_named_practice_is_promotion_whoever_the_subject():
    sentence = "At Northgate Sports Clinic, physiotherapists combine gait analysis with strength work."
    assert _kind(sentence) == "promotion"


def test_publisher_from_metadata_catches_its_own_name_in_any_case():
    sentence = "physio4all offers early and late appointments for runners who work."
    assert _kind(sentence) == "sentence"
    assert _kind(sentence, publisher="physio4all, Bristol") == "promotion"


def test_praise_of_the_clinic_team_is_promotion():
    sentence = "Our team of chartered physiotherapists is dedicated to getting you back on the pitch."
    assert _kind(sentence) == "promotion"


def test_list_of_services_is_promotion():
    assert _kind("We also offer sports massage and acupuncture at both of our clinics.") == "promotion"


def test_testimonial_is_promotion():
    quote = "“Six sessions in, I was running pain-free again!” – Priya, club runner"
    praise = "I would highly recommend this clinic to anyone with knee pain."
    kinds = _kinds(_page(quote, praise))
    assert (kinds[quote], kinds[praise]) == ("promotion", "promotion")


def test_we_and_our_in_clinical_advice_stay_content():
    assert _body_kinds(
        "We recommend starting with 10-15 second holds. We usually advise patients to rest for 48 hours. "
        "Our physiotherapists recommend keeping the knee straight during the lift. Our bodies adapt to load "
        "gradually. At first, the exercise may feel awkward. At 6 weeks, most patients can jog again."
    ) == {"sentence"}


# --------------------------------------------------------------------------- meta


def test_article_announcing_its_plan_is_meta():
    assert _kind("In today's post, we'll cover three stretches for a stiff lower back.") == "meta"


def test_section_announcing_its_content_is_meta():
    assert _kind("Below, we explain the most common causes of heel pain.") == "meta"


def test_pointer_to_an_earlier_post_is_meta():
    sentence = "In my previous post on shin splints, I described the three stages of bone stress."
    assert _kind(sentence) == "meta"


def test_guessing_the_readers_question_is_meta():
    sentence = "So you've tweaked your back and you're probably wondering whether to rest or keep moving."
    assert _kind(sentence) == "meta"


def test_reading_prompts_and_closings_are_meta():
    sentences = [
        "Read on to find out which stretches are safe.",
        "Let's take a closer look at each one.",
        "The aim of this guide is to help you return to running safely.",
        "We hope you found this guide useful.",
    ]
    kinds = _kinds(_page(" ".join(sentences[:2]), " ".join(sentences[2:])))
    assert [kinds[s] for s in sentences] == ["meta"] * 4


def test_summing_up_the_tips_is_meta():
    assert _kind("These suggestions should help you get through a flare-up.") == "meta"


def test_what_exercises_do_stays_content():
    paragraph = "These exercises can help reduce stiffness. These stretches ease the calf."
    assert _body_kinds(paragraph) == {"sentence"}


def test_references_to_the_page_inside_content_stay_content():
    assert _body_kinds(
        "As mentioned above, ice can ease swelling in the first 48 hours. This exercise will strengthen your "
        "glutes. The stretches described in this section should not be done on a fresh injury.",
        "The following tips can help you prevent a flare-up:",
    ) == {"sentence"}


# --------------------------------------------------------------------------- disclaimer


def test_site_disclaimer_is_a_disclaimer():
    assert _body_kinds(
        "The content of this blog is general information and is not a substitute for professional advice. "
        "This article is for educational purposes only. Please consult your physiotherapist before trying "
        "any of the exercises in this post."
    ) == {"disclaimer"}


def test_advice_to_consult_a_clinician_stays_content():
    assert _body_kinds(
        "If the pain radiates further, discontinue and consult your clinician. Always check with your doctor "
        "before starting a new exercise programme. Massage eases muscle tension, but it is not a substitute "
        "for medical care."
    ) == {"sentence"}


# --------------------------------------------------------------------------- byline


def test_author_and_date_lines_left_in_the_body_are_bylines():
    kinds = _kinds(_page(
        "Posted on 4 March 2024 by Tom Reid. Plantar fasciitis is the most common cause of heel pain in "
        "adults, and it usually settles within a year.",
        "Calf stretches ease the pull on the plantar fascia.",
        "Tom Reid, MSc, MCSP",
    ))
    assert kinds["Posted on 4 March 2024 by Tom Reid."] == "byline"
    assert kinds["Tom Reid, MSc, MCSP"] == "byline"
    assert kinds["Calf stretches ease the pull on the plantar fascia."] == "sentence"


def test_by_a_weekday_stays_content():
    assert _kind("By Monday, most of the swelling should have gone down.") == "sentence"


# --------------------------------------------------------------------------- residue


def test_figure_table_and_credit_lines_are_residue():
    lines = ["Figure 3", "Table 2: Weekly loading plan", "Image credit: Pexels",
             "Source: Health Service Executive", "The graph below shows how pain eases over twelve weeks."]
    doc = make_doc(("heading", "Heel Pain", 1), *[("paragraph", line) for line in lines])
    kinds = {s.text: s.kind for s in classify_spans(segment_doc(doc), doc)}
    residue = ["Figure 3", "Weekly loading plan", "Pexels", "Health Service Executive", lines[-1]]
    assert [kinds[text] for text in residue] == ["residue"] * 5
    assert kinds["Table 2:"] == "label"


def test_lone_numbers_and_bare_urls_are_residue():
    doc = make_doc(("paragraph", "4"), ("paragraph", "https://www.example-physio.ie/exercises"),
                   ("paragraph", "harbourphysio.co.uk"))
    assert {s.kind for s in classify_spans(segment_doc(doc), doc)} == {"residue"}


def test_numbers_and_tables_inside_sentences_stay_content():
    paragraph = "Table 1 shows that most runners recover within 8 weeks. 3 sets of 10 is plenty."
    assert _body_kinds(paragraph) == {"sentence"}


# --------------------------------------------------------------------------- the pipeline


def test_headings_labels_and_questions_are_left_alone():
    doc = make_doc(("heading", "Contact Us Today", 2), ("paragraph", "Walking: Walking is easy on the knee."),
                   ("paragraph", "Can I run with knee pain?"))
    spans = segment_doc(doc)
    assert classify_spans(spans, doc) == spans


def test_prepare_stores_the_kinds_with_the_publisher_from_metadata():
    page = _page("Ice helps in the first two days. Kneecare Physio offers same-day appointments.")
    doc = SourceDoc("knee", page, "text", "knee.txt", metadata={"publisher": "Kneecare Physio, Leeds"})
    data = prepare(doc, Settings(), "hash")
    assert [(s.kind, s.text) for s in data.spans if s.kind != "heading"] == [
        ("sentence", "Ice helps in the first two days."),
        ("promotion", "Kneecare Physio offers same-day appointments."),
    ]


def test_stored_codes_keep_the_first_four_kinds_where_they_were():
    assert SPAN_KINDS[:4] == ("sentence", "heading", "label", "question")
    assert [KIND_CODES[kind] for kind in SPAN_KINDS] == list(range(len(SPAN_KINDS)))
    assert NON_CONTENT_KINDS < set(SPAN_KINDS) and "sentence" not in NON_CONTENT_KINDS


# --------------------------------------------------------------------------- the seed articles

# Every seed sentence classified as non-content, reviewed by hand: none is a sentence a
# physiotherapist would quote as an answer.
SEED_NON_CONTENT = [
    ("001", "meta", "If you’re dealing with a pinched nerve in your back, you may be wondering if it’s "
                    "safe to workout."),
    ("001", "meta", "Here’s what you need to know."),
    ("001", "meta", "Let’s look at the different types of exercises that are best for a pinched nerve."),
    ("001", "meta", "These tips should help you protect yourself against further injury while still "
                    "reaping all the benefits of physical activity—keep proper form as your top priority!"),
    ("001", "meta", "In this article, we will look at the different treatment options and how they can "
                    "help you manage a pinched nerve in your back."),
    ("001", "meta", "This section will cover how to create a safe exercise routine that can help you "
                    "strengthen your back while still avoiding further injury."),
    ("002", "meta", "In our previous blog post “Is deadlifting good for your back,” I cited a study that "
                    "suggests deadlift training is most effective in treating mechanical back pain when the "
                    "patients have manageable pain levels, minimal disability, and moderate back and hip "
                    "extensor strength."),
    ("002", "meta", "The purpose of this post is to illustrate how deadlifting can be safely implemented "
                    "into rehab programs in patients with back pain."),
    ("002", "disclaimer", "This is not medical advice for anyone with back pain to start deadlifting."),
    ("003", "meta", "If you’re undergoing spinal decompression therapy, you might be wondering whether "
                    "it’s safe—or even beneficial—to continue working out."),
    ("003", "meta", "In this blog, we’ll explore how to balance exercise with spinal decompression, what "
                    "movements to avoid, and how to stay safely active during your treatment journey."),
    ("003", "meta", "If you're receiving spinal decompression therapy, you might be wondering: Can I still "
                    "work out?"),
    ("003", "promotion", "At The Spinal Decompression Center, we often incorporate gentle movement and "
                         "exercise recommendations as part of a comprehensive care plan."),
    ("003", "call_to_action", "If you’re unsure about a specific activity, ask us!"),
    ("003", "promotion", "At The Spinal Decompression Center, we tailor recommendations based on your "
                         "diagnosis, treatment progress, and lifestyle goals."),
    ("003", "promotion", "If you’re starting therapy and want to stay active, we’ll help you find the right "
                         "balance."),
    ("003", "call_to_action", "Contact The Spinal Decompression Center today to schedule your consultation "
                              "and get a personalized plan for pain relief and safe activity."),
]


def _seed_non_content(*, with_publisher: bool) -> list[tuple[str, str, str]]:
    seeds = sorted(CORPUS.glob("00[0-3]_*.txt"))
    if len(seeds) < 4:
        pytest.skip("seed articles not found in corpus/")
    manifest = tomllib.loads((CORPUS / "manifest.toml").read_text(encoding="utf-8"))
    publishers = {entry["file"]: entry.get("publisher") for entry in manifest["documents"]}
    found = []
    for path in seeds:
        doc = clean(path.read_text(encoding="utf-8"), "text")
        publisher = publishers.get(path.name) if with_publisher else None
        spans = classify_spans(segment_doc(doc), doc, publisher=publisher)
        found += [(path.name[:3], s.kind, s.text) for s in spans if s.kind in NON_CONTENT_KINDS]
    return found


def test_seed_sentences_classified_as_non_content_are_exactly_the_reviewed_list():
    assert _seed_non_content(with_publisher=True) == SEED_NON_CONTENT


def test_seed_noise_is_found_without_publisher_metadata():
    assert _seed_non_content(with_publisher=False) == SEED_NON_CONTENT
