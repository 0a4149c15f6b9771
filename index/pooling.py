"""Tokenise with the model's own tokenizer.json and pool token states into vectors (numpy only).

Shared by every runtime, so a sentence-transformers model gives the same vectors whichever
runtime computes its token states: mean over the attended tokens, then unit length.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: sentence-transformers' default when a model folder does not say.
DEFAULT_MAX_SEQ_LENGTH = 256


@dataclass(frozen=True)
class TokenStates:
    """One text's token states and where each token came from in the text."""

    states: np.ndarray  # (tokens, dim) float32, special tokens included
    offsets: np.ndarray  # (tokens, 2) character [start, end) in the text; specials are (0, 0)
    special: np.ndarray  # (tokens,) bool: [CLS], [SEP] and the like


def max_seq_length(model_path: Path) -> int:
    """The model's token limit as sentence-transformers applies it (sentence_bert_config.json)."""
    config = Path(model_path) / "sentence_bert_config.json"
    if config.is_file():
        value = json.loads(config.read_text(encoding="utf-8")).get("max_seq_length")
        if value:
            return int(value)
    return DEFAULT_MAX_SEQ_LENGTH


def load_tokenizer(model_path: Path):
    """The model's fast tokenizer (tokenizer.json), truncating as sentence-transformers does.

    Padding is left off: batches are padded to their own longest text by `pad`.
    """
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(model_path) / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_seq_length(model_path))
    return tokenizer


def pad(encodings: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """(input_ids, attention_mask), int64, padded with 0 to the longest encoding."""
    width = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(encodings), width), dtype=np.int64)
    mask = np.zeros((len(encodings), width), dtype=np.int64)
    for row, enc in enumerate(encodings):
        n = len(enc.ids)
        ids[row, :n] = enc.ids
        mask[row, :n] = 1
    return ids, mask


def mean_pool(states: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Unit vectors: the mean of each row's attended token states."""
    weights = mask[..., None].astype(np.float32)
    summed = (states * weights).sum(axis=1)
    mean = summed / np.maximum(weights.sum(axis=1), 1e-9)
    return normalize(mean)


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), float32."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


#: A runtime's forward pass: (input_ids, attention_mask) -> last hidden states (batch, tokens, dim).
Forward = Callable[[np.ndarray, np.ndarray], np.ndarray]


def encode_texts(tokenizer, texts: list[str], batch_size: int, forward: Forward,
                 dimension: int) -> np.ndarray:
    """(n, dim) float32 unit vectors of `texts`, run in batches of similar length."""
    out = np.zeros((len(texts), dimension), dtype=np.float32)
    for rows, _, ids, mask, _ in _batches(tokenizer, texts, batch_size):
        out[rows] = mean_pool(forward(ids, mask), mask)
    return out


def texts_token_states(tokenizer, texts: list[str], batch_size: int,
                       forward: Forward) -> list[TokenStates]:
    """Each text's token states with character offsets into the text as given."""
    out: list[TokenStates | None] = [None] * len(texts)
    for rows, batch, ids, mask, shift in _batches(tokenizer, texts, batch_size):
        for row, states in zip(rows, token_states_of(batch, forward(ids, mask), shift)):
            out[row] = states
    return out  # type: ignore[return-value]


def _batches(tokenizer, texts: list[str], batch_size: int) -> Iterator[tuple]:
    """(rows, encodings, input_ids, attention_mask, offset shifts), shortest texts first."""
    if not texts:
        return
    # sentence-transformers strips each text before tokenising; offsets then count from the
    # stripped text, so the characters removed in front are kept to shift them back.
    encodings = tokenizer.encode_batch([t.strip() for t in texts])
    order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
    for s in range(0, len(order), batch_size):
        rows = order[s:s + batch_size]
        batch = [encodings[i] for i in rows]
        ids, mask = pad(batch)
        yield rows, batch, ids, mask, [len(texts[i]) - len(texts[i].lstrip()) for i in rows]


def span_vector(tokens: TokenStates, start: int, end: int) -> np.ndarray | None:
    """Unit mean of the states of the tokens lying inside characters [start, end) of the text;
    None when no token does (the span was cut off by the model's token limit)."""
    offsets = tokens.offsets
    inside = (~tokens.special) & (offsets[:, 0] >= start) & (offsets[:, 1] <= end) \
        & (offsets[:, 1] > offsets[:, 0])
    if not inside.any():
        return None
    return normalize(tokens.states[inside].mean(axis=0))


def token_states_of(encodings: Sequence, states: np.ndarray, shift: Sequence[int]) -> list[TokenStates]:
    """Split a padded batch's states into one TokenStates per encoding; `shift` is added to the
    offsets (characters stripped from the front of each text before tokenising)."""
    out = []
    for row, enc in enumerate(encodings):
        n = len(enc.ids)
        offsets = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2) + shift[row]
        special = np.asarray(enc.special_tokens_mask, dtype=bool)
        offsets[special] = 0
        out.append(TokenStates(np.array(states[row, :n], dtype=np.float32), offsets, special))
    return out
