"""What the instructor's class view counts, shared by every server process through SQLite.

Each browser session is one row (its chapter, training or not, and the pid of the server process
that holds it); each graded prediction is one row (chapter, prediction, answer, right or not).
No names and no addresses are stored. Rows of a process that died without closing its sessions
are not counted. A failing disk or database never reaches the page: it is logged once.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

VERSION = 2  # a store left by another version of the course is started afresh
SCHEMA = """
DROP TABLE IF EXISTS sessions;
DROP TABLE IF EXISTS answers;
CREATE TABLE IF NOT EXISTS sessions (
    session TEXT PRIMARY KEY, chapter TEXT NOT NULL, training INTEGER NOT NULL,
    waiting INTEGER NOT NULL, pid INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS answers (
    chapter TEXT NOT NULL, prediction TEXT NOT NULL, answer TEXT NOT NULL, right INTEGER NOT NULL
);
"""


def data_dir() -> Path:
    """``$COURSE_DATA`` if set, else a per-user folder in the temporary directory."""
    given = os.environ.get("COURSE_DATA")
    if given:
        return Path(given)
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"making-views-agree-{uid}"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


@dataclass
class ChapterCount:
    """One chapter of the class: sessions open, training, waiting for a training slot, and
    ``answers[prediction name][answer label] = (answers given, how many of them right)``."""

    open: int = 0
    training: int = 0
    waiting: int = 0
    answers: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)


class Classroom:
    """The store: every method is one short transaction and never raises."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else data_dir() / "class.sqlite"
        self.pid = os.getpid()
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._warned = False

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=2.0, check_same_thread=False)
            db.execute("PRAGMA busy_timeout = 2000")
            db.execute("PRAGMA journal_mode = WAL")
            if db.execute("PRAGMA user_version").fetchone()[0] != VERSION:
                db.executescript(SCHEMA + f"PRAGMA user_version = {VERSION};")
            self._db = db
        return self._db

    def _run(self, work: Any, default: Any = None) -> Any:
        """Run ``work(db)`` in one transaction; on failure log once and return ``default``."""
        with self._lock:
            try:
                db = self._connect()
                with db:
                    return work(db)
            except (OSError, sqlite3.Error) as error:
                if not self._warned:
                    log.warning("class view store at %s is not available: %s", self.path, error)
                    self._warned = True
                self._db = None
                return default

    def opened(self, session: str, chapter: str) -> None:
        self._run(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO sessions VALUES (?, ?, 0, 0, ?)",
                (session, chapter, self.pid),
            )
        )

    def training(self, session: str, on: bool) -> None:
        self._run(
            lambda db: db.execute(
                "UPDATE sessions SET training = ? WHERE session = ?", (int(on), session)
            )
        )

    def waiting(self, session: str, on: bool) -> None:
        """The session pressed Train but waits in line for a training slot."""
        self._run(
            lambda db: db.execute(
                "UPDATE sessions SET waiting = ? WHERE session = ?", (int(on), session)
            )
        )

    def closed(self, session: str) -> None:
        self._run(lambda db: db.execute("DELETE FROM sessions WHERE session = ?", (session,)))

    def answered(self, chapter: str, prediction: str, answer: str, right: bool) -> None:
        self._run(
            lambda db: db.execute(
                "INSERT INTO answers VALUES (?, ?, ?, ?)", (chapter, prediction, answer, int(right))
            )
        )

    def summary(self) -> dict[str, ChapterCount]:
        """Counts per chapter slug (only chapters with sessions or answers); empty when the
        store cannot be read."""
        return self._run(self._summary, {})

    def _summary(self, db: sqlite3.Connection) -> dict[str, ChapterCount]:
        pids = [row[0] for row in db.execute("SELECT DISTINCT pid FROM sessions")]
        for pid in pids:
            if pid != self.pid and not alive(pid):
                db.execute("DELETE FROM sessions WHERE pid = ?", (pid,))
        counts: dict[str, ChapterCount] = {}
        rows = db.execute(
            "SELECT chapter, COUNT(*), SUM(training), SUM(waiting) FROM sessions GROUP BY chapter"
        )
        for chapter, n, training, waiting in rows:
            counts[chapter] = ChapterCount(n, int(training or 0), int(waiting or 0))
        rows = db.execute(
            "SELECT chapter, prediction, answer, COUNT(*), SUM(right) FROM answers "
            "GROUP BY chapter, prediction, answer ORDER BY chapter, prediction, answer"
        )
        for chapter, prediction, answer, n, right in rows:
            given = counts.setdefault(chapter, ChapterCount()).answers.setdefault(prediction, {})
            given[answer] = (n, int(right or 0))
        return counts


_shared: Classroom | None = None


def classroom() -> Classroom:
    """This process's store, opened on first use and again after a fork."""
    global _shared
    if _shared is None or _shared.pid != os.getpid():
        _shared = Classroom()
    return _shared
