"""``python -m sims check [SLUG...]`` and ``python -m sims bench [SLUG...]``."""

from __future__ import annotations

import argparse
import sys
import time

import torch

from sims.base import discover
from sims.check import cases, format_table, run_scenario, steps_per_second


def main(argv: list[str] | None = None) -> int:
    torch.set_num_threads(1)  # as a served page trains: one intra-op thread per sim
    parser = argparse.ArgumentParser(prog="python -m sims", description=__doc__)
    parser.add_argument("command", choices=["check", "bench", "list"])
    parser.add_argument("slugs", nargs="*", help="only these sims (default: all)")
    args = parser.parse_args(argv)

    registry = discover()
    unknown = sorted(set(args.slugs) - set(registry))
    if unknown:
        parser.error(f"unknown sim(s) {', '.join(unknown)}; known: {', '.join(registry)}")
    if args.slugs:
        registry = {slug: registry[slug] for slug in args.slugs}

    if args.command == "list":
        for slug, cls in registry.items():
            print(f"{slug:24} {cls.title}")
        return 0

    if args.command == "bench":
        rows = [[slug, f"{steps_per_second(cls):,.0f}"] for slug, cls in registry.items()]
        print(format_table(["sim", "headless steps/s"], rows))
        return 0

    table, failed = [], 0
    for cls, scenario, seed in cases(registry):
        start = time.perf_counter()
        for row in run_scenario(cls, scenario, seed):
            failed += not row.ok
            table.append(
                [
                    row.sim,
                    row.scenario,
                    row.seed,
                    row.steps,
                    row.metric,
                    f"{row.value:.4g}",
                    f"{row.op} {row.target:g}",
                    "ok" if row.ok else "FAIL",
                    f"{time.perf_counter() - start:.1f}s",
                ]
            )
    header = ["sim", "scenario", "seed", "steps", "metric", "value", "target", "ok", "time"]
    print(format_table(header, table))
    print(f"\n{len(table) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
