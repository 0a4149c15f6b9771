"""One English analyser (lower case, stop words, Snowball stems) for BM25, title match and term
overlap, so that indexing and querying always cut text alike."""

from __future__ import annotations

from functools import lru_cache

import bm25s


@lru_cache(maxsize=1)
def stemmer():
    """The English Snowball stemmer."""
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stop-worded, Snowball-stemmed tokens (the same for passages and questions)."""
    return bm25s.tokenize(
        texts, stopwords="en", stemmer=stemmer(), return_ids=False, show_progress=False
    )
