"""Pictures: Mermaid for every spec, and a PNG when matplotlib is installed."""

import builtins

import pytest

from orchestrator import spec_mermaid
from orchestrator.errors import MissingIntegrationError
from topologies import mermaid, mermaid_markdown, save_png, self_refine, tree


def test_mermaid_shows_roles_models_and_loops():
    spec = self_refine(verifier="sim:atlas-pro")
    text = mermaid(spec)
    assert text == spec_mermaid(spec)
    assert "verifier<br/><small>verifier · sim:atlas-pro</small>" in text
    assert 'rectifier -. "if rejected, max 1" .-> verifier' in text


def test_mermaid_markdown_is_a_fenced_block():
    block = mermaid_markdown(tree(depth=1, breadth=2), title="tree")
    assert block.startswith("**tree**\n\n```mermaid\nflowchart TD\n")
    assert block.endswith("```\n")


def test_png_needs_matplotlib(monkeypatch, tmp_path):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(MissingIntegrationError, match=r"rolegraph\[plot\]"):
        save_png(self_refine(), tmp_path / "refine.png")


def test_png_is_drawn(tmp_path):
    pytest.importorskip("matplotlib")
    spec = self_refine()
    path = save_png(spec, tmp_path / "refine.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert spec.structure.forward.nodes["solver"] == {}  # the spec's graph is untouched
