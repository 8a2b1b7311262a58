"""The class view's store: shared by processes, blind to dead ones, never raising."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

from course.classroom import ChapterCount, Classroom, classroom


def _open_one(path: str, session: str) -> None:
    store = Classroom(Path(path))
    store.opened(session, "collapse")
    store.training(session, True)


def test_two_processes_are_both_counted(tmp_path, monkeypatch):
    path = tmp_path / "class.sqlite"
    context = multiprocessing.get_context("fork")
    here = Classroom(path)
    here.opened("mine", "collapse")
    # The other process has exited by the time we read: its row is a dead pid's, so keep a
    # process alive while counting instead.
    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        child = context.Process(target=_open_one, args=(str(path), "theirs"))
        child.start()
        child.join(60)
        assert child.exitcode == 0
        # Hand the child's row to the live process, as a server process holding a session.
        import sqlite3

        with sqlite3.connect(path) as db:
            db.execute("UPDATE sessions SET pid = ? WHERE session = 'theirs'", (sleeper.pid,))
        counts = here.summary()
        assert counts["collapse"].open == 2
        assert counts["collapse"].training == 1
    finally:
        sleeper.communicate(b"")


def test_a_dead_process_rows_are_not_counted(tmp_path):
    path = tmp_path / "class.sqlite"
    child = multiprocessing.get_context("fork").Process(target=_open_one, args=(str(path), "x"))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert Classroom(path).summary() == {}


def test_closed_sessions_and_training_are_counted(tmp_path):
    store = Classroom(tmp_path / "class.sqlite")
    store.opened("a", "collapse")
    store.opened("b", "collapse")
    store.training("a", True)
    store.waiting("b", True)
    assert store.summary()["collapse"] == ChapterCount(2, 1, 1)
    store.training("a", False)
    store.closed("b")
    assert store.summary()["collapse"] == ChapterCount(1, 0, 0)


def test_answers_are_counted_per_label(tmp_path):
    store = Classroom(tmp_path / "class.sqlite")
    store.answered("collapse", "spread", "It collapses", True)
    store.answered("collapse", "spread", "It collapses", True)
    store.answered("collapse", "spread", "It stays spread", False)
    answers = store.summary()["collapse"].answers["spread"]
    assert answers == {"It collapses": (2, 2), "It stays spread": (1, 0)}


def test_an_empty_store_counts_nothing(tmp_path):
    assert Classroom(tmp_path / "class.sqlite").summary() == {}


def test_an_unusable_folder_does_not_raise(tmp_path, caplog):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    store = Classroom(blocked / "class.sqlite")
    store.opened("a", "collapse")
    store.training("a", True)
    store.answered("collapse", "p", "Yes", True)
    store.closed("a")
    assert store.summary() == {}
    assert sum("not available" in r.message for r in caplog.records) == 1


def test_the_shared_store_follows_course_data(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path / "data"))
    monkeypatch.setattr("course.classroom._shared", None)
    assert classroom().path == tmp_path / "data" / "class.sqlite"
    assert classroom() is classroom() and classroom().pid == os.getpid()
