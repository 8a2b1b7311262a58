"""An exported script runs on its own, with none of the course installed, and prints exactly
what the sim measures in-process at the same steps from the same seed."""

import ast
import json
import math
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from sims.__main__ import main as cli
from sims.base import Sim, discover
from sims.export import (
    _literal,
    carried_modules,
    filename,
    full_settings,
    imports,
    module_path,
    parse_setting,
    script,
)

# The scripts run in the background for every selected test of the module: keep them together
# on one worker (pytest-xdist --dist loadgroup).
pytestmark = pytest.mark.xdist_group("export")

SIMS = discover()
STEPS, EVERY = 6, 3  # reports at steps 3 and 6: enough to compare trajectories, cheap to run
ROOT = Path(__file__).resolve().parents[2]

# Values that are not functions of the seed (a time per step, declared ``clock``) are not
# compared.
WALL_CLOCK = {
    slug: {key for key, metric in cls.metrics.items() if metric.clock} for slug, cls in SIMS.items()
}

# Every other value is bit-identical, but for one reason: LAPACK routines (lstsq, solve, svd)
# in this torch build round their last bit by the memory alignment of their buffers, which a
# fresh interpreter lays out differently (factor_r2 of prediction-embedding flips its last
# digit with the allocations made before it). A different trajectory differs by far more.
REL_TOL, ABS_TOL = 1e-9, 1e-12

# Runs each script of the job list on its command line under an import guard: a finder first
# in sys.meta_path refuses the course's packages, so a script that imports anything it does
# not carry fails, although the checkout is installed in this environment (editable mode).
GUARDED = """
import json, runpy, sys, traceback

BLOCKED = ("sims", "models", "course")


class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ImportError(f"blocked by the test: {name} is not carried by the script")
        return None


sys.meta_path.insert(0, Blocked())
for script, args in json.loads(sys.argv[1]):
    for name in [n for n in sys.modules if n.partition(".")[0] in BLOCKED]:
        del sys.modules[name]  # nothing left over from the previous script
    print(json.dumps({"script": script}), flush=True)
    sys.argv = [script, *args]
    try:
        runpy.run_path(script, run_name="__main__")
    except BaseException:
        print(json.dumps({"error": traceback.format_exc()}), flush=True)
"""


def run_guarded(folder: Path, jobs: list[tuple[Path, list[str]]]) -> dict[str, list[str]]:
    """Run each (script, arguments) of ``jobs`` in turn in one fresh isolated interpreter
    (``-I``: neither cwd nor PYTHONPATH on sys.path) in ``folder``, outside the checkout, under
    the import guard: each script's name -> the lines it printed."""
    spec = json.dumps([(str(path), args) for path, args in jobs])
    command = [sys.executable, "-I", "-c", GUARDED, spec]
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    printed: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        if line.startswith('{"script": '):
            printed[Path(json.loads(line)["script"]).name] = lines = []
        else:
            lines.append(line)
    return printed


def cases(cls: type[Sim]) -> dict[str, dict]:
    """The settings to export: the defaults, and the first scenario's if they differ."""
    found = {"default": {}}
    if cls.scenarios:
        first = cls.scenarios[0]
        settings = {**first.settings, "seed": first.seeds[0]}
        if full_settings(cls, settings) != full_settings(cls, {}):
            found[first.name] = settings
    return found


def job_name(cls: type[Sim], case: str) -> str:
    return f"{case.replace(' ', '_')}_{filename(cls)}"


def in_process(cls: type[Sim], settings: dict) -> list[dict[str, float]]:
    """What the script should print: the sim built in this process with the same settings,
    measured at the same steps (measuring may draw from the sim's generator, so the schedule
    of measurements is part of the run)."""
    sim = cls(**full_settings(cls, settings))
    rows = []
    for _ in range(STEPS):
        sim.step()
        if sim.steps % EVERY == 0 or sim.steps == STEPS:
            rows.append({"step": sim.steps, **sim.measure()})
    return rows


READABLE = ("collapse", ["agreement", "spread_ratio", "effective_rank"], 4, 2)


