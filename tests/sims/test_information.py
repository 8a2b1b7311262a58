"""The information chapter's sims: nats and bits, edge settings, and the known optima."""

import math

import numpy as np
import pytest

from sims.information_channel import SYMMETRIC, ChannelSim, Z
from sims.information_entropy import EntropySim
from sims.information_infomax import (
    INVERTIBLE,
    NONE,
    PROJECTION,
    InfoMaxSim,
    critical_noise,
    optimum_information,
)
from sims.information_kl import FORWARD, REVERSE, KLSim
from sims.units import BITS_PER_NAT, UNIT_KEY

SIMS = [EntropySim, KLSim, ChannelSim, InfoMaxSim]
ALL_ZERO = {f"weight_{i}": 0.0 for i in range(1, 7)}
FOUR_ZERO = {f"weight_{i}": w for i, w in enumerate((1.0, 0.0, 0.0, 0.5, 0.0, 0.0), 1)}


def nats_keys(cls):
    return [key for key, metric in cls.metrics.items() if metric.unit == "nats"]


# -- nats and bits ------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", SIMS)
@pytest.mark.parametrize("steps", [0, 25])
def test_bits_are_nats_over_log_2_and_the_run_is_the_same(cls, steps):
    nats, bits = cls(seed=3), cls(seed=3, in_bits=True)
    nats.run(steps)
    bits.run(steps)
    in_nats, in_bits = nats.measure(), bits.measure()
    assert in_nats[UNIT_KEY] == 0.0 and in_bits[UNIT_KEY] == 1.0
    assert set(in_nats) == set(in_bits)
    assert nats_keys(cls)
    for key in nats_keys(cls):
        assert in_bits[key] == pytest.approx(in_nats[key] * BITS_PER_NAT, rel=1e-12), key
    # the switch changes no number that is not information, and not the training
    assert in_bits["loss"] == in_nats["loss"]
    for key, metric in cls.metrics.items():
        if metric.unit != "nats":
            assert in_bits[key] == in_nats[key], key


@pytest.mark.parametrize("cls", SIMS)
def test_readout_labels_say_bits_only_when_in_bits(cls):
    for in_bits in (False, True):
        sim = cls(in_bits=in_bits)
        labels = sim.readout_metrics(sim.measure())
        assert set(labels) == set(cls.metrics)
        for key, metric in cls.metrics.items():
            expected = "bits" if in_bits and metric.unit == "nats" else metric.unit
            assert labels[key].unit == expected, key
            assert labels[key].label == metric.label
    sim = cls()
    assert sim.readout_metrics({UNIT_KEY: 0.0}) == cls.metrics
    assert all(m.unit != "nats" for m in sim.readout_metrics({UNIT_KEY: 1.0}).values())


# -- edge settings ------------------------------------------------------------------------------

EDGES = [
    (EntropySim, {"source": "custom", **ALL_ZERO}),
    (EntropySim, {"source": "custom", **FOUR_ZERO}),
    (EntropySim, {"source": "custom", **FOUR_ZERO, "in_bits": True}),
    *((KLSim, {"gap": 0.0, "direction": d}) for d in (FORWARD, REVERSE)),
    *(
        (KLSim, {"gap": 10.0, "mode_width": 0.3, "start_mean": -5.0, "direction": d})
        for d in (FORWARD, REVERSE)
    ),
    *(
        (ChannelSim, {"error": e, "kind": kind, "symbols": k})
        for e in (0.0, 1.0)
        for kind in (SYMMETRIC, Z)
        for k in (2, 6)
    ),
    *((InfoMaxSim, {"correlation": 0.0, "stage": s}) for s in (NONE, INVERTIBLE, PROJECTION)),
    *(
        (InfoMaxSim, {"units": m, "noise": 0.05, "stage": s})
        for m in (1, 4)
        for s in (NONE, INVERTIBLE, PROJECTION)
    ),
    (InfoMaxSim, {"correlation": 0.0, "units": 1, "noise": 0.05}),
    (InfoMaxSim, {"correlation": 0.0, "units": 4, "noise": 0.05, "stage": PROJECTION}),
]


@pytest.mark.parametrize(("cls", "settings"), EDGES)
def test_measurements_stay_finite_at_edge_settings(cls, settings):
    sim = cls(**settings)
    for steps in (0, 1, 49):  # measured after 0, 1 and 50 steps
        sim.run(steps)
        bad = {k: v for k, v in sim.measure().items() if not math.isfinite(v)}
        assert not bad, (sim.steps, bad)


# -- EntropySim ---------------------------------------------------------------------------------


def test_surprise_is_infinite_exactly_for_impossible_outcomes():
    sim = EntropySim(source="custom", **FOUR_ZERO)
    shot = sim.snapshot()
    p, surprise = shot["p"], shot["surprise"]
    np.testing.assert_allclose(p, [2 / 3, 0, 0, 1 / 3, 0, 0], rtol=0, atol=1e-7)
    assert np.array_equal(np.isinf(surprise), p == 0)
    assert np.all(surprise[p == 0] == np.inf)
    np.testing.assert_allclose(surprise[p > 0], -np.log(p[p > 0]), rtol=1e-6)  # float32 snapshot
    assert np.all(np.isfinite(shot["model_surprise"]))


def test_all_custom_weights_zero_is_a_fair_die():
    sim = EntropySim(source="custom", **ALL_ZERO)
    np.testing.assert_allclose(sim.snapshot()["p"], np.full(6, 1 / 6), rtol=0, atol=1e-7)  # f32
    assert sim.measure()["entropy"] == pytest.approx(math.log(6), rel=0, abs=1e-15)
    verdict = sim.verdict(sim.measure())
    assert verdict is not None and "fair die" in verdict.text
    other = EntropySim(source="custom", **FOUR_ZERO)
    verdict = other.verdict(other.measure())
    assert verdict is None or "fair die" not in verdict.text


# -- KLSim --------------------------------------------------------------------------------------


@pytest.mark.parametrize("direction", [FORWARD, REVERSE])
def test_both_kls_are_never_negative(direction):
    sim = KLSim(direction=direction)
    for _ in range(200):
        sim.step()
        m = sim.measure()
        assert m["kl_forward"] >= 0.0 and m["kl_reverse"] >= 0.0, (sim.steps, m)


# -- InfoMaxSim ---------------------------------------------------------------------------------


def test_critical_noise():
    assert critical_noise(0.8) == pytest.approx(math.sqrt(0.36 / 0.8), rel=1e-15)
    assert critical_noise(0.0) == math.inf


@pytest.mark.parametrize("noise", [0.3, 2.0])
def test_trained_units_reach_the_closed_form_optimum(noise):
    """Below the switch (0.3) the units split the input, above it (2.0) they agree."""
    sim = InfoMaxSim(noise=noise)
    sim.run(1500)
    m = sim.measure()
    assert optimum_information(0.8, noise, 2) == pytest.approx(m["mi"], abs=1e-6)
    assert m["mi_optimum"] == pytest.approx(m["mi"], abs=1e-6)
