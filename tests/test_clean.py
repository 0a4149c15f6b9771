"""clean(): page furniture goes, the article stays, and kept sentences are verbatim."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from groundedqa.ingest.clean import clean
from groundedqa.ingest.models import CleanDoc

_REPO = Path(__file__).resolve().parents[1]


def _seed_dir() -> Path:
    corpus = _REPO / "corpus"
    if sorted(corpus.glob("00[0-3]_*.txt")):
        return corpus
    return _REPO.parent / "shared" / "seeds"


SEEDS = _seed_dir()
DEAD_HANGS, PINCHED_NERVE, DEADLIFT, DECOMPRESSION = (
    "000_94bdc03a8410763d.txt",
    "001_b802c674ca9f8b5e.txt",
    "002_9a3342159c3c7d39.txt",
    "003_4f7d9e3f3be2be8f.txt",
)
ALL_SEEDS = [DEAD_HANGS, PINCHED_NERVE, DEADLIFT, DECOMPRESSION]


def _raw(name: str) -> str:
    path = SEEDS / name
    if not path.is_file():
        pytest.skip(f"seed page {path} not found")
    return path.read_text(encoding="utf-8")


def _clean_seed(name: str) -> CleanDoc:
    return clean(_raw(name), "text")


def _norm(text: str) -> str:
    return " ".join(text.split())


def _block_texts(doc: CleanDoc) -> list[str]:
    return [doc.text[b.start : b.end] for b in doc.blocks]


def _structure(doc: CleanDoc) -> list[tuple[str, str]]:
    return [(b.kind, doc.text[b.start : b.end]) for b in doc.blocks]


def _sentences(doc: CleanDoc) -> list[str]:
    return [s for block in _block_texts(doc) for s in re.split(r"(?<=[.!?])\s+", block) if s]


# --------------------------------------------------------------------------- seed pages


def test_related_questions_section_is_removed():
    text = _clean_seed(DEAD_HANGS).text
    for word in ("Related Questions", "dialysis", "Adderall", "ranitidine", "prothrombin", "pica"):
        assert word not in text


def test_lorem_ipsum_wrapped_over_lines_is_removed():
    text = _clean_seed(DEADLIFT).text
    assert "Lorem" not in text and "Mauris porta" not in text and "adipiscing" not in text


def test_working_hours_and_socials_are_removed():
    text = _clean_seed(DEADLIFT).text
    for furniture in ("Working hours", "Monday", "07:00", "21:00", "Sunday Closed", "Our socials"):
        assert furniture not in text


def test_follow_up_marketing_and_professional_disclaimer_are_removed():
    text = _clean_seed(DEAD_HANGS).text
    for furniture in (
        "Have a follow-up question",
        "Our Medical A.I.",
        "Professional Medical Disclaimer",
        "healthcare professionals",
    ):
        assert furniture not in text


def test_personalize_widget_is_removed():
    text = _clean_seed(DEAD_HANGS).text
    for furniture in ("Personalize", "Help us tailor", "Which best describes you", "Your choice helps us"):
        assert furniture not in text


def test_review_status_widget_and_banners_are_removed():
    doc = _clean_seed(DEAD_HANGS)
    for furniture in (
        "Article Review Status",
        "Under Review",
        "Medical Advisory Board",
        "Educational purpose only",
        "Last updated",
        "editorial policy",
    ):
        assert furniture not in doc.text
    assert not {"Submitted", "Approved"} & set(_block_texts(doc))


def test_video_prompt_and_similar_posts_are_removed():
    text = _clean_seed(PINCHED_NERVE).text
    assert "Checkout this video" not in text and "Similar Posts" not in text


def test_comments_and_blog_meta_under_title_are_removed():
    doc = _clean_seed(DECOMPRESSION)
    blocks = _block_texts(doc)
    assert "Comments" not in blocks
    assert "2 min read" not in doc.text and "Jul 21" not in doc.text
    assert "Spinal Decompression Center" not in blocks  # the byline bullet, not the clinic's sentences


def test_site_header_above_title_is_removed():
    doc = _clean_seed(DEADLIFT)
    assert "SoFloPT" not in doc.text
    assert _block_texts(doc)[0] == "Deadlifting After Back Pain"


def test_author_byline_is_removed():
    assert "Written by" not in _clean_seed(DEADLIFT).text


@pytest.mark.parametrize(
    ("seed", "sentence"),
    [
        (DEAD_HANGS, "Stop dead-hangs and seek urgent evaluation if you develop:"),
        (DEAD_HANGS, "Bilateral leg symptoms"),
        (
            DEAD_HANGS,
            "New difficulties with urination (hesitancy, poor stream, urgency with preserved control)",
        ),
        (
            DEAD_HANGS,
            "The standard conservative therapy duration is 6-12 weeks before considering surgical intervention.",
        ),
        (PINCHED_NERVE, "In severe cases, loss of bladder or bowel control may occur."),
        (
            PINCHED_NERVE,
            "In certain cases, an MRI may be recommended to assess any damage of the soft tissue, such as v ertebral discs.",
        ),
        (
            DEADLIFT,
            "Low back pain is the most common type of pain reported by patients and is the leading global cause of disability.",
        ),
        (DEADLIFT, "This is not medical advice for anyone with back pain to start deadlifting."),
        (
            DECOMPRESSION,
            "Spinal decompression therapy gently stretches the spine to relieve pressure on spinal discs and nerves.",
        ),
        (DECOMPRESSION, "Twisting movements, which can irritate healing discs"),
    ],
)
def test_named_article_sentences_are_kept_verbatim(seed, sentence):
    assert sentence in _clean_seed(seed).text


def test_red_flag_items_are_list_item_blocks():
    structure = _structure(_clean_seed(DEAD_HANGS))
    assert ("list_item", "Bilateral leg symptoms") in structure
    assert ("list_item", "Subjective or objective loss of perineal sensation") in structure


@pytest.mark.parametrize("seed", ALL_SEEDS)
def test_every_kept_sentence_stands_in_the_source(seed):
    source = _norm(_raw(seed))
    missing = [s for s in _sentences(clean(_raw(seed), "text")) if _norm(s) not in source]
    assert missing == []


@pytest.mark.parametrize("seed", ALL_SEEDS)
def test_blocks_locate_their_text_and_tile_it(seed):
    doc = _clean_seed(seed)
    assert doc.text == "\n\n".join(_block_texts(doc))
    assert all(b.kind in ("heading", "paragraph", "list_item") for b in doc.blocks)
    assert all(text == text.strip() and text for text in _block_texts(doc))


def test_no_citation_marker_survives_after_p_values():
    text = _clean_seed(DEAD_HANGS).text
    assert "(p < .01)" in text and "(p < .61)." in text
    assert not re.search(r"\(p < \.\d+\)\.?\s*\d", text)


def test_citation_markers_between_and_after_sentences_are_stripped():
    doc = _clean_seed(DEAD_HANGS)
    assert "sub-acute lumbosacral radiculopathy. Specifically, these" in doc.text
    assert "which requires emergency surgical decompression." in _block_texts(doc)[-1]
    assert not re.search(r"[.)]\s+\d(?:,\s*\d)*(?:\n|$)", doc.text)
    assert ("list_item", "Restricted activity during the acute phase") in _structure(doc)


def test_numbers_that_are_content_are_kept():
    text = _clean_seed(DEAD_HANGS).text
    for content in (
        "6-12 weeks",
        "75-90%",
        "(10-15 seconds)",
        "Perform 3 sets with 1-minute rest",
        "S1 nerve root",
    ):
        assert content in text


@pytest.mark.parametrize(
    ("seed", "title"),
    [
        (
            DEAD_HANGS,
            "Is it safe for a patient with acute S1 sacral radiculopathy and a history of weight training "
            "to perform dead-hangs for spinal decompression?",
        ),
        (PINCHED_NERVE, "Can I Workout with a Pinched Nerve in My Back?"),
        (DEADLIFT, "Deadlifting After Back Pain"),
        (DECOMPRESSION, "Can I Do Spinal Decompression and Work Out? Understanding Recovery and Activity"),
    ],
)
def test_title_is_the_first_heading(seed, title):
    doc = _clean_seed(seed)
    assert doc.title == title
    assert (doc.blocks[0].kind, doc.blocks[0].level) == ("heading", 1)


def test_standalone_question_line_is_a_heading():
    assert ("heading", "What is a pinched nerve?") in _structure(_clean_seed(PINCHED_NERVE))


def test_label_lines_stay_prose_not_headings():
    kinds = dict((text[:8], kind) for kind, text in _structure(_clean_seed(PINCHED_NERVE)))
    assert kinds["Walking:"] == "paragraph"


def test_lines_after_a_colon_become_list_items():
    structure = _structure(_clean_seed(DECOMPRESSION))
    assert ("list_item", "Heavy lifting, especially overhead or with poor form") in structure
    assert ("heading", "What Exercises Should Be Avoided?") in structure


def test_reference_lists_are_metadata_not_text():
    deadlift, dead_hangs = _clean_seed(DEADLIFT), _clean_seed(DEAD_HANGS)
    assert any(r.startswith("Wu A, March L, Zheng X, et al.") for r in deadlift.references)
    assert "Wu A" not in deadlift.text and "doi" not in deadlift.text
    assert "Acute Cervical Radiculopathy in Weight Lifters." in dead_hangs.references
    assert "Weight Lifters" not in dead_hangs.text and "References" not in dead_hangs.text


def test_decoration_symbol_before_a_paragraph_is_dropped():
    text = _clean_seed(DEADLIFT).text
    assert "⊗" not in text
    assert "\n\nThis is not medical advice" in text


# --------------------------------------------------------------------------- synthetic pages

ARTICLE_HTML = """<!doctype html>
<html><head><title>Managing Sciatica at Home | Riverside Physio</title>
<script>var tracker = "Back pain tracker";</script><style>.a{color:red}</style></head>
<body class="single-post has-sidebar">
<header><a href="/">Riverside Physio</a>
  <nav><ul><li><a href="/">Home</a></li><li><a href="/about">About us</a></li></ul></nav></header>
