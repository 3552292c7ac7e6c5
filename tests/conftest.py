"""Suite-wide settings: property tests draw the same examples on every run and machine."""

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
    """Under pytest-xdist, tests that share a costly fixture of ours run on one worker.

    A session or module fixture is built once per worker: split across two workers, the
    README example search (minutes) or a Ray cluster would be built twice.
    """
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        group = _shared_fixture_group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


def _shared_fixture_group(item: pytest.Item) -> str | None:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    module = None
    for name in info.names_closure:
        for fixturedef in info.name2fixturedefs.get(name, ()):
            if not fixturedef.baseid:  # pytest's and plugins' own fixtures
                continue
            if fixturedef.scope == "session":
                return f"session:{name}"
            if fixturedef.scope in ("module", "package", "class"):
                module = item.nodeid.split("::")[0]
    return module
