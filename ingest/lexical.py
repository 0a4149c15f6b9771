"""BM25 over passages with bm25s; one tokeniser shared by indexing and querying."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import bm25s

# bm25s logs its indexing steps at DEBUG on a handler of its own; the ingest summary is enough.
logging.getLogger("bm25s").setLevel(logging.WARNING)


@lru_cache(maxsize=1)
def stemmer():
    """The English Snowball stemmer, shared by BM25 and title matching."""
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stop-worded, Snowball-stemmed tokens (the same for passages and questions)."""
    return bm25s.tokenize(
        texts, stopwords="en", stemmer=stemmer(), return_ids=False, show_progress=False
    )


def build_bm25(texts: list[str], directory: Path) -> None:
    """Index `texts` (row i = passage i) and save the bm25s index into `directory`."""
    retriever = bm25s.BM25()
    tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer(), show_progress=False)
    retriever.index(tokens, show_progress=False)
    retriever.save(str(directory), show_progress=False)
