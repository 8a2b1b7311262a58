"""Settings for the whole test suite."""

import torch


def pytest_configure(config):
    # One intra-op thread, as the served course trains, so tests measure the same numbers.
    torch.set_num_threads(1)
