"""The sentence-transformers (PyTorch) encoder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from groundedqa.index.model_files import model_fingerprint, offline, resolve_model_path
from groundedqa.index.pooling import TokenStates, load_tokenizer, texts_token_states


@dataclass
class TorchEncoder:
    """Wraps a SentenceTransformer: float32, L2-normalised vectors (inner product = cosine)."""

    model_id: str
    path: Path
    model: Any  # sentence_transformers.SentenceTransformer
    batch_size: int = 64
    variant = "torch"
    #: A text's vector alone or padded beside others differs in the last float bits only.
    batch_invariant = True

    @classmethod
    def load(cls, model: str, batch_size: int = 64, threads: int | None = None) -> "TorchEncoder":
        """Load `model` (see `resolve_model_path`) on CPU with the hub switched off.

        `threads` sets torch's (process-wide) thread count; None keeps torch's default.
        """
        offline()
        path = resolve_model_path(model)
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # keeps stderr to one line per CLI error

        if threads is not None:
            import torch

            torch.set_num_threads(threads)
        st = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        return cls(model_id=model, path=path, model=st, batch_size=batch_size)

    @property
    def dimension(self) -> int:
        getter = (getattr(self.model, "get_embedding_dimension", None)
                  or self.model.get_sentence_embedding_dimension)
        return int(getter())

    @property
    def fingerprint(self) -> str:
        return model_fingerprint(self.path)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Encode texts into an (n, dim) float32 array of unit vectors."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def token_states(self, texts: list[str]) -> list[TokenStates]:
        """Token states and offsets of each text (late chunking pools spans of them)."""
        import torch

        transformer = self.model[0].auto_model

        def forward(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                ids_t = torch.from_numpy(ids)
                return transformer(input_ids=ids_t, attention_mask=torch.from_numpy(mask),
                                   token_type_ids=torch.zeros_like(ids_t)).last_hidden_state.numpy()

        return texts_token_states(self._tokenizer(), texts, self.batch_size, forward)

    def _tokenizer(self) -> Any:
        if getattr(self, "_fast_tokenizer", None) is None:
            self._fast_tokenizer = load_tokenizer(self.path)
        return self._fast_tokenizer

    def describe(self) -> dict[str, Any]:
        """What the index manifest records about the model."""
        return {"id": self.model_id, "dimension": self.dimension, "fingerprint": self.fingerprint,
                "encoder": self.variant}
