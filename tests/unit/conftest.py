"""Every unit test runs with a home of its own, never the developer's local state.

The home (`~/.cache/primestream` by default) holds the namespace `primestream namespaces
use` chose, and `make demo` chooses its demo's: read from there, every command under test
would look for the demo's topics (`demo….fills`), and `make test` after `make demo` failed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.settings import get_settings


@pytest.fixture(autouse=True)
def _own_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setenv("PRIMESTREAM_HOME", str(tmp_path_factory.mktemp("home")))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
