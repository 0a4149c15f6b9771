"""Rules that drop page furniture from a parsed page's blocks, each by shape, never by one site's strings.

Sections under furniture headings, runs of short menu-like lines, the site header, the byline run
under the title, boilerplate blocks and sentences, and runs of bare questions.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from groundedqa.ingest.blocks import TWO_SENTENCES, RawBlock, n_words, runs, with_text
from groundedqa.ingest.boilerplate import (
    SHORT_LINE_WORDS,
    is_boilerplate,
    is_boilerplate_sentence,
    is_furniture_heading,
    is_furniture_line,
    is_meta_line,
    is_nav_line,
    is_site_name_line,
)

__all__ = ["drop_furniture"]


def _is_short_line(block: RawBlock) -> bool:
    # The size of a menu entry, a widget label or an opening-hours line, without closing punctuation.
    text = block.text
    return n_words(text) <= SHORT_LINE_WORDS and not re.search(r"[.!?:][\"'”’)\]]*$", text)


def _is_prose(block: RawBlock) -> bool:
    return block.kind != "heading" and n_words(block.text) >= 8 and bool(re.search(r"[.!?]", block.text))


def _drop_furniture_sections(blocks: list[RawBlock]) -> list[RawBlock]:
    """Drop a furniture heading ("Related Questions", "Comments", ...) and its whole section."""
    out: list[RawBlock] = []
    skip_level: int | None = None
    for block in blocks:
        if skip_level is not None:
            # A furniture-looking heading ("Sunday: Closed" under "Opening hours") does not end it.
            if block.kind == "heading" and block.level <= skip_level and not is_boilerplate(block):
                skip_level = None
            else:
                continue
        if block.kind == "heading" and is_furniture_heading(block.text):
            skip_level = block.level
            continue
        out.append(block)
    return out


def _drop_site_header(blocks: list[RawBlock]) -> list[RawBlock]:
    """A first short line shaped like a site name ("Clinic: City, ST", "Site | Tagline") above the title."""
    if len(blocks) >= 2 and blocks[1].kind == "heading" and is_site_name_line(blocks[0].text):
        return blocks[1:]
    return blocks


def _drop_byline_run(blocks: list[RawBlock]) -> list[RawBlock]:
    """Drop the short meta lines right under the title (site name, date, "2 min read")."""
    start = 1 if blocks and blocks[0].kind == "heading" else 0
    end = start
    while end < len(blocks) and end - start < 6 and _is_short_line(blocks[end]):
        end += 1
    run = blocks[start:end]
    if end < len(blocks) and run and run[-1].kind == "heading" and _is_prose(blocks[end]):
        run, end = run[:-1], end - 1  # the last short line introduces the body: a real heading
    if len(run) >= 2 and any(is_meta_line(b.text) for b in run):
        return blocks[:start] + blocks[end:]
    return blocks


_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[\"“‘(]?[A-Z])")


def _without_boilerplate(block: RawBlock) -> RawBlock | None:
    """Drop a boilerplate block, or only the boilerplate sentences ("Click here to ...") of prose."""
    if is_furniture_line(block):
        return None
    sentences = _SENTENCE_BREAK.split(block.text)
    if len(sentences) < 2:
        return None if is_boilerplate_sentence(block.text) else block
    kept = [s for s in sentences if not is_boilerplate_sentence(s)]
    if len(kept) == len(sentences):
        return block
    return with_text(block, " ".join(kept)) if kept else None


def _drop_boilerplate_blocks(blocks: list[RawBlock]) -> list[RawBlock]:
    return [b for b in map(_without_boilerplate, blocks) if b is not None]


def _introduced(blocks: list[RawBlock], start: int) -> bool:
    """The run follows a line ending in a colon: it is the article's own list."""
    return start > 0 and blocks[start - 1].text.endswith(":")


def _drop_indexes(blocks: list[RawBlock], drop: set[int]) -> list[RawBlock]:
    return [b for i, b in enumerate(blocks) if i not in drop]


def _is_bare_question(block: RawBlock) -> bool:
    text = block.text.rstrip("\"'”’)")
    return text.endswith("?") and not TWO_SENTENCES.search(text[:-1])


def _drop_question_runs(blocks: list[RawBlock]) -> list[RawBlock]:
    """Three or more questions in a row with no answers are a "related questions" list."""
    drop: set[int] = set()
    # An article's own bulleted questions ("Your doctor may ask: - Have you had surgery?") stay,
    # unless they are links.
    for start, end in runs(
        blocks, lambda b: _is_bare_question(b) and (not b.bulleted or b.link_ratio >= 0.5)
    ):
        if end - start >= 3 and not _introduced(blocks, start):
            drop.update(range(start, end))
    return _drop_indexes(blocks, drop)


def _drop_short_line_runs(blocks: list[RawBlock]) -> list[RawBlock]:
    """Runs of 3+ short unpunctuated lines are menus/widgets when menu-like or after the article."""
    drop: set[int] = set()
    last_prose = max((i for i, b in enumerate(blocks) if _is_prose(b)), default=-1)
    for start, end in runs(blocks, lambda b: _is_short_line(b) and not b.bulleted):
        run = blocks[start:end]
        if len(run) < 3 or _introduced(blocks, start):
            continue
        # Menus are mostly menu words; after the article's last sentence one menu word is enough
        # (a trailing list of plain terms may still be the article's own).
        nav = sum(is_nav_line(b.text) for b in run)
        if not (nav * 2 >= len(run) or (start > last_prose and nav)):
            continue
        # Drop the menu entries; a heading among them that is not a menu word is the article's.
        drop.update(
            i for i in range(start, end) if blocks[i].kind != "heading" or is_nav_line(blocks[i].text)
        )
    return _drop_indexes(blocks, drop)


_FURNITURE_RULES: list[Callable[[list[RawBlock]], list[RawBlock]]] = [
    _drop_furniture_sections,
    _drop_short_line_runs,  # before the byline rule: a menu above the title is not a byline
    _drop_site_header,
    _drop_byline_run,
    _drop_boilerplate_blocks,
    _drop_question_runs,
]


def drop_furniture(blocks: list[RawBlock]) -> list[RawBlock]:
    """The blocks that are not page furniture, in order; kept blocks may lose boilerplate sentences."""
    for rule in _FURNITURE_RULES:
        blocks = rule(blocks)
    return blocks
