"""Builders shared by the ingest tests."""

from groundedqa.ingest.models import Block, CleanDoc


def make_doc(*blocks: tuple[str, str] | tuple[str, str, int]) -> CleanDoc:
    """A CleanDoc from (kind, text[, level]) blocks joined by blank lines, as clean() builds it."""
    parts: list[str] = []
    made: list[Block] = []
    offset = 0
    for kind, text, *level in blocks:
        made.append(Block(kind, offset, offset + len(text), level[0] if level else 0))
        parts.append(text)
        offset += len(text) + 2
    return CleanDoc(text="\n\n".join(parts), blocks=made)
