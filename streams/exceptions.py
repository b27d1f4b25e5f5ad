"""Errors of the stream logic: a bad strategy config, a bad parameter, an unusable input."""

from __future__ import annotations

from infra.exceptions import PrimestreamError

__all__ = ["ConfigError", "InvalidInputError", "ParamError"]


class ConfigError(PrimestreamError, ValueError):
    """A strategy config cannot be used; says which file, strategy and key, and why.

    `str(err)` is one line: `"<source>: strategy '<name>': <key> = <value>: <problem>"`,
    with the strategy and key parts left out when they do not apply.
    """

    def __init__(
        self,
        source: str,
        problem: str,
        *,
        strategy: str | None = None,
        key: str | None = None,
        value: object = None,
    ) -> None:
        parts = [source]
        if strategy is not None:
            parts.append(f"strategy {strategy!r}")
        if key is not None:
            parts.append(f"{key} = {value!r}")
        parts.append(problem)
        super().__init__(": ".join(parts))
        self.source = source
        self.problem = problem
        self.strategy = strategy
        self.key = key
        self.value = value


class ParamError(PrimestreamError, ValueError):
    """A strategy parameter is unknown, of the wrong type or out of range."""

    def __init__(self, key: str, value: object, problem: str) -> None:
        super().__init__(f"{key} = {value!r}: {problem}")
        self.key = key
        self.value = value
        self.problem = problem


class InvalidInputError(PrimestreamError, ValueError):
    """A value handed to the pure stream logic is unusable: NaN, infinite or out of range.

    Corrupt data must not flow on; the caller routes the record that carried it to the
    dead-letter topic.
    """
