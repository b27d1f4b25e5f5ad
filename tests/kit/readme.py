"""README.md's shell blocks, as the README test runs them.

Every ```bash block of the README is a command a reader will paste, so the README test
runs them all, in order. A block that cannot run here says why in an HTML comment on the
line above its fence, e.g. `<!-- readme-test: skip, needs a real E*TRADE account -->`;
the reason must start with "needs", so a block is skipped for what it needs (a browser,
the internet, a remote cluster), never because it fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["README", "CommandBlock", "command_blocks"]

README = Path(__file__).resolve().parents[2] / "README.md"
_SKIP = re.compile(r"<!--\s*readme-test:\s*skip,\s*(?P<reason>.+?)\s*-->")
_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>\w*)\s*$")


@dataclass(frozen=True)
class CommandBlock:
    """One ```bash block: where it is, what it says, and why it is skipped (None: it runs)."""

    line: int
    heading: str
    script: str
    skip: str | None

    def __str__(self) -> str:
        return f"README.md:{self.line} ({self.heading})"


def command_blocks(text: str) -> list[CommandBlock]:
    """Return the bash blocks of TEXT in order, each with its heading and skip reason."""
    blocks: list[CommandBlock] = []
    lines = text.splitlines()
    heading, previous = "", ""
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence is None:
            if line.startswith("#"):
                heading = line.lstrip("#").strip()
            if line.strip():
                previous = line
            i += 1
            continue
        indent, body = fence["indent"], []
        end = i + 1
        while end < len(lines) and not _FENCE.match(lines[end]):
            body.append(lines[end].removeprefix(indent))
            end += 1
        if fence["lang"] == "bash":
            skip = _SKIP.search(previous)
            blocks.append(
                CommandBlock(i + 1, heading, "\n".join(body) + "\n", skip and skip["reason"])
            )
        previous = ""
        i = end + 1
    return blocks
