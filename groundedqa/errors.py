"""Errors the command line turns into one-line messages."""


class CliError(Exception):
    """A user-facing problem (bad path, bad flag value, missed threshold): printed as one line."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