@pytest.fixture(scope="module")
def exported(request, tmp_path_factory) -> dict[str, Future]:
    """The output of the scripts of every selected test: script name -> a future of its lines.

    An interpreter pays seconds to import torch (and scikit-learn), so the scripts share two
    interpreters, run in the background while the tests compute the in-process runs."""
    selected = {
        item.callspec.params["slug"]
        for item in request.session.items
        if item.module is request.module
        and hasattr(item, "callspec")
        and "slug" in item.callspec.params
    }
    folder = tmp_path_factory.mktemp("export")
    jobs = []
    for slug in [s for s in SIMS if s in selected]:
        cls = SIMS[slug]
        for case, settings in cases(cls).items():
            path = folder / job_name(cls, case)
            path.write_text(script(cls, settings, list(cls.metrics), STEPS, EVERY))
            jobs.append((path, ["--json"]))
    slug, readouts, steps, every = READABLE
    path = folder / f"readable_{filename(SIMS[slug])}"
    path.write_text(script(SIMS[slug], {"lr": 0.1}, readouts, steps, every))
    jobs.append((path, []))

    pool = ThreadPoolExecutor(max_workers=2)
    futures = {}
    for half in (jobs[0::2], jobs[1::2]):
        future = pool.submit(run_guarded, folder, half)
        futures.update({path.name: future for path, _ in half})
    yield futures
    pool.shutdown(cancel_futures=True)


def printed(exported: dict[str, Future], name: str) -> list[str]:
    lines = exported[name].result()[name]
    assert not any(line.startswith('{"error": ') for line in lines), json.loads(lines[-1])["error"]
    return lines


@pytest.mark.parametrize("slug", list(SIMS))
def test_script_prints_what_the_sim_measures(slug, exported):
    cls = SIMS[slug]
    for case, settings in cases(cls).items():
        want = in_process(cls, settings)
        got = [json.loads(line) for line in printed(exported, job_name(cls, case))]
        assert [row["step"] for row in got] == [row["step"] for row in want], case
        for want_row, got_row in zip(want, got, strict=True):
            assert set(got_row) == set(want_row), case
            for key, value in want_row.items():
                if key in WALL_CLOCK.get(slug, ()):
                    continue
                same = got_row[key] == value or (math.isnan(got_row[key]) and math.isnan(value))
                close = math.isclose(got_row[key], value, rel_tol=REL_TOL, abs_tol=ABS_TOL)
                where = f"{case}, step {want_row['step']}, {key}"
                assert same or close, f"{where}: {got_row[key]!r} != {value!r}"


def test_guard_stops_a_script_that_imports_what_it_does_not_carry(tmp_path):
    finds = tmp_path / "finds.py"
    finds.write_text("import importlib.util\n\nprint(importlib.util.find_spec('sims').origin)\n")
    unguarded = subprocess.run(
        [sys.executable, "-I", str(finds)], cwd=tmp_path, capture_output=True, text=True
    )
    assert unguarded.stdout.startswith(str(ROOT)), "without the guard the checkout is found"
    leaky = tmp_path / "leaky.py"
    leaky.write_text("import sims.base\n")
    output = run_guarded(tmp_path, [(finds, []), (leaky, [])])
    for name in ("finds.py", "leaky.py"):
        assert "blocked by the test: sims" in json.loads(output[name][-1])["error"]


def test_default_output_prints_each_readout_label(exported):
    slug, readouts, steps, every = READABLE
    cls = SIMS[slug]
    lines = printed(exported, f"readable_{filename(cls)}")
    assert [line.split(" | ")[0] for line in lines] == [
        f"step {n}" for n in range(every, steps + 1, every)
    ]
    for line in lines:
        for key in readouts:
            assert f"| {cls.metrics[key].label} " in line


