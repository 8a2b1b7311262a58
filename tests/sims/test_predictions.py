"""The answer a chapter marks right is what its sim produces on every seed the prediction
names: a page cannot ship a wrong answer. The same runs ``python -m sims check`` grades."""

import math
from itertools import pairwise

import pytest

from sims.base import Choice, Prediction, discover
from sims.check import prediction_run
from tests.runs import RUNS

CASES = [
    (cls, prediction, seed)
    for cls in discover().values()
    for prediction in cls.predictions
    for seed in prediction.seeds
]


@pytest.mark.parametrize(
    ("cls", "prediction"),
    list({(c.slug, p.name): (c, p) for c, p, _ in CASES}.values()),
    ids=lambda x: getattr(x, "slug", None) or getattr(x, "name", None),
)
def test_a_prediction_is_well_formed(cls, prediction):
    assert prediction.metric in cls.metrics, "graded on a metric the sim does not declare"
    assert set(prediction.settings) <= set(cls.param), "settings the sim does not have"
    assert prediction.why.strip().endswith("."), "why is one full sentence"
    for low, high in pairwise(prediction.choices):
        assert low.high <= high.low, "choices overlap or are out of order"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("cls", "prediction", "seed"),
    CASES,
    ids=[f"{c.slug}-{p.name}-seed{s}" for c, p, s in CASES],
)
def test_the_answer_marked_right_is_what_the_sim_produces(cls, prediction, seed):
    measured = prediction_run(cls, prediction, seed, RUNS)
    if prediction.choices:
        right = prediction.choices[int(prediction.answer)]
        assert right.contains(measured), f"{prediction.metric} = {measured:.4g}, not {right}"
    else:
        assert abs(measured - prediction.answer) <= prediction.tolerance / 2, measured


def test_grading_a_choice_and_a_number():
    choices = Prediction(
        "t",
        "?",
        "m",
        10,
        "Because.",
        answer=1,
        choices=(Choice("low", high=0.5), Choice("high", low=0.5)),
    )
    assert choices.grade(1, 0.7) == (True, "high")
    assert choices.grade(0, 0.7) == (False, "high")
    assert choices.grade(0, math.nan) == (False, "none of these")
    number = Prediction(
        "n", "?", "m", 10, "Because.", answer=2.0, number=(0, 5, 0.1), tolerance=0.3
    )
    assert number.grade(2.2, 2.0)[0] and not number.grade(2.5, 2.0)[0]
    with pytest.raises(ValueError, match="either choices or a number"):
        Prediction("x", "?", "m", 10, "Because.", answer=0)
