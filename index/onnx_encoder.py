"""The ONNX Runtime encoder: onnxruntime, the model's tokenizer.json and numpy, no torch.

The model is exported locally once (see `onnx_export.py`); this module only runs the export.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from groundedqa.index.model_files import model_fingerprint, resolve_model_path
from groundedqa.index.pooling import TokenStates, encode_texts, load_tokenizer, texts_token_states


class OnnxSession:
    """An InferenceSession over an exported transformer plus its tokenizer."""

    def __init__(self, model_path: Path, onnx_file: Path, threads: int | None,
                 batch_size: int = 64, spin: bool = True, arena: bool = True) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or 0  # 0: one per core
        options.inter_op_num_threads = 1
        if not spin:
            # Idle pool threads spinning between requests would take the cores the rest of a
            # request (and the other requests) need.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # The CPU arena keeps the peak of every pass for good: one batch of 64 questions left a
        # server ~380 MiB larger for the rest of its life. Without it each pass frees what it
        # took (the vectors are bit-identical; a single question costs a little more).
        options.enable_cpu_mem_arena = arena
        self.session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = load_tokenizer(model_path)
        self.batch_size = batch_size
        self.dimension = int(self.session.get_outputs()[0].shape[-1])

    def _states(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return self.session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]

    def encode(self, texts: list[str]) -> np.ndarray:
        """(n, dim) float32 unit vectors, batches of similar length (little padding)."""
        return encode_texts(self.tokenizer, texts, self.batch_size, self._states, self.dimension)

    def token_states(self, texts: list[str]) -> list[TokenStates]:
        """Each text's token states with character offsets (for pooling spans of a text)."""
        return texts_token_states(self.tokenizer, texts, self.batch_size, self._states)


@dataclass
class OnnxEncoder:
    """Encoder port over an ONNX export of the model ("onnx" or "onnx-int8")."""

    model_id: str
    path: Path
    variant: str
    export_fingerprint: str
    runtime: OnnxSession

    @classmethod
    def load(cls, model: str, variant: str = "onnx", *, cache_dir: Path | None = None,
             batch_size: int = 64, threads: int | None = None, spin: bool = True,
             arena: bool = True) -> "OnnxEncoder":
        """Open the cached export of `model` as `variant` (exporting it first if needed);
        `spin` and `arena`: ONNX Runtime's thread spinning and CPU memory arena (a server turns
        both off)."""
        from groundedqa.index.onnx_export import default_cache_dir, ensure_export

        path = resolve_model_path(model)
        export = ensure_export(path, variant, cache_dir or default_cache_dir())
        runtime = OnnxSession(path, export.model_file, threads, batch_size, spin, arena)
        return cls(model_id=model, path=path, variant=variant, export_fingerprint=export.fingerprint,
                   runtime=runtime)

    @property
    def dimension(self) -> int:
        return self.runtime.dimension

    @property
    def batch_invariant(self) -> bool:
        """Whether a text's vector is the same alone or in any batch. Not for int8: its dynamic
        quantisation scales each forward pass's activations by the whole batch's range."""
        return self.variant == "onnx"

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32 unit vectors."""
        return self.runtime.encode(texts)

    def token_states(self, texts: list[str]) -> list[TokenStates]:
        """Token states and offsets of each text (late chunking pools spans of them)."""
        return self.runtime.token_states(texts)

    def describe(self) -> dict[str, Any]:
        """What the index manifest records: the model, and the variant and export that ran it."""
        return {"id": self.model_id, "dimension": self.dimension,
                "fingerprint": model_fingerprint(self.path), "encoder": self.variant,
                "export": self.export_fingerprint}
