"""Every figure the information lesson quotes, recomputed (see ``tests/lessons/figures.py``).

Each case is (text the lesson must contain, the figure in that text, how to get the value,
how many decimals the text shows). Values from training must round to the quoted figure on
every seed.
"""

from __future__ import annotations

import math
from functools import cache

import pytest

from models.information import binary_entropy, z_channel_capacity
from sims.information_channel import ChannelSim, Z
from sims.information_entropy import EntropySim
from sims.information_infomax import InfoMaxSim, critical_noise, predicted_cosine
from sims.information_kl import FORWARD, REVERSE, KLSim
from tests.lessons.figures import lesson, quoted, rounds_to

SEEDS = (0, 1, 2)
BITS = 1 / math.log(2)
LESSON = lesson("information")


@cache
def kl_fit(direction: str, gap: float, seed: int) -> dict[str, float]:
    sim = KLSim(direction=direction, gap=gap, seed=seed)
    sim.run(1500)
    return sim.measure()


def over_seeds(direction: str, gap: float, key: str) -> list[float]:
    return [kl_fit(direction, gap, seed)[key] for seed in SEEDS]


def entropy_bits(source: str) -> float:
    """The entropy the sim's own source reports, in bits."""
    return EntropySim(source=source, in_bits=True).measure()["entropy"]


CLOSED_FORMS = [
    ("heads 9 times in 10 only 0.469 bits", 0.469, entropy_bits("unfair coin"), 3),
    ("a fair die $\\log_2 6 \\approx 2.585$ bits", 2.585, entropy_bits("fair die"), 3),
    ("$1\\text{ nat} = 1/\\ln 2 \\approx 1.443$ bits", 1.443, BITS, 3),
    ("onto the entropy line, 0.325 nats", 0.325, entropy_bits("unfair coin") / BITS, 3),
    ("the same line reads 0.469 bits", 0.469, entropy_bits("unfair coin"), 3),
    ("*fair die*: 2.585 bits", 2.585, math.log2(6), 3),
    ("spread $\\sqrt{17} = 4.12$", 4.12, math.sqrt(1 + 0.25 * 64), 2),
    ("$1 - H_b(0.1) = 0.531$ bits", 0.531, 1 - binary_entropy(0.1) * BITS, 3),
    ("42.1% of the time", 42.1, 100 * z_channel_capacity(0.3)[1], 1),
    ("reaches 0.504 bits", 0.504, z_channel_capacity(0.3)[0] * BITS, 3),
    ("$p^\\star = 0.4$", 0.4, z_channel_capacity(0.5)[1], 1),
    ("$C = \\log_2 1.25 = 0.322$ bits", 0.322, z_channel_capacity(0.5)[0] * BITS, 3),
    ("$\\sigma = \\sqrt{(1-\\rho^2)/\\rho} = 0.671$", 0.671, critical_noise(0.8), 3),
    ("at $\\sigma = 0.5$, 0.556", 0.556, predicted_cosine(0.8, 0.5), 3),
    ("which is $17$ at the defaults", 17, 1 + 0.25 * 64, 0),
    ("KL(q‖p) = 0.693 nats $= \\ln 2$", 0.693, math.log(2), 3),
]


@pytest.mark.parametrize(("quote", "figure", "value", "decimals"), CLOSED_FORMS)
def test_closed_form_figures(quote, figure, value, decimals):
    quoted(LESSON, quote)
    rounds_to([value], figure, decimals)


TRAINED = [
    # (quote, figure, values on every seed, decimals)
    ("straddling both humps with KL(p‖q) = 0.723 nats", 0.723, (FORWARD, 8.0, "kl_forward"), 3),
    ("settles on the mixture's own mean 0", 0.0, (FORWARD, 8.0, "q_mean"), 1),
    ("slides onto one hump (mean 4.0", 4.0, (REVERSE, 8.0, "q_mean"), 1),
    ("spread 1.0)", 1.0, (REVERSE, 8.0, "q_std"), 1),
    ("with KL(q‖p) = 0.693 nats", 0.693, (REVERSE, 8.0, "kl_reverse"), 3),
    ("in the middle with spread 2.8", 2.8, (REVERSE, 6.0, "q_std"), 1),
    ("and KL(q‖p) = 0.84 nats", 0.84, (REVERSE, 6.0, "kl_reverse"), 2),
]


@pytest.mark.slow
@pytest.mark.parametrize(("quote", "figure", "run", "decimals"), TRAINED)
def test_trained_kl_figures(quote, figure, run, decimals):
    quoted(LESSON, quote)
    values = [abs(v) if figure == 0.0 else v for v in over_seeds(*run)]  # mean 0: either sign
    rounds_to(values, figure, decimals)


@pytest.mark.slow
def test_forward_fit_spread():
    assert "(the fit reads 4.12 to 4.13)" in LESSON
    assert all(4.115 <= v < 4.135 for v in over_seeds(FORWARD, 8.0, "q_std"))


@pytest.mark.slow
def test_reverse_fit_pays_about_15_nats_forward():
    assert "KL(p‖q) for that fit is about 15 nats" in LESSON
    assert all(14.5 <= v <= 15.5 for v in over_seeds(REVERSE, 8.0, "kl_forward"))


@pytest.mark.slow
def test_gap_seven_depends_on_the_seed():
    assert "seed 0 reaches a hump, seeds 1 and 2 stay in the middle" in LESSON
    errors = over_seeds(REVERSE, 7.0, "mode_mean_error")
    assert errors[0] < 0.1 and min(errors[1:]) > 2.5, errors


@pytest.mark.slow
def test_infomax_figures():
    assert "$|\\cos(w_1,w_2)|$ below 0.03 after 800 steps" in LESSON
    assert "both arrows swing onto the long axis of the cloud ($|\\cos| = 1.000$)" in LESSON
    for seed in SEEDS:
        low, high = InfoMaxSim(noise=0.1, seed=seed), InfoMaxSim(noise=1.0, seed=seed)
        low.run(800)
        high.run(800)
        assert low.measure()["abs_cos"] < 0.03
        assert f"{high.measure()['abs_cos']:.3f}" == "1.000"


@pytest.mark.slow
def test_channel_ideal_and_disturbed():
    assert "$\\varepsilon = 0.75$: the output ignores the input and $I = 0$" in LESSON
    sim = ChannelSim(kind="symmetric", symbols=4, error=0.75)
    sim.run(50)
    assert abs(sim.measure()["mi"]) < 1e-12
    z = ChannelSim(kind=Z, error=0.3)
    z.run(600)
    assert f"{100 * float(z.input_distribution()[-1].detach()):.1f}" == "42.1"
