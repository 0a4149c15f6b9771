"""scikit-learn's English stop-word list, read without importing scikit-learn.

Coverage and conversation reading use scikit-learn's list; importing it the usual way
(`sklearn.feature_extraction.text`) runs all of scikit-learn's package imports, which cost a
serving replica seconds at start and ~75 MiB resident for one frozenset. The list's own module
has no imports: it is run on its own from scikit-learn's installed files.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def _load() -> frozenset[str]:
    # find_spec of a top-level package locates it without running its __init__.
    package = importlib.util.find_spec("sklearn")
    if package is None or package.origin is None:
        raise ImportError("scikit-learn is not installed")
    path = Path(package.origin).parent / "feature_extraction" / "_stop_words.py"
    spec = importlib.util.spec_from_file_location("groundedqa_sklearn_stop_words", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot read scikit-learn's stop words at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return frozenset(module.ENGLISH_STOP_WORDS)


#: The same frozenset as `sklearn.feature_extraction.text.ENGLISH_STOP_WORDS`.
ENGLISH_STOP_WORDS: frozenset[str] = _load()
