"""Index builds on disk: one directory per build, a CURRENT pointer swapped atomically.

Layout of an index directory (the `--index DIR` / `GROUNDEDQA_INDEX` path)::

    DIR/CURRENT                 the live build id (replaced atomically with os.replace)
    DIR/builds/<build_id>/      one complete build: manifest.json + the backend's files
    DIR/.lock                   held while a build writes

A build is written to `builds/tmp-*` and renamed to its id only when complete; CURRENT is replaced
last. A build that fails or is killed therefore never touches the live one. The files inside a
build belong to its backend (`faiss_bm25.py` by default); this module knows only the manifest.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from groundedqa.index.ports import IndexBackend, LoadedIndex
from groundedqa.index.records import DocData

SCHEMA_VERSION = 1


class IndexUnavailable(RuntimeError):
    """The index cannot be served; the message says why and what to do."""


class IndexMissing(IndexUnavailable):
    """No build has been published at the index path."""


class IndexCorrupt(IndexUnavailable):
    """A build's files are missing, truncated or inconsistent with its manifest."""


class IndexMismatch(IndexUnavailable):
    """A build was made by another schema version or another embedding model."""


def default_backend() -> IndexBackend:
    """The embedded default: FAISS + bm25s + SQLite files inside the build directory."""
    from groundedqa.index.faiss_bm25 import FaissBm25Backend

    return FaissBm25Backend()


# --------------------------------------------------------------------------------------------
# Paths and the CURRENT pointer
# --------------------------------------------------------------------------------------------

def builds_dir(index_dir: Path) -> Path:
    return Path(index_dir) / "builds"


def current_build_id(index_dir: Path) -> str | None:
    """The live build id, or None when nothing has been published."""
    try:
        value = (Path(index_dir) / "CURRENT").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return value or None


def publish(index_dir: Path, build_id: str) -> None:
    """Point CURRENT at `build_id` atomically (readers see the old or the new id, never half)."""
    index_dir = Path(index_dir)
    tmp = index_dir / f".CURRENT.{uuid.uuid4().hex}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(build_id + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, index_dir / "CURRENT")
    _fsync_dir(index_dir)


def prune_builds(index_dir: Path, keep: int = 2) -> None:
    """Remove abandoned temporary builds and all but the newest `keep` complete ones.

    A server still reading an older build keeps working: its open files and maps stay valid.
    """
    root = builds_dir(index_dir)
    if not root.is_dir():
        return
    live = current_build_id(index_dir)
    complete = []
    for entry in root.iterdir():
        if entry.name.startswith("tmp-"):
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.is_dir():
            complete.append(entry)
    complete.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in complete[keep:]:
        if old.name != live:
            shutil.rmtree(old, ignore_errors=True)


def new_build_id() -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{uuid.uuid4().hex[:8]}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------------------------
# Writing and opening builds
# --------------------------------------------------------------------------------------------

def write_build(
    build_dir: Path,
    docs: list[DocData],
    *,
    model: dict[str, Any],
    pipeline: dict[str, Any],
    build_id: str,
    skipped: dict[str, dict[str, str]] | None = None,
    backend: IndexBackend | None = None,
) -> dict[str, Any]:
    """Write a complete build of `docs` (vectors attached) into `build_dir`; return its manifest.

    `skipped` (doc id -> hash, source, reason) records the documents that were passed over, so
    that the next ingest of the same files recognises them without preparing them again.
    """
    backend = backend or default_backend()
    build_dir.mkdir(parents=True, exist_ok=False)
    extras = backend.write(build_dir, docs, int(model["dimension"]))
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "build_id": build_id,
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "backend": backend.name,
        "model": model,
        "pipeline": pipeline,
        **extras,
        "documents": {d.doc_id: d.content_hash for d in docs},
        "skipped": skipped or {},
    }
    manifest["files"] = {name: (build_dir / name).stat().st_size
                         for name in backend.required_files(manifest)}
    # The manifest is written last: a build directory without one is never loaded.
    with open(build_dir / "manifest.json", "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    return manifest


def open_index(index_dir: Path, *, expect_model: dict[str, Any] | None = None,
               backend: IndexBackend | None = None) -> LoadedIndex:
    """Open the live build of `index_dir`, refusing a missing, corrupt or mismatched one."""
    index_dir = Path(index_dir)
    build_id = current_build_id(index_dir)
    if build_id is None:
        raise IndexMissing(f"no index at {index_dir}: run `groundedqa ingest` first")
    return open_build(builds_dir(index_dir) / build_id, expect_model=expect_model, backend=backend)


def open_build(build_dir: Path, *, expect_model: dict[str, Any] | None = None,
               backend: IndexBackend | None = None) -> LoadedIndex:
    """Open one build directory (see `open_index`)."""
    backend = backend or default_backend()
    manifest = read_manifest(build_dir)
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise IndexMismatch(
            f"index {build_dir} has schema version {manifest.get('schema_version')}, this "
            f"groundedqa reads version {SCHEMA_VERSION}: rebuild it with `groundedqa ingest`"
        )
    if expect_model is not None:
        check_model(manifest, expect_model, build_dir)
    for name, size in manifest.get("files", {}).items():
        path = build_dir / name
        if not path.is_file() or path.stat().st_size != size:
            raise IndexCorrupt(f"index {build_dir} is corrupt: {name} is missing or truncated")
    return backend.open(build_dir, manifest)


def check_model(manifest: dict[str, Any], expect_model: dict[str, Any], where: Path) -> None:
    """IndexMismatch unless the build was embedded with the model described by `expect_model`."""
    built = manifest.get("model", {})
    for key in ("dimension", "fingerprint"):
        if built.get(key) != expect_model.get(key):
            raise IndexMismatch(
                f"index {where} was built with model {built.get('id')!r} "
                f"(dimension {built.get('dimension')}), but the service is configured with "
                f"{expect_model.get('id')!r} (dimension {expect_model.get('dimension')}): "
                "rebuild it with `groundedqa ingest` or configure the same model"
            )
    from groundedqa.index.encoders import encoder_variant

    built_variant, expected_variant = encoder_variant(built), encoder_variant(expect_model)
    if built_variant != expected_variant:
        # Vectors of two runtimes (int8 above all) are close, not equal: never mix them.
        raise IndexMismatch(
            f"index {where} was built with the {built_variant} encoder, but the service is "
            f"configured with {expected_variant}: rebuild it with `groundedqa ingest`, or set "
            f"GROUNDEDQA_ENCODER={built_variant}"
        )


def read_manifest(build_dir: Path) -> dict[str, Any]:
    """The manifest of a build directory, or IndexCorrupt with the reason."""
    path = Path(build_dir) / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexCorrupt(f"index build {build_dir} has no manifest.json (incomplete build?)") from exc
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(f"index build {build_dir} has an unreadable manifest.json: {exc}") from exc
    if not isinstance(manifest, dict) or "build_id" not in manifest:
        raise IndexCorrupt(f"index build {build_dir} has a malformed manifest.json")
    return manifest
