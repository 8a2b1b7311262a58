"""The contrastive sims beyond the contract: negatives, the bound's ceiling, watching without
changing the run, slider extremes, and a label-blind digits training with a fair probe."""

import math

import numpy as np
import pytest
import torch

from sims.contrastive_digits import ContrastiveDigitsSim
from sims.contrastive_toy import ContrastiveToySim, others

# -- toy ---------------------------------------------------------------------------------------


def test_others_lists_every_index_but_the_row():
    assert others(4).tolist() == [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]]


def test_toy_snapshot_draws_an_anchor_its_positive_and_k_negatives_on_the_circle():
    sim = ContrastiveToySim(k=9)
    sim.run(3)
    snap = sim.snapshot()
    assert snap["z"].shape == (sim.n_items, 2)
    np.testing.assert_allclose(np.linalg.norm(snap["z"], axis=1), 1.0, rtol=1e-5)
    assert snap["anchor"].shape == (2,) and snap["positive"].shape == (2,)
    assert snap["negatives"].shape == (9, 2)
    assert snap["labels"].shape == (sim.n_items,)
    assert all(a.dtype in (np.float32, np.int64) for a in snap.values())


@pytest.mark.parametrize("k", [1, 3, 127])
def test_toy_bound_never_exceeds_log_of_the_number_of_candidates(k):
    sim = ContrastiveToySim(k=k, tau=0.01)
    sim.run(60)
    m = sim.measure()
    assert m["ceiling"] == pytest.approx(math.log(k + 1))
    assert m["bound"] <= m["ceiling"]
    assert m["bound_max"] <= m["ceiling"]


def test_watching_the_toy_does_not_change_its_run():
    quiet, watched = ContrastiveToySim(seed=5), ContrastiveToySim(seed=5)
    losses = []
    for _ in range(8):
        losses.append((quiet.step()["loss"], watched.step()["loss"]))
        watched.measure()
        watched.snapshot()
    assert [a for a, _ in losses] == [b for _, b in losses]


def test_switching_the_negatives_off_is_live_and_removes_the_push():
    sim = ContrastiveToySim(seed=0)
    sim.run(5)
    sim.negatives = False  # a live param: the run goes on
    assert sim.steps == 5
    angles = torch.tensor([0.0, 0.1, 0.2])  # three items close together on the circle
    z = torch.stack([angles.cos(), angles.sin()], dim=1)
    # the pull alone ignores the other items: identical views cost the minimum, -1 / tau
    loss, _ = sim.objective(z, z.clone())
    assert loss.item() == pytest.approx(-1 / sim.tau)
    sim.negatives = True
    loss, nce = sim.objective(z, z.clone())
    assert loss.item() == pytest.approx(nce.item())
    assert nce.item() > 0.1  # with the negatives, close items push each other


@pytest.mark.parametrize(
    "settings",
    [
        {"tau": 0.01, "lr": 0.1},
        {"tau": 1.0, "lr": 0.0005},
        {"k": 1},
        {"k": 127, "n_items": 128},
        {"loss": "nce", "negatives": False},
        {"loss": "triplet", "margin": 4.0},
        {"loss": "triplet", "margin": 0.0, "negatives": False},
        {"view_noise": 0.0, "nuisance": 0.0, "weight_decay": 0.0},
        {"view_noise": 1.5, "nuisance": 3.0, "weight_decay": 2.0, "n_clusters": 12},
        {"n_clusters": 2, "n_items": 480},
    ],
)
def test_toy_sliders_at_their_extremes_do_not_raise(settings):
    sim = ContrastiveToySim(**settings)
    sim.run(5)
    sim.measure()
    sim.snapshot()
    sim.verdict(sim.measure())


def test_toy_verdict_names_collapse_and_the_ceiling():
    sim = ContrastiveToySim()
    collapsed = sim.verdict({"resultant_length": 0.999})
    assert collapsed.state == "collapsed" and collapsed.text.startswith("collapsed:")
    capped = sim.verdict({"resultant_length": 0.1, "bound_fraction": 0.95})
    assert capped.state == "note" and capped.text.startswith("near the ceiling")
    assert sim.verdict({"resultant_length": 0.1, "bound_fraction": 0.5}) is None


