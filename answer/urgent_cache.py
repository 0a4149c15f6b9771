"""The trained urgent scorer kept on disk, so a restart (or another replica) does not re-embed the
red-flag bank and re-train the scorer: that was half of a replica's start.

An entry is keyed by a fingerprint of everything the trained scorer depends on: the encoder's
`describe()` (model fingerprint, runtime variant, export), every example of the bank with its
language and label, the scorer's and the lemmatiser's code, and the versions of the libraries
that fit it. A changed bank, another encoder variant or new code gives another key, so an entry
is never used for what it was not trained on. An entry that cannot be read (corrupt, truncated,
written by an incompatible library) is trained again and rewritten; a folder that cannot be
written leaves the scorer trained in memory only. Only the newest `KEEP_ENTRIES` entries are
kept.

Entries are pickles of the scorer's labels and its ONNX graphs (applying one needs ONNX Runtime
only, not scikit-learn): the folder must be as trusted as the index and the ONNX export cache
beside it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import tempfile
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from groundedqa import __version__

if TYPE_CHECKING:
    from groundedqa.answer.redflags import RedFlagConfig
    from groundedqa.answer.urgent import UrgentScorer
    from groundedqa.index.ports import Encoder

log = logging.getLogger("groundedqa.urgent")

#: Bump when what an entry holds changes shape.
FORMAT = 2
#: Entries kept in the folder (one per bank and encoder; older ones are removed).
KEEP_ENTRIES = 8
SUFFIX = ".scorer.pickle"
#: The libraries whose behaviour the fitted objects (and their features) depend on.
_LIBRARIES = ("scikit-learn", "skl2onnx", "onnxruntime", "scipy", "numpy", "simplemma")


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/groundedqa/urgent, else ~/.cache/groundedqa/urgent."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "groundedqa" / "urgent"


def scorer_key(config: RedFlagConfig, encoder: Encoder) -> str:
    """The fingerprint of a scorer trained on `config`'s bank with `encoder`."""
    from groundedqa.answer import clauses, urgent

    payload = {
        "format": FORMAT,
        "groundedqa": __version__,
        "encoder": encoder.describe(),
        "labels": [c.name for c in config.concepts],
        "examples": [[e.text, e.language, e.label] for e in urgent.bank_examples(config)],
        "libraries": {name: _version(name) for name in _LIBRARIES},
        # The scorer's features and training, and the lemmas it reads, are code too.
        "code": [hashlib.sha256(Path(m.__file__).read_bytes()).hexdigest() for m in (urgent, clauses)],
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


class ScorerCache:
    """Trained scorers in one folder, one file per key."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path(self, key: str) -> Path:
        return self.directory / f"{key}{SUFFIX}"

    def load(self, key: str) -> UrgentScorer | None:
        """The scorer stored under `key`; None when there is none or it cannot be read."""
        from groundedqa.answer.urgent import UrgentScorer

        path = self.path(key)
        try:
            with path.open("rb") as file:
                entry: Any = pickle.load(file)
            if not (isinstance(entry, dict) and entry.get("key") == key
                    and isinstance(entry.get("scorer"), UrgentScorer)):
                raise ValueError("not a scorer entry for this key")
        except FileNotFoundError:
            return None
        except Exception as exc:  # any unreadable entry means: train again
            log.warning("urgent scorer cache %s unreadable (%s); training again", path, exc)
            return None
        return entry["scorer"]

    def save(self, key: str, scorer: UrgentScorer) -> None:
        """Store `scorer` under `key` (atomically); a folder that cannot be written is only
        logged: the scorer still serves from memory."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=self.directory)
            try:
                with os.fdopen(fd, "wb") as file:
                    pickle.dump({"key": key, "scorer": scorer}, file,
                                protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, self.path(key))
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            self._prune(keep=self.path(key))
        except OSError as exc:
            log.warning("urgent scorer not cached in %s: %s", self.directory, exc)

    def _prune(self, keep: Path) -> None:
        entries = sorted(self.directory.glob(f"*{SUFFIX}"), key=_mtime, reverse=True)
        for old in [e for e in entries if e != keep][KEEP_ENTRIES - 1:]:
            old.unlink(missing_ok=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
