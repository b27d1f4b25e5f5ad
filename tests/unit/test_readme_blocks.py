"""The README's shell blocks: found, in order, each run by the README test or skipped for a need."""

from __future__ import annotations

from tests.kit.readme import README, SKIP_NEEDS, command_blocks, needs_of

_TEXT = """\
# Title

```bash
make demo
```

## Using it

<!-- readme-test: skip, needs a browser -->
```bash
open http://127.0.0.1:9411
```

```python
print("not a shell block")
```

- a list item with a block:
  ```bash
  .venv/bin/primestream worker &
  ```
"""


def test_blocks_come_with_their_line_heading_and_skip_reason() -> None:
    blocks = command_blocks(_TEXT)

    assert [(b.line, b.heading, b.skip) for b in blocks] == [
        (3, "Title", None),
        (10, "Using it", "needs a browser"),
        (19, "Using it", None),
    ]
    assert blocks[0].script == "make demo\n"
    assert blocks[2].script == ".venv/bin/primestream worker &\n"


def test_a_skip_comment_applies_to_the_next_block_only() -> None:
    text = "<!-- readme-test: skip, needs the internet -->\n```bash\na\n```\n\n```bash\nb\n```\n"

    assert [b.skip for b in command_blocks(text)] == ["needs the internet", None]


def test_a_skip_reason_names_needs_from_the_list() -> None:
    assert needs_of("needs a browser (and an E*TRADE account)") == ["a browser"]
    assert needs_of("needs the internet and a browser") == ["the internet", "a browser"]
    assert needs_of("flaky on CI") == []


def test_every_readme_block_runs_or_is_skipped_for_a_need_it_shows() -> None:
    blocks = command_blocks(README.read_text())

    assert len(blocks) >= 8
    for block in (b for b in blocks if b.skip is not None):
        needs = needs_of(block.skip)
        assert needs, f"{block}: {block.skip!r} names no need"
        for need in needs:
            assert need in SKIP_NEEDS, f"{block}: {need!r} is not a reason to skip"
            assert any(sign in block.script.lower() for sign in SKIP_NEEDS[need]), (
                f"{block} does not show that it needs {need}"
            )
    assert sum(b.skip is None for b in blocks) > len(blocks) // 2


def test_a_block_skipped_for_a_browser_holds_only_the_browser_step() -> None:
    # The rest of such a block runs, in a block of its own, against the fake E*TRADE.
    browser = [
        b for b in command_blocks(README.read_text()) if "a browser" in needs_of(b.skip or "")
    ]

    assert browser
    for block in browser:
        commands = [line for line in block.script.splitlines() if line.strip()]
        steps = [c for c in commands if not c.startswith(("export ", "#"))]
        assert all("etrade auth" in step for step in steps), str(block)
