"""scikit-learn's English stop-word list, read without importing scikit-learn.

The coverage and conversation stages use scikit-learn's list (the Glasgow IR group's 318 words),
but `import sklearn` runs its package initialisation, which imports scipy.stats and pandas:
~3 s of CPU and ~100 MiB at every replica's start for one frozenset. The list lives in a module
of its own that imports nothing, so it is loaded from scikit-learn's installed file directly.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def _english_stop_words() -> frozenset[str]:
    spec = importlib.util.find_spec("sklearn")  # locates the package without running it
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / "feature_extraction" / "_stop_words.py"
        module_spec = importlib.util.spec_from_file_location("groundedqa._sklearn_stop_words", path)
        if path.is_file() and module_spec is not None and module_spec.loader is not None:
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
            return frozenset(module.ENGLISH_STOP_WORDS)
    # Another layout of scikit-learn: its public name (slower to import, the same list).
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


#: The same frozenset as `sklearn.feature_extraction.text.ENGLISH_STOP_WORDS`.
ENGLISH_STOP_WORDS: frozenset[str] = _english_stop_words()
