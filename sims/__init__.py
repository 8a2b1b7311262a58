"""UI-free simulations: one module per sim, each registering itself on import."""

import torch

from sims.base import REGISTRY, Expect, Scenario, Sim, discover

# Many small sims share two cores; torch's default intra-op pool would oversubscribe them.
torch.set_num_threads(1)

__all__ = ["REGISTRY", "Expect", "Scenario", "Sim", "discover"]
