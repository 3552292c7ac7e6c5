"""The README's two commands stay true: CI runs the test command verbatim."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section)


def test_readme_has_exactly_two_commands():
    commands = _commands()
    assert len(commands) == 2
    assert all("\n" not in command for command in commands)
    assert "rolegraph search" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _commands()[1] in ci.splitlines()


def test_main_job_script_exists():
    main = _commands()[0]
    for script in re.findall(r"(examples/\S+\.py)", main):
        assert (ROOT / script).is_file()


def test_benchmark_scripts_do_not_shadow_the_packages():
    # A script runs with benchmarks/ first on sys.path: a benchmarks/search.py would
    # be imported instead of the search package.
    packages = {"orchestrator", "topologies", "search"}
    scripts = {path.stem for path in (ROOT / "benchmarks").glob("*.py")}
    assert not scripts & packages