<div id="cookie-banner">We use cookies to improve your experience. <button>Accept</button></div>
<div class="breadcrumbs"><a href="/">Home</a> &rsaquo; <a href="/blog">Blog</a></div>
<main><article>
  <header class="entry-header"><h1>Managing Sciatica at Home</h1><p>By Jane Doe, PT</p><p>March 3, 2024</p></header>
  <p>Sciatica is pain that travels along the sciatic nerve,
     from the lower back down one leg.</p>
  <h2>When to seek help</h2>
  <p>See a doctor urgently if you notice any of the following:</p>
  <ul><li>Numbness in the groin or buttocks</li><li>Loss of bladder control</li></ul>
  <div class="share-buttons"><a href="#">Share on Facebook</a> <a href="#">Tweet</a></div>
  <h2>Related articles</h2>
  <ul><li><a href="/a">Is coffee bad for your kidneys?</a></li><li><a href="/b">Ten tips for better sleep</a></li></ul>
</article>
<aside><h3>Popular posts</h3><ul><li><a href="/c">Knee pain explained</a></li></ul></aside>
<section class="comments"><h3>3 Comments</h3><p>Great post, thanks!</p></section>
</main>
<footer><p>&copy; 2024 Riverside Physio. All rights reserved.</p></footer>
</body></html>"""


def test_html_page_keeps_only_the_article_with_its_structure():
    doc = clean(ARTICLE_HTML, "html")
    assert _structure(doc) == [
        ("heading", "Managing Sciatica at Home"),
        (
            "paragraph",
            "Sciatica is pain that travels along the sciatic nerve, from the lower back down one leg.",
        ),
        ("heading", "When to seek help"),
        ("paragraph", "See a doctor urgently if you notice any of the following:"),
        ("list_item", "Numbness in the groin or buttocks"),
        ("list_item", "Loss of bladder control"),
    ]
    assert doc.title == "Managing Sciatica at Home"
    assert [b.level for b in doc.blocks if b.kind == "heading"] == [1, 2]


def test_html_chrome_is_found_by_class_and_role_without_an_article_element():
    page = """<html><body>
      <div class="top-menu"><a href="/">Home</a> <a href="/services">Services</a></div>
      <div role="navigation"><a href="/x">Shoulder pain</a></div>
      <h1>Frozen Shoulder</h1>
      <div class="content"><p>Frozen shoulder causes stiffness and pain in the shoulder joint.</p></div>
      <div class="newsletter-signup"><p>Get weekly tips in your inbox.</p></div>
      <div class="sidebar"><p>Our clinic has been voted the best in town.</p></div>
      <p style="display:none">Hidden promotional text for search engines.</p>
    </body></html>"""
    assert _structure(clean(page, "html")) == [
        ("heading", "Frozen Shoulder"),
        ("paragraph", "Frozen shoulder causes stiffness and pain in the shoulder joint."),
    ]


def test_html_title_falls_back_to_the_title_element():
    doc = clean(
        "<html><head><title>Heel Pain | Foot Clinic</title></head><body><p>Heel pain is common.</p></body></html>",
        "html",
    )
    assert doc.title == "Heel Pain"
    assert doc.text == "Heel pain is common."


FURNITURE_TEXT = """Home
About Us
Services
Contact

