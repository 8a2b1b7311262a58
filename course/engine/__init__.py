"""The live-training engine shared by every chapter."""

from course.engine.chapter import Chapter, Part, new_figure
from course.engine.pool import POOL, TrainerPool
from course.engine.runner import Frame, Runner
from course.engine.view import SimView

__all__ = ["POOL", "Chapter", "Frame", "Part", "Runner", "SimView", "TrainerPool", "new_figure"]