def test_toy_bound_history_is_thinned_evenly_and_keeps_the_whole_run():
    sim = ContrastiveToySim(k=3, n_items=128)
    sim.run(2100)
    history = sim.snapshot()["bound_history"]  # (n, 2): step, bound
    assert history.shape[1] == 2 and 200 <= len(history) <= 400
    steps = history[:, 0]
    assert steps[0] == 0 and np.all(np.diff(steps) == 10)  # every 5 steps, then every 10
    assert steps[-1] >= 2100 - 10


# -- digits ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits_sim():
    return ContrastiveDigitsSim(seed=0)


def test_digits_baselines_are_computed_once_and_sensible(digits_sim):
    m = digits_sim.measure()
    # a linear probe on the 32 raw top-half pixels reads most digits; an untrained encoder less
    assert 0.75 <= m["raw_accuracy"] <= 0.9
    assert m["untrained_accuracy"] < m["raw_accuracy"]
    assert m["probe_gain"] == 0.0
    assert m["ceiling"] == pytest.approx(math.log(digits_sim.k + 1))


def test_digits_probe_refreshes_every_probe_every_steps():
    sim = ContrastiveDigitsSim(probe_every=50)
    sim.run(120)
    history = sim.snapshot()["probe_history"]  # (n, 2): step, accuracy
    assert history[:, 0].tolist() == [0.0, 50.0, 100.0]
    assert history[-1, 1] == sim.probe_accuracy


def test_digits_training_never_sees_the_labels():
    """Shuffling the labels changes the probe, never the training trajectory."""
    honest, shuffled = ContrastiveDigitsSim(seed=2), ContrastiveDigitsSim(seed=2)
    g = torch.Generator().manual_seed(0)
    shuffled.labels = shuffled.labels[torch.randperm(len(shuffled.labels), generator=g)]
    assert [honest.step()["loss"] for _ in range(5)] == [shuffled.step()["loss"] for _ in range(5)]


def test_digits_verdict_names_collapse_and_a_probe_that_beats_the_pixels(digits_sim):
    collapsed = digits_sim.verdict({"uniformity": -0.1, "probe_accuracy": 0.1})
    assert collapsed.state == "collapsed" and collapsed.text.startswith("collapsed:")
    narrow = digits_sim.verdict({"uniformity": -0.1, "probe_accuracy": 0.51})
    assert narrow.state == "note" and narrow.text.startswith("concentrated:")
    beats = digits_sim.verdict({"uniformity": -2.0, "probe_accuracy": 0.9, "raw_accuracy": 0.8})
    assert beats.state == "note" and beats.text == "8 numbers beat the 32 raw pixels (90% vs 80%)"
    assert digits_sim.verdict({"probe_accuracy": 0.7, "raw_accuracy": 0.8}) is None


def test_digits_snapshot_is_a_stable_2d_view(digits_sim):
    snap = digits_sim.snapshot()
    assert snap["xy"].shape == (300, 2) and snap["xy"].dtype == np.float32
    assert snap["labels"].shape == (300,)
    np.testing.assert_array_equal(snap["xy"], digits_sim.snapshot()["xy"])


@pytest.mark.parametrize(
    "settings",
    [
        {"tau": 0.02, "lr": 0.03, "k": 255},
        {"tau": 1.0, "lr": 0.0002, "k": 1, "pixel_noise": 1.0},
        {"code_dim": 2, "hidden": 16, "probe_every": 50},
        {"code_dim": 32, "hidden": 256, "probe_every": 2000},
    ],
)
def test_digits_sliders_at_their_extremes_do_not_raise(settings):
    sim = ContrastiveDigitsSim(**settings)
    sim.run(3)
    sim.verdict(sim.measure())
    sim.snapshot()
