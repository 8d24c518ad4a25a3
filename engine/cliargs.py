"""Command-line pieces shared by ``main.py`` and its subcommands (``sweep``): a parser whose
errors are one line and exit 2, and whole-number arguments refused in one line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        self.exit(2, f"error: {message} (see --help)\n")


def fail(message: str, code: int = 2) -> int:
    """Print ``error: message`` on stderr and return ``code`` (the exit status)."""
    print(f"error: {message}", file=sys.stderr)
    return code


def ranged(lo: int, hi: int, what: str = "a whole number") -> Callable[[str], int]:
    """An argparse type: a whole number in [lo, hi], refused in one line otherwise (a
    400-digit number is refused before int() spends time on it)."""
    def parse(text: str) -> int:
        try:
            value = int(text) if len(text) <= 30 else None
        except ValueError:
            value = None
        if value is None or not lo <= value <= hi:
            raise argparse.ArgumentTypeError(
                f"expected {what} in [{lo:,}, {hi:,}], got {text[:40]!r}")
        return value

    parse.__name__ = "number"
    return parse
