"""Choose the encoder a setting names (one place, so a new runtime is one new branch here)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from groundedqa.index.model_files import model_fingerprint, resolve_model_path
from groundedqa.index.ports import Encoder

if TYPE_CHECKING:
    from groundedqa.settings import Settings

#: The variant a build without one in its manifest was made by (every build before ONNX).
LEGACY_VARIANT = "torch"


def load_encoder(settings: Settings, *, threads: int | None = None, serving: bool = False) -> Encoder:
    """The encoder `settings` configure (runtime variant, model folder, batch size, threads).

    `serving`: the encoder answers questions in a server (ONNX Runtime's idle threads then sleep
    instead of spinning on cores the requests need, and its memory arena is off: a server's
    memory stays that of the pass running, not of the largest pass it ever ran).
    """
    if settings.encoder == "torch":
        from groundedqa.index.torch_encoder import TorchEncoder

        return TorchEncoder.load(settings.model, settings.encode_batch_size, threads)
    from groundedqa.index.onnx_encoder import OnnxEncoder

    return OnnxEncoder.load(settings.model, settings.encoder, cache_dir=settings.encoder_cache,
                            batch_size=settings.encode_batch_size, threads=threads,
                            spin=not serving, arena=not serving)


def expected_model(settings: Settings) -> dict[str, Any]:
    """What the configured encoder's `describe()` will say of model and variant, without loading it."""
    return {"fingerprint": model_fingerprint(resolve_model_path(settings.model)),
            "encoder": settings.encoder}


def encoder_variant(model: dict[str, Any]) -> str:
    """The variant a manifest's (or an encoder's) model record names."""
    return model.get("encoder") or LEGACY_VARIANT


def same_encoder(built: dict[str, Any], expected: dict[str, Any]) -> bool:
    """Whether vectors of `built` (a manifest's model record) and `expected` can be compared."""
    return (built.get("fingerprint") == expected.get("fingerprint")
            and encoder_variant(built) == encoder_variant(expected))
