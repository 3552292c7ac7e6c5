"""No winner without evidence: failed or floor-scoring searches crown nothing."""

import pytest

from orchestrator.sim import get_profile, register_profile
from search.runner import create_search
from search.space import SearchSpace

# A model whose every reply is unreadable, and one that reads but always gets it wrong.
register_profile(
    get_profile("atlas-mini").model_copy(update={"name": "nw-garbled", "garble_rate": 1.0}),
    replace=True,
)
register_profile(
    get_profile("atlas-mini").model_copy(
        update={"name": "nw-wrong", "reasoning": 0.0, "arithmetic": 0.0, "garble_rate": 0.0,
                "format_error_rate": 0.0}
    ),
    replace=True,
)  # fmt: skip


def search(tmp_path, model):
    return create_search(
        space=SearchSpace(topologies=["single"], pool=[model]),
        dataset="bundled:arithmetic",
        strategy="grid",
        store=tmp_path / "rg.db",
        name="nw",
    )


@pytest.mark.parametrize(
    ("model", "reason"),
    [
        ("sim:nw-garbled", "every run of all"),
        ("sim:nw-wrong", "scored 0 on every task"),
    ],
)
def test_a_search_whose_candidates_all_fail_or_score_zero_has_no_winner(tmp_path, model, reason):
    result = search(tmp_path, model).run()
    certificate = result.certificate
    assert result.best is None and result.best_stats is None and result.test is None
    assert certificate is not None and certificate.verdict == "no_winner"
    assert reason in certificate.reason
    assert certificate.hint
    text = " ".join(certificate.lines) + result.stop_reason
    assert "confidence" not in text and "Shipping" not in text
    if model == "sim:nw-garbled":
        assert certificate.errors and max(certificate.errors.values()) > 0
        assert certificate.examples


def test_the_cli_says_no_winner(tmp_path):
    from search.cli.output import console, print_result

    result = search(tmp_path, "sim:nw-garbled").run()
    with console.capture() as captured:
        print_result(result)
    out = captured.get()
    assert "NO WINNER" in out and "Hint:" in out and "Most common errors" in out
    assert "best:" not in out


def test_baselines_are_always_run_and_marked(tmp_path):
    # The space holds only votes; the single-agent baselines and self-consistency join it.
    pool = ["sim:atlas-nano", "sim:atlas-mini"]
    result = create_search(
        space=SearchSpace(topologies=["vote_ensemble"], pool=pool,
                          fixed={"vote_ensemble": {"n": 3, "weighted": False}}),
        dataset="bundled:arithmetic", strategy="grid", store=tmp_path / "rg.db",
    ).run()  # fmt: skip
    marked = {c.label: c.baseline for c in result.candidates if c.baseline}
    singles = [label for label, kind in marked.items() if kind == "single"]
    assert sorted(singles) == [
        "single(model=atlas-mini, temperature=0.0)",
        "single(model=atlas-nano, temperature=0.0)",
    ]
    assert list(marked.values()).count("self-consistency") == 1
    baselines = [c for c in result.candidates if c.baseline]
    assert all(c.complete and c.n_tasks == result.n_search_tasks for c in baselines)
    # They are finalists of the certificate, compared on the same tasks.
    certificate = result.certificate
    assert {c.workflow for c in baselines} <= {s.workflow for s in certificate.standings}
    assert certificate.baseline in {c.workflow for c in baselines}