def test_script_carries_every_module_verbatim_in_dependency_order():
    cls = SIMS["beyond-mi-critics"]
    text = script(cls, {}, ["probe_joint"], 10, 5)
    modules = carried_modules(cls.__module__)
    assert modules[-1] == cls.__module__
    assert {"sims.base", "sims.contrastive_digits", "models.mi_bounds"} <= set(modules)
    for name in modules:
        path = module_path(name).relative_to(ROOT).as_posix()
        assert f"# {path}\n" in text
        assert module_path(name).read_text() in text  # verbatim, character for character
        eager = [dep for dep, at_import in imports(name, _tree(name)).items() if at_import]
        assert all(modules.index(dep) < modules.index(name) for dep in eager), name
    ast.parse(text)


def test_imports_follows_functions_and_relative_imports():
    tree = ast.parse(
        "from . import params\n"
        "from .base import Sim\n"
        "import numpy\n"
        "def f():\n"
        "    from models import losses\n"
        "    import models.encoders\n"
    )
    assert imports("sims.thing", tree) == {
        "sims.params": True,
        "sims.base": True,
        "models.losses": False,
        "models.encoders": False,
    }


@pytest.mark.parametrize(
    "source",
    [
        "x = '''a'''\n",
        "x = r'\\d+\\n'  # \\\n",
        "from __future__ import annotations\n\nx: undefined = 1\n",
        "x = \"\"\"a\"\"\"\ny = '''b'''  # no newline at the end, after a backslash \\",
    ],
)
def test_any_module_text_is_carried_exactly(source):
    """Text that would end a raw string early (quotes, a final backslash) is still carried."""
    literal = _literal(source)
    namespace: dict = {}
    exec(f"text = {literal}", namespace)
    assert namespace["text"] == "\n" + source
    if source.endswith("\n"):  # shown verbatim, in the kind of quotes the text does not use
        assert literal.startswith("r") and source in literal


def test_script_rejects_what_it_cannot_run():
    cls = SIMS["collapse"]
    with pytest.raises(ValueError, match="no param"):
        script(cls, {"nope": 1}, [], 10, 5)
    with pytest.raises(ValueError, match="at most"):
        script(cls, {"lr": 5.0}, [], 10, 5)
    with pytest.raises(ValueError, match="declares no metric"):
        script(cls, {}, ["nope"], 10, 5)
    assert parse_setting(cls, "variance_floor=true") == ("variance_floor", True)
    assert parse_setting(SIMS["information-kl"], "direction=reverse KL(q ‖ p)")[1].startswith(
        "reverse"
    )


def test_cli_exports_with_settings(tmp_path, capsys):
    assert cli(["export", "collapse", "--set", "lr=0.1"]) == 0
    text = capsys.readouterr().out
    assert '"lr": 0.1,' in text and filename(SIMS["collapse"]) in text
    ast.parse(text)
    out = tmp_path / "run.py"
    assert cli(["export", "collapse", "--set", "dim=3", "--steps", "8", "-o", str(out)]) == 0
    assert '"dim": 3,' in out.read_text() and "STEPS = 8" in out.read_text()


def test_cli_bad_setting_is_a_usage_error(capsys):
    """argparse's own exit: code 2 and one line of error under the usage, no traceback (run
    in-process: a subprocess would spend seconds importing torch to show the same)."""
    with pytest.raises(SystemExit) as exit_:
        cli(["export", "collapse", "--set", "nope=1"])
    assert exit_.value.code == 2
    out, err = capsys.readouterr()
    assert not out and "Traceback" not in err
    assert err.splitlines()[-1].startswith("python -m sims export: error: collapse has no param")


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("lr=abc", "lr takes a number, not 'abc'"),
        ("lr=5", "must be at most 1.0"),
        ("dim=2.5", "dim takes a whole number"),
        ("variance_floor=maybe", "variance_floor is true or false"),
        ("lr", "expected NAME=VALUE"),
    ],
)
def test_cli_bad_value_is_a_usage_error(arg, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli(["export", "collapse", "--set", arg])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_unknown_sim_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli(["export", "no-such-sim"])
    assert exit_.value.code == 2
    assert "unknown sim 'no-such-sim'" in capsys.readouterr().err


def _tree(name: str) -> ast.Module:
    return ast.parse(module_path(name).read_text())
