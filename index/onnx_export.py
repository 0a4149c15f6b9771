"""Export the packaged model to ONNX (and int8) once, locally, into a fingerprinted cache.

Nothing is downloaded: the weights come from the model folder. The export runs in a child process
(`python -m groundedqa.index.onnx_export`), so the process that asked for it — a server starting
on a fresh machine — never imports torch and never holds its memory.

Recipe (bump RECIPE when it changes, so caches re-export):
  1. torch.onnx's exporter (torch.export based) traces the transformer with a padded two-text
     example, inputs input_ids / attention_mask / token_type_ids, output last_hidden_state,
     batch and sequence axes dynamic;
  2. onnxruntime's transformer optimiser fuses the BERT blocks (SkipLayerNormalization,
     BiasGelu): this is the "onnx" variant;
  3. for "onnx-int8", onnxruntime's dynamic quantiser turns its weights into per-channel int8
     (reduce_range: 7-bit weights do not saturate on CPUs without VNNI).
Each step is checked against torch on real text before the export is accepted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from groundedqa.index.model_files import model_fingerprint

RECIPE = 1
VARIANTS = ("onnx", "onnx-int8")
MODEL_FILE = "model.onnx"
INFO_FILE = "export.json"
#: An export must give vectors this close (cosine) to the torch model's on the check texts.
MIN_COSINE = {"onnx": 0.9999, "onnx-int8": 0.97}
_CHECK_TEXTS = (
    "Can I deadlift with a pinched nerve in my lower back?",
    "Numbness in the groin or saddle area with new bladder problems needs emergency care.",
    "Stretch gently.",
)
EXPORT_TIMEOUT_S = 900


class EncoderExportError(RuntimeError):
    """The model could not be exported to ONNX (the message carries the exporter's reason)."""


@dataclass(frozen=True)
class OnnxExport:
    """A cached export: the .onnx file and what made it."""

    directory: Path
    variant: str
    fingerprint: str  # sha256 prefix of the .onnx file

    @property
    def model_file(self) -> Path:
        return self.directory / MODEL_FILE


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/groundedqa/encoders, else ~/.cache/groundedqa/encoders."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "groundedqa" / "encoders"


def export_dir(model_path: Path, variant: str, cache_dir: Path) -> Path:
    """Where the export of `model_path` as `variant` lives: keyed by the model's fingerprint."""
    return Path(cache_dir) / f"{model_fingerprint(model_path)}-{variant}-r{RECIPE}"


def cached_export(model_path: Path, variant: str, cache_dir: Path) -> OnnxExport | None:
    """The export if it is complete and intact (its recorded size), else None."""
    directory = export_dir(model_path, variant, cache_dir)
    try:
        info = json.loads((directory / INFO_FILE).read_text(encoding="utf-8"))
        if (directory / MODEL_FILE).stat().st_size != info["bytes"]:
            return None
    except (OSError, ValueError, KeyError):
        return None
    return OnnxExport(directory, variant, info["fingerprint"])


def ensure_export(model_path: Path, variant: str, cache_dir: Path) -> OnnxExport:
    """The cached export of `model_path` as `variant`, exported now (in a child process) if absent."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown ONNX variant {variant!r} (one of {', '.join(VARIANTS)})")
    found = cached_export(model_path, variant, cache_dir)
    if found is not None:
        return found
    command = [sys.executable, "-m", "groundedqa.index.onnx_export", str(model_path), variant,
               str(cache_dir)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=EXPORT_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise EncoderExportError(f"exporting the model to {variant} took over "
                                 f"{EXPORT_TIMEOUT_S} s") from exc
    found = cached_export(model_path, variant, cache_dir)
    if done.returncode != 0 or found is None:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise EncoderExportError(f"exporting the model to {variant} failed: {tail}")
    return found


# --------------------------------------------------------------------------------------------
# The export itself (child process; imports torch)
# --------------------------------------------------------------------------------------------

def _export(model_path: Path, variant: str, cache_dir: Path) -> None:
    from filelock import FileLock

    cache_dir.mkdir(parents=True, exist_ok=True)
    target = export_dir(model_path, variant, cache_dir)
    with FileLock(str(target) + ".lock"):
        if cached_export(model_path, variant, cache_dir) is not None:
            return  # another process exported it while this one waited
        if variant == "onnx-int8":
            source = ensure_export(model_path, "onnx", cache_dir).model_file
            _write(target, lambda out: _quantize(source, out), model_path, variant)
        else:
            _write(target, lambda out: _export_fp32(model_path, out), model_path, variant)


def _write(target: Path, make, model_path: Path, variant: str) -> None:
    """Make the .onnx in a temporary folder, check it, and move it into place whole."""
    import hashlib

    import onnxruntime

    tmp = target.with_name(f".tmp-{uuid.uuid4().hex}")
    tmp.mkdir(parents=True)
    try:
        out = tmp / MODEL_FILE
        make(out)
        cosine = _check_against_torch(model_path, out)
        if cosine < MIN_COSINE[variant]:
            raise EncoderExportError(f"the {variant} export is off: cosine {cosine:.4f} to torch "
                                     f"on the check texts (needs {MIN_COSINE[variant]})")
        digest = hashlib.sha256()
        with open(out, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        import torch

        info = {"variant": variant, "recipe": RECIPE, "model_fingerprint": model_fingerprint(model_path),
                "fingerprint": digest.hexdigest()[:16], "bytes": out.stat().st_size,
                "check_cosine_min": round(cosine, 6), "torch": torch.__version__,
                "onnxruntime": onnxruntime.__version__}
        (tmp / INFO_FILE).write_text(json.dumps(info, indent=2), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)  # an incomplete or stale export under the same key
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _export_fp32(model_path: Path, out: Path) -> None:
    import torch
    from onnxruntime.transformers import optimizer
    from transformers import AutoModel

    from groundedqa.index.pooling import load_tokenizer, pad

    model = AutoModel.from_pretrained(str(model_path), attn_implementation="eager").eval()

    class Hidden(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    # Real, unequal texts: a constant or unpadded example lets the tracer specialise the mask away.
    ids, mask = pad(load_tokenizer(model_path).encode_batch(list(_CHECK_TEXTS[:2])))
    example = tuple(torch.from_numpy(a) for a in (ids, mask, ids * 0))
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence", max=512)
    axes = {0: batch, 1: seq}
    raw = out.with_name("raw.onnx")
    with torch.no_grad():
        torch.onnx.export(
            Hidden(model), example, str(raw), dynamo=True, external_data=False, opset_version=18,
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_shapes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes},
        )
    config = model.config
    fused = optimizer.optimize_model(str(raw), model_type="bert", num_heads=config.num_attention_heads,
                                     hidden_size=config.hidden_size)
    fused.save_model_to_file(str(out))
    raw.unlink()


def _quantize(source: Path, out: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(out), weight_type=QuantType.QInt8, per_channel=True,
                     reduce_range=True)


def _check_against_torch(model_path: Path, onnx_file: Path) -> float:
    """The lowest cosine between the export's and sentence-transformers' vectors of the check texts."""
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from groundedqa.index.onnx_encoder import OnnxSession

    texts = list(_CHECK_TEXTS)
    reference = SentenceTransformer(str(model_path), device="cpu", local_files_only=True).encode(
        texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    ours = OnnxSession(model_path, onnx_file, threads=None).encode(texts)
    return float(np.min(np.sum(reference * ours, axis=1)))


def main(argv: list[str]) -> int:
    """`python -m groundedqa.index.onnx_export MODEL_DIR VARIANT CACHE_DIR`."""
    from groundedqa.index.model_files import offline

    offline()
    model_path, variant, cache_dir = Path(argv[0]), argv[1], Path(argv[2])
    try:
        _export(model_path, variant, cache_dir)
    except EncoderExportError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
