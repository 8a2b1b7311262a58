"""Figures the contrastive lesson quotes, recomputed (see ``tests/lessons/figures.py``)."""

from __future__ import annotations

import torch

from sims.contrastive_digits import ContrastiveDigitsSim
from tests.lessons.figures import lesson, quoted

LESSON = lesson("contrastive")


def test_untrained_probe_range_and_concentration_note():
    torch.set_num_threads(1)
    quoted(LESSON, "the untrained probe reads 51–61% on seeds 0–2")
    measured = [ContrastiveDigitsSim(seed=seed).measure() for seed in (0, 1, 2)]
    probes = [round(100 * m["probe_accuracy"]) for m in measured]
    assert min(probes) == 51 and max(probes) == 61, probes
    verdict = ContrastiveDigitsSim(seed=0).verdict(measured[0])
    assert verdict.state == "note" and verdict.text.startswith("concentrated:")
