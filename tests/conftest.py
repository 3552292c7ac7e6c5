"""Suite-wide settings: the same property-test examples everywhere, no state left between
tests, and the order pytest-xdist starts modules in."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]

settings.register_profile("rolegraph", derandomize=True, database=None, deadline=None)
settings.load_profile("rolegraph")


@pytest.fixture(autouse=True)
def _no_debug_flag_left_over() -> Iterator[None]:
    """A CLI test run with ``--debug`` sets the flag for the process: each test starts without."""
    from orchestrator.cli import _DEBUG

    token = _DEBUG.set(False)
    yield
    _DEBUG.reset(token)


@pytest.fixture(autouse=True)
def _nothing_written_into_the_checkout() -> Iterator[None]:
    """A test writes under its tmp_path: a store left in the checkout fails the test."""
    before = {p.name for p in ROOT.glob("*.db*")}
    yield
    leaked = sorted(p.name for p in ROOT.glob("*.db*") if p.name not in before)
    assert not leaked, f"the test wrote {leaked} into the checkout"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist, the modules behind a costly session fixture start first.

    The README's test command spreads whole modules over the workers (``--dist
    loadscope``), so a module's fixtures are built once. A module whose tests share a
    session fixture of ours (the README example search, minutes) goes first, so that it
    does not start last and keep one worker busy while the other waits.
    """
    if not hasattr(config, "workerinput"):  # not an xdist worker: keep the file order
        return
    first = {_module(item) for item in items if _uses_a_session_fixture(item)}
    items.sort(key=lambda item: _module(item) not in first)


def _module(item: pytest.Item) -> str:
    return item.nodeid.split("::")[0]


def _uses_a_session_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(
        fixturedef.baseid and fixturedef.scope == "session"  # baseid "": pytest's or a plugin's
        for name in info.names_closure
        for fixturedef in info.name2fixturedefs.get(name, ())
    )
