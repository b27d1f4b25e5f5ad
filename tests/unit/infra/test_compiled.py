"""The compiled hot path: which modules, the staleness guard, and that they really load."""

from __future__ import annotations

import importlib
import importlib.machinery
import os
from pathlib import Path

import pytest

from infra import compiled
from infra.compiled import StaleBuildError, check_fresh, extension_of, sources, stale, wanted

_SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]


def _tree(root: Path, *names: str) -> list[Path]:
    made = []
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")
        made.append(path)
    return made


def _compile(source: Path, *, age_secs: float = 0.0) -> Path:
    extension = source.with_name(source.stem + _SUFFIX)
    extension.write_bytes(b"")
    when = source.stat().st_mtime - age_secs
    os.utime(extension, (when, when))
    return extension


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    _tree(tmp_path, "streams/engine.py", "streams/risk/rules.py", "streams/risk/__init__.py")
    _tree(tmp_path, "streams/indicators/protocol.py")
    (tmp_path / ("streams/native__mypyc" + _SUFFIX)).write_bytes(b"")
    manifest = tmp_path / "build/mypyc/modules.txt"
    manifest.parent.mkdir(parents=True)
    manifest.write_text("streams/engine.py\nstreams/risk/rules.py\n")
    return tmp_path


def test_sources_follow_the_globs_without_inits_or_the_exceptions(tree: Path) -> None:
    names = [path.relative_to(tree).as_posix() for path in sources(tree)]

    assert names == ["streams/engine.py", "streams/risk/rules.py"]


def test_every_exception_names_a_real_source() -> None:
    for name in compiled.NOT_COMPILED:
        assert (compiled.ROOT / name).is_file(), name


def test_an_extension_older_than_its_source_is_stale_and_refused(tree: Path) -> None:
    _compile(tree / "streams/engine.py", age_secs=10)
    _compile(tree / "streams/risk/rules.py")

    assert stale(tree) == [tree / "streams/engine.py"]
    with pytest.raises(StaleBuildError, match=r"streams/engine.py .*make build"):
        check_fresh(tree)


def test_fresh_extensions_and_pure_sources_pass(tree: Path) -> None:
    _compile(tree / "streams/engine.py")

    assert extension_of(tree / "streams/engine.py") is not None
    assert extension_of(tree / "streams/risk/rules.py") is None
    check_fresh(tree)


def test_extensions_without_their_group_library_cannot_load(tree: Path) -> None:
    _compile(tree / "streams/engine.py")
    (tree / ("streams/native__mypyc" + _SUFFIX)).unlink()

    assert stale(tree) == [tree / "streams/engine.py"]


def test_a_build_of_another_module_list_is_stale_as_a_whole(tree: Path) -> None:
    _compile(tree / "streams/engine.py")
    _tree(tree, "streams/trading/core.py")  # a module added to the globs since the build

    assert stale(tree) == [tree / "streams/engine.py"]
    (tree / "build/mypyc/modules.txt").unlink()
    assert stale(tree) == [tree / "streams/engine.py"]


def test_clean_removes_the_extensions_and_the_group(tree: Path) -> None:
    _compile(tree / "streams/engine.py")
    # compiled by the last build (listed in its manifest), no longer matched by the globs
    orphan = _compile(_tree(tree, "streams/old.py")[0])
    (tree / "build/mypyc/modules.txt").write_text("streams/engine.py\nstreams/old.py\n")

    assert compiled.clean(tree) == 3
    assert not orphan.exists()
    assert extension_of(tree / "streams/engine.py") is None
    assert not list(tree.rglob("*" + _SUFFIX))


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, True), ("1", True), ("yes", True), ("0", False), ("false", False), (" Off ", False)],
)
def test_the_switch_reads_the_environment(value: str | None, expected: bool) -> None:
    environ = {} if value is None else {"PRIMESTREAM_COMPILE": value}

    assert wanted(environ) is expected


def test_the_hot_path_runs_compiled_unless_switched_off() -> None:
    # `make unit` / `make test` build first: this fails if the build did not happen, or if
    # a module in the list silently stayed Python.
    modules = [
        ".".join(path.relative_to(compiled.ROOT).with_suffix("").parts)
        for path in sources(compiled.ROOT)
    ]
    loaded = {name: importlib.import_module(name).__file__ or "" for name in modules}
    pure = sorted(name for name, file in loaded.items() if file.endswith(".py"))
    if wanted():
        assert pure == [], "run `make build` (or set PRIMESTREAM_COMPILE=0 for pure Python)"
    else:
        assert pure == sorted(modules)