Knee Osteoarthritis: What Helps

By Sam Lee
April 2, 2024
4 min read

Knee osteoarthritis is a common cause of knee pain in adults over 50. Exercise is one of the most effective treatments.

Exercise Options

Cycling and swimming load the joint gently. Step 3 of the programme adds light squats for 10 seconds at a time.

Share: Facebook | Twitter | Email

You may also like

How to choose running shoes
Is coffee bad for you?
Best mattresses of 2024

Lorem ipsum dolor sit amet, consectetur
adipiscing elit. Sed do eiusmod tempor
incididunt ut labore.

Opening Hours
Mon - Fri: 9am - 5pm
Saturday: 10am - 2pm
Sunday: Closed

Call us: (555) 123-4567
"""


def test_text_page_furniture_is_removed_and_article_kept():
    doc = clean(FURNITURE_TEXT, "text")
    assert _structure(doc) == [
        ("heading", "Knee Osteoarthritis: What Helps"),
        (
            "paragraph",
            "Knee osteoarthritis is a common cause of knee pain in adults over 50. "
            "Exercise is one of the most effective treatments.",
        ),
        ("heading", "Exercise Options"),
        (
            "paragraph",
            "Cycling and swimming load the joint gently. "
            "Step 3 of the programme adds light squats for 10 seconds at a time.",
        ),
    ]


def test_short_symptom_list_of_the_article_is_kept():
    doc = clean(
        "Flu Basics\n\nThe flu is a contagious illness caused by influenza viruses.\n\n"
        "Common symptoms include:\n\nFever\nCough\nMuscle aches\n\nMost people recover within two weeks.\n",
        "text",
    )
    items = [text for kind, text in _structure(doc) if kind == "list_item"]
    assert items == ["Fever", "Cough", "Muscle aches"]
    assert "Most people recover within two weeks." in doc.text


def test_list_items_separated_by_blank_lines_are_kept_as_items():
    doc = clean(
        "Symptoms\n\nThese are the usual signs:\n\nFever\n\nChills\n\nFatigue\n\nRest and fluids help.\n",
        "text",
    )
    assert [t for k, t in _structure(doc) if k == "list_item"] == ["Fever", "Chills", "Fatigue"]


def test_questions_listed_without_answers_are_removed_but_faq_answers_kept():
    doc = clean(
        "Sciatica FAQ\n\nWhat is sciatica?\n\nSciatica is pain along the sciatic nerve, usually in one leg.\n\n"
        "Can kidney stones cause fever?\nWhat is the best diet for gout?\nIs ibuprofen safe in pregnancy?\n",
        "text",
    )
    assert "What is sciatica?" in doc.text and "Sciatica is pain along the sciatic nerve" in doc.text
    assert "kidney" not in doc.text and "gout" not in doc.text and "ibuprofen" not in doc.text


def test_boilerplate_sentence_inside_prose_is_dropped_alone():
    doc = clean(
        "Gout is a form of arthritis. It is caused by uric acid crystals. Click here to learn more about gout.",
        "text",
    )
    assert doc.text == "Gout is a form of arthritis. It is caused by uric acid crystals."


def test_trailing_numbers_of_list_items_survive_when_the_page_does_not_cite_by_number():
    doc = clean("Diabetes Types\n\nThere are two main forms:\n\n- Type 1\n- Type 2\n", "text")
    assert [t for k, t in _structure(doc) if k == "list_item"] == ["Type 1", "Type 2"]


def test_heading_whose_section_was_all_furniture_is_dropped():
    doc = clean(
        "Back Care\n\nKeep moving every day.\n\nStay in touch\n\nSubscribe to our newsletter for weekly tips.\n",
        "text",
    )
    assert _structure(doc) == [("heading", "Back Care"), ("paragraph", "Keep moving every day.")]


MARKDOWN = """# Managing Gout

