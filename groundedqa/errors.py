"""Errors the command line turns into one-line messages (defined here, not in their stage, so that
the command line can catch them without importing the stage)."""


class CliError(Exception):
    """A user-facing problem (bad path, bad flag value, missed threshold): printed as one line."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class IngestError(RuntimeError):
    """The build could not be made; the live index is untouched."""
