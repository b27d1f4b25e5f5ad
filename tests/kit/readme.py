"""README.md's shell blocks, as the README test runs them.

Every ```bash block of the README is a command a reader will paste, so the README test
runs them all, in order. A block that cannot run here says why in an HTML comment on the
line above its fence, e.g. `<!-- readme-test: skip, needs the internet (a public feed) -->`.
The reason names needs from a fixed list (`SKIP_NEEDS`: a browser, the internet, a remote
cluster, the suite itself), joined by "and", with an optional note in parentheses; each
need has a sign the block must show (`etrade auth` for a browser). So a block is skipped
for what it needs, never because it fails, and a unit test holds the README to it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["README", "SKIP_NEEDS", "CommandBlock", "command_blocks", "needs_of"]

README = Path(__file__).resolve().parents[2] / "README.md"
SKIP_NEEDS: Final[Mapping[str, tuple[str, ...]]] = {
    # need -> texts (lower case) of which a block skipped for it must hold one
    "a browser": ("etrade auth",),  # E*TRADE's OAuth authorize step
    "the internet": ("https://", "etrade"),  # a real host (no PRIMESTREAM_ETRADE_BASE_URL)
    "a remote cluster": ("primestream_bootstrap_servers=",),
    "to be the suite itself": ("make test",),
}
"""Why a README block may be skipped: nothing else (a fake venue stands in for an account)."""
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


def needs_of(reason: str) -> list[str]:
    """Return the needs a skip REASON names: "needs X and Y (note)" -> [X, Y]; [] if malformed."""
    if not reason.startswith("needs "):
        return []
    named = re.sub(r"\s*\(.*\)\s*$", "", reason.removeprefix("needs "))
    return [need.strip() for need in named.split(" and ")]