Gout is a form of inflammatory arthritis. It causes sudden, severe attacks of pain.[1]

## Symptoms

- Intense joint pain
- Redness and swelling

Read our [guide to diet](https://example.org/diet) for **more** on *purines*.

## You may also like

- [Ten foods for healthy joints](/a)
- [Is coffee good for you?](/b)

## References

1. Smith J, Doe A. Gout management. *BMJ*. 2020;368:m12. doi:10.1136/bmj.m12
"""


def test_markdown_keeps_visible_text_and_structure():
    doc = clean(MARKDOWN, "markdown")
    assert _structure(doc) == [
        ("heading", "Managing Gout"),
        ("paragraph", "Gout is a form of inflammatory arthritis. It causes sudden, severe attacks of pain."),
        ("heading", "Symptoms"),
        ("list_item", "Intense joint pain"),
        ("list_item", "Redness and swelling"),
        ("paragraph", "Read our guide to diet for more on purines."),
    ]
    assert doc.title == "Managing Gout"


def test_markdown_reference_section_goes_to_references():
    doc = clean(MARKDOWN, "markdown")
    assert doc.references == ["Smith J, Doe A. Gout management. BMJ. 2020;368:m12. doi:10.1136/bmj.m12"]


def test_empty_input_gives_an_empty_doc():
    doc = clean("  \n\n ", "text")
    assert (doc.text, doc.blocks, doc.title, doc.references) == ("", [], None, [])


def test_unknown_format_is_rejected():
    with pytest.raises(ValueError, match="unknown source format"):
        clean("text", "rtf")  # type: ignore[arg-type]


def test_sentences_starting_with_by_are_not_bylines():
    doc = clean(
        "Back Pain\n\nBy Monday, most patients feel better.\n\nBy stretching daily, you reduce pain.\n",
        "text",
    )
    assert "By Monday, most patients feel better." in doc.text
    assert "By stretching daily, you reduce pain." in doc.text


def test_number_that_starts_a_sentence_before_an_acronym_is_not_a_marker():
    doc = clean(
        "Rest helps. 1 Ice helps too. 2 Most girls with it are healthy. 47 XXX syndrome is often undiagnosed.",
        "text",
    )
    assert (
        doc.text
        == "Rest helps. Ice helps too. Most girls with it are healthy. 47 XXX syndrome is often undiagnosed."
    )


def test_html_line_breaks_split_lines_and_bold_reference_label_starts_references():
    page = """<html><body><h1>Plantar Fasciitis</h1>
      <div>Plantar fasciitis causes heel pain.<br>It is worst in the morning.<br><br>
      Try these stretches:<br>- Calf stretch<br>- Towel stretch</div>
      <p><strong>References</strong></p><p>Smith J, Lee K. Heel pain. <i>Foot Ankle</i>. 2019;40(2):1-9.</p>
      <p>Opening hours<br>Mon&ndash;Fri 9:00&ndash;17:00<br>Sat closed</p></body></html>"""
    doc = clean(page, "html")
    assert _structure(doc) == [
        ("heading", "Plantar Fasciitis"),
        ("paragraph", "Plantar fasciitis causes heel pain."),
        ("paragraph", "It is worst in the morning."),
        ("paragraph", "Try these stretches:"),
        ("list_item", "Calf stretch"),
        ("list_item", "Towel stretch"),
    ]
    assert doc.references == ["Smith J, Lee K. Heel pain. Foot Ankle. 2019;40(2):1-9."]


def test_pages_that_indent_every_paragraph_keep_them_as_paragraphs():
    doc = clean(
        "Leukemia Basics\n\n    Leukemia is a cancer of the blood.\n\n    It starts in the bone marrow.\n\n"
        "    - Fever\n    - Easy bruising\n",
        "text",
    )
    assert [k for k, _ in _structure(doc)] == ["heading", "paragraph", "paragraph", "list_item", "list_item"]


def test_hard_wrapped_paragraph_is_joined_and_the_heading_above_stays_apart():
    doc = clean(
        "Understanding Sciatica\nSciatica is pain that follows the sciatic nerve from the\n"
        "lower back into one leg. It usually gets better on its own\nwithin a few weeks.\n",
        "text",
    )
    assert _structure(doc) == [
        ("heading", "Understanding Sciatica"),
        (
            "paragraph",
            "Sciatica is pain that follows the sciatic nerve from the lower back into one leg. "
            "It usually gets better on its own within a few weeks.",
        ),
    ]


def test_every_kept_sentence_of_an_html_page_stands_in_its_visible_text():
    from bs4 import BeautifulSoup

    visible = _norm(BeautifulSoup(ARTICLE_HTML, "lxml").get_text(" "))
    assert all(_norm(s) in visible for s in _sentences(clean(ARTICLE_HTML, "html")))
