"""The contract every registered sim keeps: reproducible, resettable, drawable, documented."""

import math

import numpy as np
import param
import pytest

from sims.base import REGISTRY, Expect, History, Metric, Scenario, Sim, Verdict, discover

SIMS = list(discover().values())


def test_registry_finds_the_foundation_sims():
    assert {"agreement", "collapse"} <= set(REGISTRY)


@pytest.mark.parametrize("cls", SIMS, ids=lambda c: c.slug)
def test_same_seed_same_trajectory(cls):
    a, b = cls(seed=3), cls(seed=3)
    losses_a = [a.step()["loss"] for _ in range(5)]
    losses_b = [b.step()["loss"] for _ in range(5)]
    assert losses_a == losses_b
    for key, value in a.snapshot().items():
        np.testing.assert_array_equal(value, b.snapshot()[key], err_msg=key)


@pytest.mark.parametrize("cls", SIMS, ids=lambda c: c.slug)
def test_other_seed_other_trajectory(cls):
    assert cls(seed=1).run(3)["loss"] != cls(seed=2).run(3)["loss"]


@pytest.mark.parametrize("cls", SIMS, ids=lambda c: c.slug)
def test_reset_returns_to_the_first_frame(cls):
    sim = cls()
    first = sim.snapshot()
    sim.run(10)
    assert sim.steps == 10
    sim.reset()
    assert sim.steps == 0
    for key, value in first.items():
        np.testing.assert_array_equal(value, sim.snapshot()[key], err_msg=key)


@pytest.mark.parametrize("cls", SIMS, ids=lambda c: c.slug)
def test_step_and_measure_return_finite_floats(cls):
    sim = cls()
    metrics = sim.step()
    assert "loss" in metrics
    for name, value in {**metrics, **sim.measure()}.items():
        assert isinstance(value, float), name
        assert math.isfinite(value), name


@pytest.mark.parametrize("cls", SIMS, ids=lambda c: c.slug)
def test_params_are_bounded_and_documented(cls):
    for name, p in cls.param.objects().items():
        if name == "name":
            continue
        assert p.doc, f"{cls.__name__}.{name} has no doc (it is the slider's tooltip)"
        if isinstance(p, param.Number):
            assert p.bounds is not None and None not in p.bounds, f"{name} is unbounded"


@pytest.mark.parametrize("cls", SIMS, ids=lambda c: c.slug)
def test_every_scenario_names_measured_metrics(cls):
    measured = cls().measure()
    for scenario in cls.scenarios:
        for expect in scenario.expect:
            assert expect.metric in measured, (scenario.name, expect.metric)


@pytest.mark.parametrize("cls", SIMS, ids=lambda c: c.slug)
def test_declared_metrics_are_measured_and_documented(cls):
    assert cls.metrics, f"{cls.__name__} declares no metrics for its readouts"
    sim = cls()
    at_start = sim.measure()
    sim.run(3)
    trained = sim.measure()
    for key, metric in cls.metrics.items():
        assert key in at_start and key in trained, key
        assert isinstance(metric, Metric), key
        assert metric.label and metric.doc, f"{cls.__name__}.metrics[{key!r}]: label and doc"
        # the format itself must take a float (Metric.format would hide a bad one behind str)
        assert metric.format(trained[key]) == metric.fmt.format(trained[key])
        assert metric.format(0.5) == metric.fmt.format(0.5)


@pytest.mark.parametrize("cls", SIMS, ids=lambda c: c.slug)
def test_verdict_is_a_verdict_or_none(cls):
    sim = cls()
    sim.run(2)
    verdict = sim.verdict(sim.measure())
    assert verdict is None or isinstance(verdict, Verdict)


def test_history_thins_evenly_and_keeps_the_whole_run():
    history = History(3, every=2, limit=10)
    for step in range(50):
        history.add(step, step * 0.5, -step)
    table = history.array()  # (n, 3)
    assert table.dtype == np.float32 and table.shape[1] == 3
    assert 5 <= len(table) <= 10 and len(history) == len(table)
    assert table[0, 0] == 0 and np.all(np.diff(table[:, 0]) == table[1, 0])  # even spacing
    assert table[-1, 0] >= 49 - table[1, 0]  # reaches the end of the run
    np.testing.assert_array_equal(table[:, 1], table[:, 0] * 0.5)
    with pytest.raises(ValueError, match="expected 2 values"):
        history.add(60, 1.0)
    assert History(2).array().shape == (0, 2)


def test_expect_rejects_unknown_comparisons_and_nan():
    with pytest.raises(ValueError, match="op must be"):
        Expect("loss", "<", 1.0)
    assert not Expect("loss", "<=", 1.0).holds(float("nan"))
    assert Expect("loss", "<=", 1.0).holds(1.0)
    assert not Expect("loss", ">=", 1.0).holds(0.5)


def test_live_must_name_real_params():
    class Broken(Sim):
        live = ("no_such_param",)

        def setup(self):
            pass

    with pytest.raises(TypeError, match="no_such_param"):
        Broken()


def test_scenario_defaults_to_seed_zero():
    assert Scenario("x", steps=1, expect=()).seeds == (0,)
