"""UI-free simulations: one module per sim, each registering itself on import."""

from sims.base import REGISTRY, Expect, History, Metric, Scenario, Sim, Verdict, discover

__all__ = ["REGISTRY", "Expect", "History", "Metric", "Scenario", "Sim", "Verdict", "discover"]
