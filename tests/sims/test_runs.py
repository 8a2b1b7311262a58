"""Shared trained runs (``sims/runs.py``): a run continued from a kept one is the run trained
from scratch, every reader gets its own copy, and processes share runs through a folder."""

import math
import multiprocessing

import pytest

from sims.base import discover
from sims.collapse import CollapseSim
from sims.runs import Runs

SIMS = list(discover().values())


def same_measure(cls, a: dict, b: dict) -> bool:
    return all(
        math.isclose(a[k], b[k], rel_tol=1e-9, abs_tol=1e-12)
        or (math.isnan(a[k]) and math.isnan(b[k]))
        for k in b
        if not (k in cls.metrics and cls.metrics[k].clock)
    )


@pytest.mark.parametrize("cls", SIMS, ids=lambda c: c.slug)
def test_a_continued_run_is_the_run_from_scratch(cls):
    runs = Runs()
    runs.at(cls, 4, {"seed": 1})
    continued = runs.at(cls, 7, {"seed": 1})
    assert runs.trained_steps == 7, "the second call trained only the three steps it lacked"
    scratch = cls(seed=1)
    scratch.run(7)
    assert continued.steps == 7
    assert same_measure(cls, continued.measure(), scratch.measure())


def test_each_reader_gets_its_own_copy():
    runs = Runs()
    first = runs.at(CollapseSim, 20)
    first.run(30)
    first.lr = 0.5
    again = runs.at(CollapseSim, 20)
    assert again.steps == 20 and again.lr == CollapseSim.param.lr.default
    assert runs.trained_steps == 20


def test_settings_are_the_defaults_plus_the_given_ones():
    runs = Runs()
    runs.at(CollapseSim, 5, {"variance_floor": False})
    runs.at(CollapseSim, 5)  # the same run: variance_floor is off by default
    assert runs.trained_steps == 5
    runs.at(CollapseSim, 5, {"seed": 2})
    assert runs.trained_steps == 10
    with pytest.raises(ValueError, match="no params"):
        runs.at(CollapseSim, 5, {"nonsense": 1})
    with pytest.raises(ValueError, match="steps"):
        runs.at(CollapseSim, -1)


def _train_in_another_process(folder, queue):
    runs = Runs(folder)
    runs.at(CollapseSim, 30, {"seed": 5})
    queue.put(runs.trained_steps)


def test_processes_share_runs_through_a_folder(tmp_path):
    queue = multiprocessing.get_context("spawn").Queue()
    process = multiprocessing.get_context("spawn").Process(
        target=_train_in_another_process, args=(tmp_path, queue)
    )
    process.start()
    process.join(120)
    assert queue.get(timeout=5) == 30
    here = Runs(tmp_path)
    sim = here.at(CollapseSim, 40, {"seed": 5})
    assert here.trained_steps == 10, "read the other process's 30 steps and trained the rest"
    scratch = CollapseSim(seed=5)
    scratch.run(40)
    assert same_measure(CollapseSim, sim.measure(), scratch.measure())
    assert not list(tmp_path.rglob("*.part")), "no half-written file is left"
