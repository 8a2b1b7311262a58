"""The suite's trained runs: every test that reads a run at (sim, settings, seed, steps) reads
the one run trained for it, whichever test or worker process trained it first."""

import os

from sims.runs import Runs

RUNS = Runs(os.environ.get("COURSE_TEST_RUNS"))
