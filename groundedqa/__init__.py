"""groundedqa: answers made only of verbatim, cited sentences from trusted articles."""

__version__ = "0.1.0"
