"""Every sim reaches the state its chapter promises: the same code ``python -m sims check`` runs."""

import pytest

from sims.base import discover
from sims.check import cases, run_scenario
from tests.runs import RUNS

CASES = cases(discover())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("cls", "scenario", "seed"),
    CASES,
    ids=[
        f"{cls.slug}-{scenario.name.replace(' ', '_')}-seed{seed}" for cls, scenario, seed in CASES
    ],
)
def test_sim_reaches_expected_state(cls, scenario, seed):
    rows = run_scenario(cls, scenario, seed, RUNS)
    failed = [f"{r.metric} = {r.value:.4g}, wanted {r.op} {r.target:g}" for r in rows if not r.ok]
    assert not failed, "; ".join(failed)
