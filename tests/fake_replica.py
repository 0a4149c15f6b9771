"""`python -m tests.fake_replica --host H --port P`: `groundedqa serve` exactly, with the
deterministic fake encoder instead of the model (tests only: never installed, never in a
production path). Settings come from GROUNDEDQA_* like the real command's."""

from __future__ import annotations

import argparse
import logging

from groundedqa.cli import serve
from groundedqa.settings import Settings
from tests.fakes import HashingEncoder


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    serve(Settings(), HashingEncoder(), host=args.host, port=args.port, quiet=True)


if __name__ == "__main__":
    main()
