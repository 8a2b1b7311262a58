"""The class load generator against a real course server: simulated students press Train,
receive frames and acknowledge them as the page does; bad arguments are refused."""

from __future__ import annotations

import pytest

from course import loadgen
from course.devserver import free_port, serve, stop

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("class-load")]  # one server for all


@pytest.fixture(scope="module")
def server():
    port = free_port()
    process = serve(port)
    yield f"http://127.0.0.1:{port}/course"
    stop(process)


def test_three_students_train_and_every_one_receives_acknowledged_frames(server):
    result = loadgen.run_class(server, "collapse", students=3, seconds=4, speed=None)
    assert result["errors"] == 0, result["error_messages"]
    # Without acknowledgements the server sends at most one frame a second after the first
    # four: several a second each means the echoes went back and were read.
    assert result["frames_per_second"]["min"] > 3, result
    assert result["frames"] > 3 * 4 * 3
    assert 0 < result["fairness"] <= 1
    assert result["server_cpu_ms_per_frame"] > 0
    assert set(result["rss_mb"]) == {"before", "idle", "training"}


def test_open_and_close_cycles_report_memory(server):
    result = loadgen.run_cycles(server, "collapse", cycles=12)
    assert result["errors"] == 0
    assert all(r["rss_mb"] > 0 for r in result["rss_mb"])


@pytest.mark.parametrize(
    "argv, said",
    [
        (["--url", "http://example.com/course"], "only loads a server on 127.0.0.1"),
        (["--serve", "--students", "0"], "--students must be between 1 and 300"),
        (["--serve", "--students", "1000"], "--students must be between 1 and 300"),
        ([], "say where the course is"),
    ],
)
def test_bad_arguments_are_refused_with_a_message(argv, said, capsys):
    assert loadgen.main(argv) == 2
    assert said in capsys.readouterr().err
