"""Trained runs, each trained once and shared by everyone who reads it.

A run is fixed by its sim class, its full settings (seed included) and its step count:
measuring and snapshotting leave it alone (``tests/sims/test_measure_is_read_only.py``), so the
run at step ``m``, trained ``n - m`` steps more, *is* the run at step ``n``. ``Runs.at`` therefore
continues the furthest run of the same settings that has not passed ``n`` and keeps the result.

With a ``folder`` the runs are kept there as pickles, so several processes (the test suite's
parallel workers) share them; a lock file per run stops two processes training the same one at
once: the second waits, then reads what the first kept.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import pickle
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sims.base import Sim


class Runs:
    """Trained sims by (class, settings, seed, steps); every call returns a private copy."""

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else None
        self._kept: dict[str, dict[int, bytes]] = {}  # without a folder: key -> steps -> pickle
        self.trained_steps = 0  # steps this object trained (not read back), for the tests

    def at(self, cls: type[Sim], steps: int, settings: Mapping[str, Any] | None = None) -> Sim:
        """The sim ``cls`` built from its defaults and ``settings``, trained ``steps`` steps: a
        copy the caller may train on or change."""
        if steps < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
        full = {**cls.defaults(), **(settings or {})}
        unknown = set(full) - set(cls.param)
        if unknown:
            raise ValueError(f"{cls.__name__} has no params {sorted(unknown)}")
        key = _key(cls, full)
        with self._locked(key):
            done = [m for m in self._steps(key) if m <= steps]
            if done and max(done) == steps:
                return pickle.loads(self._read(key, steps))
            sim = pickle.loads(self._read(key, max(done))) if done else cls(**full)
            self.trained_steps += steps - sim.steps
            sim.run(steps - sim.steps)
            self._write(key, steps, pickle.dumps(sim, protocol=pickle.HIGHEST_PROTOCOL))
            return sim

    def measure(self, cls: type[Sim], steps: int, settings: Mapping[str, Any] | None = None):
        """What the run measures at ``steps``."""
        return self.at(cls, steps, settings).measure()

    # -- where runs are kept ------------------------------------------------------------------

    def _steps(self, key: str) -> list[int]:
        if self.folder is None:
            return list(self._kept.get(key, ()))
        return [int(p.stem) for p in (self.folder / key).glob("*.pkl")]

    def _read(self, key: str, steps: int) -> bytes:
        if self.folder is None:
            return self._kept[key][steps]
        return (self.folder / key / f"{steps}.pkl").read_bytes()

    def _write(self, key: str, steps: int, data: bytes) -> None:
        if self.folder is None:
            self._kept.setdefault(key, {})[steps] = data
            return
        path = self.folder / key / f"{steps}.pkl"
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(data)
        partial.replace(path)  # a reader sees the whole file or none

    @contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        if self.folder is None:
            yield
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / f"{key}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _key(cls: type[Sim], settings: Mapping[str, Any]) -> str:
    text = repr((cls.__module__, cls.__qualname__, sorted(settings.items())))
    return hashlib.sha256(text.encode()).hexdigest()[:24]
