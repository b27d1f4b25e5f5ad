"""Which modules run compiled (mypyc), building them in place, and refusing stale builds.

The hot path of the worker (indicators, strategies, the risk book, the trading core, the
edge types) is plain typed Python that mypyc compiles to C extensions beside the sources:
the same code, type-checked by the same mypy, with no second implementation to drift.
Compiled, the alert-only worker runs ~1.6x as many quotes a second (BENCHMARKS.md,
"Compiled hot path").

Python loads `engine.cpython-311-*.so` in preference to `engine.py`, so an edit to a
compiled source that is not rebuilt would run the old code silently; `check_fresh` (called
when `streams` is imported) refuses that with the command that fixes it. Every `make`
target rebuilds what changed; `PRIMESTREAM_COMPILE=0` keeps (or returns to) pure Python.

    python -m infra.compiled [build|clean|status]
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from infra.exceptions import InfraError

__all__ = [
    "COMPILED",
    "NOT_COMPILED",
    "StaleBuildError",
    "build",
    "check_fresh",
    "clean",
    "extension_of",
    "main",
    "sources",
    "stale",
    "wanted",
]

ROOT = Path(__file__).resolve().parent.parent

# Globs relative to the repository root. Package `__init__`s stay Python (they re-export).
COMPILED: tuple[str, ...] = (
    "streams/edge.py",
    "streams/engine.py",
    "streams/sentiment.py",
    "streams/indicators/[a-z]*.py",
    "streams/strategies/[a-z]*.py",
    "streams/risk/[a-z]*.py",
    "streams/trading/[a-z]*.py",
    "streams/positions/[a-z]*.py",
    "streams/runtime/records.py",
    "streams/ordering.py",
)
# What mypyc cannot compile as written, and why it stays Python:
NOT_COMPILED: dict[str, str] = {
    # a runtime-checkable Protocol, for users' own indicators
    "streams/indicators/protocol.py": "runtime-checkable Protocol",
}
_GROUP = "streams.native"
_SWITCH = "PRIMESTREAM_COMPILE"


class StaleBuildError(InfraError, ImportError):
    """A compiled module is older than its source: Python would run the old code."""


def sources(root: Path = ROOT) -> list[Path]:
    """Return the sources that are compiled, sorted."""
    found = {path for pattern in COMPILED for path in root.glob(pattern)}
    skipped = {root / name for name in NOT_COMPILED}
    return sorted(found - skipped)


def extension_of(source: Path) -> Path | None:
    """Return the compiled module that Python would load instead of SOURCE, if any."""
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = source.with_name(source.stem + suffix)
        if candidate.exists():
            return candidate
    return None


def _group_library(root: Path) -> Path | None:
    found = sorted(root.glob(_GROUP.replace(".", "/") + "__mypyc.*"))
    return found[0] if found else None


def _manifest(root: Path) -> Path:
    """Where a build lists the modules its group library holds."""
    return root / "build" / "mypyc" / "modules.txt"


def _listing(root: Path) -> str:
    return "".join(f"{path.relative_to(root).as_posix()}\n" for path in sources(root))


def stale(root: Path = ROOT) -> list[Path]:
    """Return the sources whose compiled module is older than them, or cannot load.

    The group library holds the C code of every module and links them natively (a compiled
    module calls another's functions directly): when `COMPILED` changed since the build,
    every compiled module is stale.
    """
    built = [(source, extension_of(source)) for source in sources(root)]
    manifest = _manifest(root)
    if (
        _group_library(root) is None
        or not manifest.exists()
        or manifest.read_text() != _listing(root)
    ):
        return [source for source, extension in built if extension is not None]
    return [
        source
        for source, extension in built
        if extension is not None and extension.stat().st_mtime < source.stat().st_mtime
    ]


def _extensions(root: Path) -> list[Path]:
    manifest = _manifest(root)
    # A module compiled by the last build and taken off the globs since: its extension
    # would still shadow its source.
    built = manifest.read_text().split() if manifest.exists() else []
    candidates = {*sources(root), *(root / name for name in built)}
    found = sorted(ext for ext in map(extension_of, candidates) if ext is not None)
    group = _group_library(root)
    return found + ([group] if group is not None else [])


def check_fresh(root: Path = ROOT) -> None:
    """Raise StaleBuildError if a compiled module is older than its source."""
    old = stale(root)
    if old:
        names = ", ".join(str(path.relative_to(root)) for path in old[:3])
        more = f" and {len(old) - 3} more" if len(old) > 3 else ""
        raise StaleBuildError(
            f"{names}{more} changed after being compiled: run `make build` "
            f"(or `{_SWITCH}=0 make build` for pure Python)"
        )


def wanted(environ: dict[str, str] | None = None) -> bool:
    """Return False when PRIMESTREAM_COMPILE is 0/false/no/off (pure Python wanted)."""
    value = (os.environ if environ is None else environ).get(_SWITCH, "1")
    return value.strip().lower() not in {"0", "false", "no", "off"}


def clean(root: Path = ROOT) -> int:
    """Remove every compiled module of ours; return how many files went."""
    removed = _extensions(root)
    for path in removed:
        path.unlink()
    return len(removed)


def build(root: Path = ROOT) -> float:
    """Compile `sources()` in place with mypyc; return the seconds it took."""
    # Imported here: mypy and setuptools are build tools, not runtime dependencies.
    from mypyc.build import mypycify
    from setuptools import setup

    started = time.monotonic()
    clean(root)
    cwd = Path.cwd()
    os.chdir(root)  # mypycify names modules by their paths relative to the working dir
    try:
        paths = [str(path.relative_to(root)) for path in sources(root)]
        setup(
            name=_GROUP,
            ext_modules=mypycify(paths, opt_level="3", group_name=_GROUP),
            script_args=["--quiet", "build_ext", "--inplace", "--build-temp", "build/mypyc"],
        )
    finally:
        os.chdir(cwd)
    # setuptools copies a module unchanged since an earlier build with its old mtime: stamp
    # them all as built now, which is what `stale` compares against the sources.
    for extension in _extensions(root):
        os.utime(extension)
    _manifest(root).parent.mkdir(parents=True, exist_ok=True)
    _manifest(root).write_text(_listing(root))
    return time.monotonic() - started


def _status(root: Path) -> str:
    total = len(sources(root))
    compiled = sum(extension_of(path) is not None for path in sources(root))
    old = len(stale(root))
    if compiled == 0:
        return f"pure Python ({total} modules could be compiled: make build)"
    return f"compiled: {compiled}/{total} modules" + (f", {old} STALE (make build)" if old else "")


def main(argv: Sequence[str] | None = None) -> int:
    """Build (default, only when something changed), clean, or report the compiled modules."""
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args else "build"
    if command == "status":
        print(_status(ROOT))
        return 0
    if command == "clean" or (command == "build" and not wanted()):
        removed = clean(ROOT)
        print(f"pure Python ({removed} compiled files removed)" if removed else "pure Python")
        return 0
    if command != "build":
        print(f"unknown command {command!r}: build, clean or status", file=sys.stderr)
        return 2
    missing = [path for path in sources(ROOT) if extension_of(path) is None]
    if not missing and not stale(ROOT):
        print(_status(ROOT))
        return 0
    print(f"· compiling {len(sources(ROOT))} modules with mypyc (about a minute)…", flush=True)
    secs = build(ROOT)
    print(f"{_status(ROOT)} in {secs:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
