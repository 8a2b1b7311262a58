"""The course as a class server runs it: a wheel built from the checkout, installed into a new
virtual environment outside it, served by its console command and opened in Chromium."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from course.devserver import ROOT, free_port, wait_until_serving
from tests.browser.conftest import open_page, prepare
from tests.browser.test_course import wait_until

# One worker builds the wheel and the venv for all four tests (pytest-xdist --dist loadgroup).
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("installed")]

LESSONS = sorted(p.name for p in (ROOT / "course" / "lessons").glob("*.md"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        cwd=out,
    )
    (built,) = out.glob("making_views_agree-*.whl")
    return built


def test_the_wheel_carries_the_lessons_the_licence_and_the_command(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert sorted(Path(n).name for n in names if n.startswith("course/lessons/")) == LESSONS
    assert len(LESSONS) == 10
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "making-views-agree = course.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """A new venv with only the wheel installed; the checkout's third-party packages are lent
    to it by a path file (its own copy of the course comes first, and the checkout's editable
    install is not active there), so nothing is downloaded."""
    home = tmp_path_factory.mktemp("installed")
    venv = home / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "lent.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return SimpleNamespace(home=home, python=python, bin=venv / "bin", site=Path(site))


def test_the_installed_course_is_its_own_copy(installed):
    where = subprocess.run(
        [str(installed.python), "-c", "import course, sims; print(course.__file__, sims.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=installed.home,
    ).stdout.split()
    assert all(Path(w).is_relative_to(installed.site) for w in where), where


def test_bad_arguments_get_one_clear_line(installed):
    done = subprocess.run(
        [str(installed.bin / "making-views-agree"), "serve", "--port", "70000"],
        capture_output=True,
        text=True,
        cwd=installed.home,
    )
    assert done.returncode == 2
    assert "--port must be between 1 and 65535, not 70000" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_installed_command_serves_a_chapter_that_trains(installed, page):
    port = free_port()
    log = open(installed.home / "serve.log", "w")  # noqa: SIM115 (the server writes to it)
    server = subprocess.Popen(
        [
            str(installed.bin / "making-views-agree"),
            "serve",
            "--port",
            str(port),
            "--address",
            "127.0.0.1",
            "--data",
            str(installed.home / "data"),
        ],
        cwd=installed.home,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/course"
    try:
        try:
            wait_until_serving(url + "?chapter=collapse", 120, server)
        except RuntimeError as error:
            raise AssertionError((installed.home / "serve.log").read_text()) from error
        course = prepare(page, SimpleNamespace(url=url, pid=server.pid, log=log.name))
        open_page(course, "?chapter=collapse")
        course.get_by_text("Collapse", exact=False).first.wait_for()
        course.get_by_role("button", name="Train").click()
        step = course.locator('td[data-key="step"]')
        wait_until(course, lambda: int(step.inner_text().replace(",", "") or 0) > 0)
        assert not course.errors, course.errors
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert (installed.home / "data" / "class.sqlite").exists()
