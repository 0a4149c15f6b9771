"""Choose the encoder a setting names (one place, so a new runtime is one new branch here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from groundedqa.index.model_files import model_fingerprint, resolve_model_path
from groundedqa.index.ports import Encoder

if TYPE_CHECKING:
    from groundedqa.settings import Settings


def load_encoder(settings: Settings, *, threads: int | None = None) -> Encoder:
    """The encoder `settings` configure (model folder, batch size, threads)."""
    from groundedqa.index.torch_encoder import TorchEncoder

    return TorchEncoder.load(settings.model, settings.encode_batch_size, threads)


def expected_fingerprint(settings: Settings) -> str:
    """The fingerprint the configured encoder will report, without loading it."""
    return model_fingerprint(resolve_model_path(settings.model))
