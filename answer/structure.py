"""How an article's sentences hang together, read from the sentence store: sections, list items
with their labels, lead-ins ("Steer clear of:") and the items they introduce, and sentences that
lean on the one before ("Then ...", "These ...", "However, ...").

The select stage quotes whole units built from these relations, so an answer never opens with
an unlabelled list item, a hold time cut off from its stretch, or a "Then" without its "If".
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property

from groundedqa.index.ports import SentenceStore

#: Openers that refer back to the sentence (or list) before: pronouns, "then", contrast and
#: consequence connectives. Matched at the start of a sentence, after a label if any. Additive
#: openers ("In addition", "Also", "Similarly", "Likewise") are not among them: they add a point
#: that reads on its own, and bringing the sentence before only quotes something not asked.
_DEPENDENT = re.compile(
    r"^[\"“(]?(?:it|its|this|that|these|those|they|them|their|then|such|however|but|therefore|"
    r"thus|hence|otherwise|instead|alternatively|both|still|yet|"
    r"conversely|nonetheless|nevertheless|meanwhile|so,|in (?:contrast|this case|that case|"
    r"such cases)|as a result|because of this|for (?:this|that|these) reasons?|the (?:latter|former|same)|"
    r"in turn|even so|on the other hand)\b",
    re.IGNORECASE,
)
#: "It is important to ...", "It's also worth ...": an "it" that points at what follows, not back.
_EXPLETIVE_IT = re.compile(
    r"^it(?:['’]s| is| was| can be| may be| will be| would be| seems| appears)"
    r"(?: \w+ly| also| not| very| still)* (?:a good idea|an? \w+ (?:idea|step|way|part)|"
    r"important|necessary|essential|recommended|best|better|likely|unlikely|possible|impossible|"
    r"common|uncommon|crucial|critical|vital|wise|helpful|advisable|safe|unsafe|key|normal|"
    r"unclear|clear|true|worth|rare|difficult|hard|easy|okay|ok|fine|good|bad|natural|"
    r"typical|usual|unusual|reasonable|beneficial)\b",
    re.IGNORECASE,
)
#: A sentence ending in a colon introduces what follows it.
_LEAD_IN = re.compile(r":[\"”’)\]]*$")
#: How many sentences back a chain of dependent sentences is followed.
MAX_ANTECEDENTS = 3


def depends_on_previous(text: str) -> bool:
    """The sentence opens by pointing back ("Then ...", "These ...", "It ..." but not "It is
    important to ...")."""
    text = text.lstrip()
    return bool(_DEPENDENT.match(text)) and not _EXPLETIVE_IT.match(text)


def is_lead_in(text: str) -> bool:
    """The sentence ends with a colon: it introduces the blocks after it."""
    return bool(_LEAD_IN.search(text.rstrip()))


@dataclass(frozen=True)
class DocLayout:
    """One document's sentence rows with their kinds, blocks, block kinds and text.

    Immutable, so what a row's relations are (its block, label, lead-in, antecedents) is worked
    out once per layout and reused by every answer that quotes from the document.
    """

    first: int  # row of the document's first span
    kinds: tuple[str, ...]
    blocks: tuple[int, ...]
    block_kinds: tuple[str, ...]
    texts: tuple[str, ...]
    # Per-row answers already worked out (filled on first use; shared between threads: a race
    # only computes the same value twice).
    _lead_ins: dict[int, int | None] = field(default_factory=dict, init=False, repr=False,
                                             compare=False, hash=False)
    _antecedents: dict[tuple[int, int, int], tuple[int, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False)

    @property
    def stop(self) -> int:
        return self.first + len(self.kinds)

    def kind(self, row: int) -> str:
        return self.kinds[row - self.first]

    def text(self, row: int) -> str:
        return self.texts[row - self.first]

    def block(self, row: int) -> int:
        return self.blocks[row - self.first]

    @cached_property
    def _block_bounds(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Per row (from `first`): the first and last row of its block (blocks are contiguous
        runs of one block number)."""
        n = len(self.blocks)
        lo, hi = [0] * n, [0] * n
        start = 0
        for i in range(1, n + 1):
            if i == n or self.blocks[i] != self.blocks[start]:
                for j in range(start, i):
                    lo[j], hi[j] = self.first + start, self.first + i - 1
                start = i
        return tuple(lo), tuple(hi)

    def block_start(self, row: int) -> int:
        """The first row of the block holding `row`."""
        return self._block_bounds[0][row - self.first]

    def block_rows(self, row: int) -> list[int]:
        """Every row of the block holding `row`, in order (blocks are contiguous)."""
        lo, hi = self._block_bounds
        i = row - self.first
        return list(range(lo[i], hi[i] + 1))

    def label(self, row: int) -> int | None:
        """The label span ("Hamstrings:") that opens the block holding `row`, if there is one."""
        start = self.block_start(row)
        return start if self.kind(start) == "label" else None

    def is_item(self, row: int) -> bool:
        """In a list item: a block marked as one, or a labelled block ("Walking: Walking is ...")."""
        if self.kind(row) == "heading":
            return False
        return self.block_kinds[row - self.first] == "list_item" or self.label(row) is not None

    def lead_in(self, row: int) -> int | None:
        """For a list item, the sentence ending in a colon right before its list, if any."""
        if row not in self._lead_ins:
            self._lead_ins[row] = self._find_lead_in(row)
        return self._lead_ins[row]

    def _find_lead_in(self, row: int) -> int | None:
        if not self.is_item(row):
            return None
        r = self.block_start(row) - 1
        while r >= self.first and self.kind(r) != "heading" and self.is_item(r):
            r = self.block_start(r) - 1
        if r >= self.first and self.kind(r) == "sentence" and is_lead_in(self.text(r)):
            return r
        return None

    def items(self, lead_in: int) -> list[list[int]]:
        """The list items (each its rows) a lead-in introduces: the item blocks right after it."""
        out: list[list[int]] = []
        r = lead_in + 1
        while r < self.stop and self.kind(r) != "heading" and self.is_item(r):
            rows = self.block_rows(r)
            out.append(rows)
            r = rows[-1] + 1
        return out

    def antecedents(self, row: int, section: range) -> list[int]:
        """What a sentence that points back needs: the sentence before it, or, at the start of a
        paragraph right after a list, that list with its lead-in ("Then dead-hangs should be
        deferred ..." after "If you have:" and its items). Followed while the antecedent itself
        points back; never beyond the section, never past a list item's own block."""
        key = (row, section.start, section.stop)
        if key not in self._antecedents:
            self._antecedents[key] = tuple(self._find_antecedents(row, section))
        return list(self._antecedents[key])

    def _find_antecedents(self, row: int, section: range) -> list[int]:
        out: list[int] = []
        current = row
        for _ in range(MAX_ANTECEDENTS):
            if not depends_on_previous(self.text(current)):
                break
            opens_block = self.block_start(current) == current
            prev = current - 1
            if prev < section.start or self.kind(prev) == "heading":
                break
            if opens_block and self.is_item(current):
                break  # an item leans on its list, which its lead-in brings
            if opens_block and self.is_item(prev):
                lead = self.lead_in(prev)
                items = self.items(lead) if lead is not None else [self.block_rows(prev)]
                out.extend(r for r in [*([lead] if lead is not None else []), *sum(items, [])]
                           if r not in out)
                break
            if self.kind(prev) != "sentence":
                break
            out.append(prev)
            current = prev
        return sorted(out)


class StructureReader:
    """DocLayouts from a sentence store, cached per document (a few hundred at most)."""

    def __init__(self, store: SentenceStore, cache_size: int = 256) -> None:
        self.store = store
        self.cache_size = cache_size
        self._cache: OrderedDict[int, DocLayout] = OrderedDict()
        self._lock = threading.Lock()

    def layout(self, doc_idx: int) -> DocLayout:
        """The layout of document `doc_idx` (read once, then cached)."""
        with self._lock:
            cached = self._cache.get(doc_idx)
            if cached is not None:
                self._cache.move_to_end(doc_idx)
                return cached
        rows = self.store.doc_sentences(doc_idx)
        records = self.store.sentences(list(rows))
        layout = DocLayout(
            first=rows.start,
            kinds=tuple(r.kind for r in records),
            blocks=tuple(r.block for r in records),
            block_kinds=tuple(self.store.sentence_block_kinds(rows)),
            texts=tuple(r.text for r in records),
        )
        with self._lock:
            self._cache[doc_idx] = layout
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return layout
