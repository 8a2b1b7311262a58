"""Settings for the whole test suite."""

import os
import shutil
import tempfile

import torch

RUNS_FOLDER = "COURSE_TEST_RUNS"


def pytest_configure(config):
    # One intra-op thread, as the served course trains, so tests measure the same numbers.
    torch.set_num_threads(1)
    # Trained runs are shared by every test and every worker process of this run (tests/runs.py):
    # the first process to configure (the only one, or xdist's controller, before it starts its
    # workers, which inherit the variable) makes the folder and removes it at the end.
    if RUNS_FOLDER not in os.environ:
        os.environ[RUNS_FOLDER] = tempfile.mkdtemp(prefix="course-test-runs-")
        config._course_runs_owner = True


def pytest_unconfigure(config):
    if getattr(config, "_course_runs_owner", False):
        shutil.rmtree(os.environ.pop(RUNS_FOLDER), ignore_errors=True)
