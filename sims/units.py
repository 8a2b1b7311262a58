"""Nats or bits: one switch for the sims that measure information.

A sim that mixes in ``InformationUnits`` computes in nats, multiplies every number it reports
about information by ``unit_scale`` (1, or 1/log 2 for bits), and says in its measurement which
unit it used, so the readouts of that very frame carry the right label.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

import param

from sims import params as shared
from sims.base import Metric

BITS_PER_NAT = 1.0 / math.log(2.0)
UNIT_KEY = "in_bits"  # 1.0 when the frame's numbers are in bits


def in_bits() -> param.Boolean:
    return shared.boolean(
        False,
        "Show in bits",
        "Report information in bits (logs base 2) instead of nats (natural logs). "
        "1 nat = 1/ln 2 ≈ 1.443 bits. Only the unit changes, not the run.",
    )


class InformationUnits:
    """Mixin for a ``Sim`` with an ``in_bits`` param (make it live)."""

    metrics: ClassVar[Mapping[str, Metric]]
    in_bits: Any

    @property
    def unit_scale(self) -> float:
        return BITS_PER_NAT if self.in_bits else 1.0

    @property
    def unit(self) -> str:
        return "bits" if self.in_bits else "nats"

    def readout_metrics(self, measured: Mapping[str, float]) -> Mapping[str, Metric]:
        if not measured.get(UNIT_KEY):
            return self.metrics
        return {
            key: replace(metric, unit="bits") if metric.unit == "nats" else metric
            for key, metric in self.metrics.items()
        }
