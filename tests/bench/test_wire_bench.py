"""bench/wire_bench.py runs, and the engine's path makes one socket write per frame."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tests.course.test_wire import run

BENCH = Path(__file__).resolve().parents[2] / "bench" / "wire_bench.py"


def test_the_wire_benchmark_counts_one_write_per_frame_against_panels_eleven():
    spec = importlib.util.spec_from_file_location("wire_bench", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    report = run(bench.run(frames=20, rounds=1))
    assert report["one write: writes/frame"] == 1
    assert report["panel: writes/frame"] == 11  # 3 parts + 2 per buffer: 4 columns
