"""Fixtures of the schemas tests."""

from __future__ import annotations

import pytest

from tests.unit.schemas.support import FakeRegistry


@pytest.fixture
def registry() -> FakeRegistry:
    return FakeRegistry(first_id=100_000)
