"""The README's shell blocks: found, in order, each run by the README test or skipped for a need."""

from __future__ import annotations

from tests.kit.readme import README, command_blocks

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


def test_every_readme_block_runs_or_is_skipped_for_what_it_needs() -> None:
    blocks = command_blocks(README.read_text())

    assert len(blocks) >= 8
    for block in blocks:
        assert block.skip is None or block.skip.startswith("needs "), str(block)
    assert sum(b.skip is None for b in blocks) > len(blocks) // 2
