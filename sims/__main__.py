"""``python -m sims check [SLUG...]``, ``python -m sims bench [SLUG...]``, ``python -m sims list``
and ``python -m sims export SLUG [--set NAME=VALUE ...] [--steps N] [--every K] [-o FILE]``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from sims.base import discover
from sims.check import cases, format_table, run_scenario, steps_per_second
from sims.export import parse_setting, script
from sims.runs import Runs


def main(argv: list[str] | None = None) -> int:
    torch.set_num_threads(1)  # as a served page trains: one intra-op thread per sim
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["export"]:
        return export(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m sims", description=__doc__)
    parser.add_argument("command", choices=["check", "bench", "list", "export"])
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
    runs = Runs()  # scenarios that share a run's start train it once
    for cls, scenario, seed in cases(registry):
        start = time.perf_counter()
        for row in run_scenario(cls, scenario, seed, runs):
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


def export(argv: list[str]) -> int:
    """Print (or write to ``-o FILE``) a runnable Python file of one sim's run, reporting all
    of its declared metrics; a bad sim, param or value is a usage error (exit code 2)."""
    parser = argparse.ArgumentParser(
        prog="python -m sims export",
        description="A runnable Python file of one sim's run, with every course module it needs.",
    )
    parser.add_argument("slug", help="the sim (see python -m sims list)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a param's value (repeatable); every other param keeps its default",
    )
    parser.add_argument(
        "--steps", type=int, help="steps the file trains (default: its first scenario's, or 500)"
    )
    parser.add_argument("--every", type=int, help="steps between reports (default: steps / 10)")
    parser.add_argument("-o", "--output", type=Path, help="write here instead of to stdout")
    args = parser.parse_args(argv)

    registry = discover()
    if args.slug not in registry:
        parser.error(f"unknown sim {args.slug!r}; known: {', '.join(registry)}")
    cls = registry[args.slug]
    steps = args.steps or (cls.scenarios[0].steps if cls.scenarios else 500)
    every = args.every or max(1, steps // 10)
    try:
        settings = dict(parse_setting(cls, text) for text in args.set)
        text = script(cls, settings, list(cls.metrics), steps, every)
    except ValueError as error:
        parser.error(str(error))
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output} ({len(text.splitlines())} lines)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
