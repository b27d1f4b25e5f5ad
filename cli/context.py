"""What every command needs besides its clients (`schemas.clients`): consoles, one way to fail."""

from __future__ import annotations

import os
import sys
from typing import NoReturn

from rich.console import Console

__all__ = ["console", "err_console", "fail"]

# Piped or logged output (make demo, CI) gets 160 columns rather than rich's 80, so tables
# of records stay one line per record; COLUMNS still wins when set.
console = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160)
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one clear line to stderr and exit with CODE."""
    err_console.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
    sys.exit(code)
