"""Each command loads only its own module, and still finds every command it should."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.main import get_command

from cli.main import COMMANDS, GROUPS, build_app


def _names(only: str | None = None) -> set[str]:
    return set(get_command(build_app(only)).commands)  # type: ignore[attr-defined]


def test_the_whole_cli_has_every_group_and_command() -> None:
    assert _names() == set(GROUPS) | set(COMMANDS)


@pytest.mark.parametrize("name", [*GROUPS, *COMMANDS])
def test_a_named_command_is_registered_alone_and_whole(name: str) -> None:
    assert _names(name) == {name}
    # the same subcommands and options as in the whole CLI
    alone = get_command(build_app(name)).commands[name]  # type: ignore[attr-defined]
    whole = get_command(build_app()).commands[name]  # type: ignore[attr-defined]
    assert sorted(getattr(alone, "commands", {})) == sorted(getattr(whole, "commands", {}))
    assert [p.name for p in alone.params] == [p.name for p in whole.params]


def test_an_unknown_name_gets_the_whole_cli_and_its_error() -> None:
    assert _names("no-such-command") == set(GROUPS) | set(COMMANDS)


def test_namespaces_list_does_not_import_the_heavy_libraries() -> None:
    probe = (
        "import sys; sys.argv = ['primestream', 'namespaces', '--help'];\n"
        "import cli.main\n"
        "try:\n    cli.main.main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('numpy', 'pandas', 'opentelemetry.sdk') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
