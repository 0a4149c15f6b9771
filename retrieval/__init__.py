"""Retrieval and the grounded answer: search the index, pick verbatim sentences, cite them."""
