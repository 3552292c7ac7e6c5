"""Suite-wide settings: property tests draw the same examples on every run and machine."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]

settings.register_profile("rolegraph", derandomize=True, database=None, deadline=None)
settings.load_profile("rolegraph")


@pytest.fixture(autouse=True)
def _nothing_written_into_the_checkout() -> Iterator[None]:
    """A test writes under its tmp_path: a store left in the checkout fails the test."""
    before = {p.name for p in ROOT.glob("*.db*")}
    yield
    leaked = sorted(p.name for p in ROOT.glob("*.db*") if p.name not in before)
    assert not leaked, f"the test wrote {leaked} into the checkout"
