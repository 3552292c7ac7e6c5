"""Exported modules carry the spec as data: no text from a spec ever becomes code."""

import ast
import base64
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator import Workflow, WorkflowSpec, deploy
from orchestrator.errors import ExportError, SpecFormatError
from orchestrator.export import LANGGRAPH_CONFIG, export_langgraph, render_module, write_module
from orchestrator.serve import load_workflow

ROOT = Path(__file__).resolve().parents[2]
PAYLOAD = re.compile(
    r'SPEC_HASH = "[0-9a-f]{16}"|_SPEC_BASE64 = \(\n(?:    "[A-Za-z0-9+/=]+"\n)+\)'
)

HOSTILE = [
    '"""; open("PWNED", "w").write("owned"); """',
    "'''; open('PWNED', 'w').write('owned'); '''",
    '\\"""\nimport os; os.system("touch PWNED")\n"""',
    "{__import__('os').system('touch PWNED')}",
    "\x00\r\n\u2028 end",
]


def spec_with(text: str, name: str = "hostile") -> WorkflowSpec:
    return (
        Workflow(name, description=text)
        .add_agent("s", role="solver", model="sim:atlas-mini", prompt=text, options={"o": text})
        .add_agent("c", role="verifier", model="sim:atlas-pro", prompt=text)
        .add_agent("f", role="rectifier", model="sim:atlas-mini")
        .add_edge("s", "c")
        .add_edge("c", "f")
        .add_loop("f", "c", max_rounds=2)
        .build()
        .model_copy(update={"metadata": {"note": text}})
    )


def skeleton(module_text: str) -> str:
    """The module's code with the payload and the hash taken out."""
    return PAYLOAD.sub("<data>", module_text)


def test_the_spec_name_that_injected_code_is_now_refused():
    # On the branch point this name went into the module's docstring and ran on import.
    with pytest.raises(SpecFormatError, match="workflow names use"):
        spec_with("x", name='x"""; open("PWNED","w").write("owned"); """')


