import numpy as np
import param
import pytest

from course.engine.pool import TrainerPool
from sims.base import Sim


class Countdown(Sim):
    """A toy sim: loss halves each step, and turns NaN at step ``blow_up`` (0 = never)."""

    live = ("rate",)
    rate = param.Number(0.5, bounds=(0.0, 1.0), doc="factor per step")
    blow_up = param.Integer(0, bounds=(0, 100), doc="step at which the loss turns NaN")
    size = param.Integer(4, bounds=(1, 10), doc="number of points")

    def setup(self):
        self.value = 1.0

    def train_step(self):
        self.value *= self.rate
        loss = float("nan") if self.blow_up and self.steps + 1 >= self.blow_up else self.value
        return {"loss": loss}

    def measure(self):
        return {"loss": self.value}

    def snapshot(self):
        return {"x": np.full(self.size, self.value, dtype=np.float32)}


@pytest.fixture
def pool():
    return TrainerPool(fps=200)