@pytest.mark.slow
def test_a_smuggled_hostile_name_still_cannot_run_code(tmp_path):
    # Even a spec whose name got past validation (here by force) exports as data only.
    spec = spec_with("x")
    object.__setattr__(spec, "name", 'x"""; open("PWNED", "w").write("owned"); """')
    path = write_module(spec, tmp_path / "flow.py")
    done = subprocess.run(
        [sys.executable, str(path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        input="",
    )
    assert not (tmp_path / "PWNED").exists()
    assert done.returncode != 0 and "SpecFormatError" in done.stderr  # refused on import


@pytest.mark.slow
def test_importing_an_export_of_hostile_text_runs_nothing(tmp_path):
    paths = [
        write_module(spec_with(text), tmp_path / f"flow{i}.py") for i, text in enumerate(HOSTILE)
    ]
    script = (
        "import importlib.util, json, sys\n"
        "out = []\n"
        "for path in sys.argv[1:]:\n"
        "    spec = importlib.util.spec_from_file_location('m', path)\n"
        "    module = importlib.util.module_from_spec(spec)\n"
        "    spec.loader.exec_module(module)\n"
        "    out.append([module.spec.hash, module.spec.description])\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert not (tmp_path / "PWNED").exists()
    loaded = json.loads(done.stdout)
    assert loaded == [[spec_with(text).hash, text] for text in HOSTILE]


def test_every_module_has_the_same_code():
    texts = [render_module(spec_with(text)) for text in HOSTILE]
    texts.append(
        render_module(Workflow("x").add_agent("a", role="solver", model="sim:atlas-mini").build())
    )
    assert len({skeleton(text) for text in texts}) == 1
    for text in texts:
        assert "PWNED" not in text and "hostile" not in text


def test_the_module_docstring_holds_no_spec_text():
    spec = spec_with("some description", name="marker-name-1234")
    text = render_module(spec)
    docstring = ast.get_docstring(ast.parse(text))
    assert "marker-name-1234" not in text and "some description" not in text
    assert docstring is not None and "embedded below as data" in docstring


@settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.text(max_size=60))
def test_any_free_text_round_trips_through_the_module_as_data(text):
    spec = spec_with(text)
    module_text = render_module(spec)
    assert skeleton(module_text) == skeleton(render_module(spec_with("")))
    tree = ast.parse(module_text)
    payload = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and node.targets[0].id == "_SPEC_BASE64"
    )
    assert isinstance(payload, ast.Constant)
    loaded = WorkflowSpec.from_json(base64.b64decode(payload.value))
    assert loaded == spec and loaded.hash == spec.hash


def test_a_changed_hash_warns(tmp_path):
    spec = spec_with("x")
    path = write_module(spec, tmp_path / "flow.py")
    path.write_text(path.read_text().replace(spec.hash, "0" * 16))
    module_spec = importlib.util.spec_from_file_location("flow_warns", path)
    module = importlib.util.module_from_spec(module_spec)
    with pytest.warns(RuntimeWarning, match="hashes to"):
        module_spec.loader.exec_module(module)
    assert module.spec == spec


# --- LangGraph deployments -------------------------------------------------------------


def test_export_langgraph_writes_a_module_and_its_config(tmp_path):
    spec = spec_with("hello", name="self-refine")
    config_path = export_langgraph(spec, tmp_path / "app")
    assert config_path == tmp_path / "app" / LANGGRAPH_CONFIG
    config = json.loads(config_path.read_text())
    assert config == {
        "dependencies": [".", "rolegraph"],
        "graphs": {"self_refine": "./self_refine.py:graph"},
    }
    module_path, attribute = config["graphs"]["self_refine"].split(":")
    assert attribute == "graph"
    loaded = load_workflow(config_path.parent / module_path)
    assert loaded.hash == spec.hash


def test_export_langgraph_adds_to_an_existing_config(tmp_path):
    first = spec_with("a", name="one")
    second = Workflow("two").add_agent("s", role="solver", model="openai:gpt-4o-mini").build()
    export_langgraph(first, tmp_path, env=".env")
    config = json.loads(
        export_langgraph(second, tmp_path, graph_id="second", module="flow_two").read_text()
    )
    assert config["graphs"] == {"one": "./one.py:graph", "second": "./flow_two.py:graph"}
    assert config["dependencies"] == [".", "rolegraph", "langchain-openai"]
    assert config["env"] == ".env"
    assert (tmp_path / "flow_two.py").exists()


def test_export_langgraph_refuses_bad_targets(tmp_path):
    spec = spec_with("a")
    with pytest.raises(ExportError, match="not a Python module name"):
        export_langgraph(spec, tmp_path, module="my-flow")
    (tmp_path / LANGGRAPH_CONFIG).write_text("[1, 2]")
    with pytest.raises(ExportError, match="not a LangGraph config"):
        export_langgraph(spec, tmp_path)
    (tmp_path / LANGGRAPH_CONFIG).write_text("{oops")
    with pytest.raises(ExportError, match="cannot add a graph"):
        export_langgraph(spec, tmp_path)


@pytest.mark.slow
def test_the_langgraph_cli_validates_the_config(tmp_path):
    pytest.importorskip("langgraph_cli")
    config_path = export_langgraph(spec_with("a", name="checked"), tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "langgraph_cli", "validate", "-c", str(config_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "LANGGRAPH_CLI_NO_ANALYTICS": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "is valid" in done.stdout and "1 graph found" in done.stdout


def test_deployed_workflows_still_export_modules(tmp_path):
    workflow = deploy(spec_with("x"))
    path = workflow.export(tmp_path / "flow.py")
    assert skeleton(path.read_text()) == skeleton(render_module(spec_with("")))


def _doubt() -> WorkflowSpec:
    import tests.orchestrator.skeptic_role  # noqa: F401  (registers 'skeptic' and 'double')

    return (
        Workflow("doubt")
        .add_agent("s", role="skeptic", model="sim:atlas-mini", tools=["double"])
        .build()
    )


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from search.cli import app; app()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        timeout=300,
    )


@pytest.mark.slow
def test_an_exported_workflow_imports_the_modules_of_its_custom_role_and_tool(tmp_path):
    path = write_module(_doubt(), tmp_path / "doubt.py")
    assert '["tests.orchestrator.skeptic_role"]' in path.read_text()
    done = subprocess.run(
        [sys.executable, str(path), "What is 3 + 4?"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "model calls" in done.stderr


@pytest.mark.slow
def test_run_and_validate_take_the_module_that_registers_a_custom_role(tmp_path):
    spec = _doubt().save(tmp_path / "doubt.json")
    refused = _cli("run", str(spec), "What is 3 + 4?", cwd=ROOT)
    assert refused.returncode != 0 and "unknown role 'skeptic'" in refused.stderr
    ran = _cli("--import", "tests.orchestrator.skeptic_role", "run", str(spec), "What is 3 + 4?",
               cwd=ROOT)  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-2000:]
    by_env = _cli("validate", str(spec), cwd=ROOT,
                  env={"ROLEGRAPH_IMPORT": "tests.orchestrator.skeptic_role"})  # fmt: skip
    assert by_env.returncode == 0 and "valid doubt" in by_env.stdout, by_env.stderr
    missing = _cli("--import", "no_such_module_here", "validate", str(spec), cwd=ROOT)
    assert missing.returncode != 0 and "cannot import module 'no_such_module_here'" in (
        missing.stderr
    )


def test_a_role_registered_in_a_script_cannot_be_exported_by_name():
    from orchestrator import Role, register_role
    from orchestrator.roles.contracts import SolverOutput

    exec(  # as a script run with `python script.py` would register it
        "register_role(Role(name='scripted', user='{{question}}', output=SolverOutput), "
        "replace=True)",
        {"__name__": "__main__", "register_role": register_role, "Role": Role,
         "SolverOutput": SolverOutput},
    )  # fmt: skip
    spec = Workflow("s").add_agent("a", role="scripted", model="sim:atlas-mini").build()
    with pytest.raises(ExportError, match="role 'scripted' of agent 'a' was registered in a"):
        write_module(spec, Path("never-written.py"))
