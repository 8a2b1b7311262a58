"""A sim's run as one Python file a student can run, read and change without the course.

``script()`` follows the imports of the sim's module with ``ast`` (imports inside functions
too) to every course module it needs, and writes their source verbatim into the file, followed
by a ``main()`` that builds the sim with a page's settings, trains it from step 0 and prints the
page's readouts. The page's "Download script" button and ``python -m sims export`` call it.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import numbers
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from sims.base import Sim

ROOT = Path(__file__).resolve().parent.parent  # the checkout: it holds sims/ and models/
PACKAGES = ("sims", "models")  # the course's packages: empty namespaces in a script
RULE = "# " + "=" * 95


def filename(sim_class: type[Sim]) -> str:
    """The name a page offers for the file, e.g. ``collapse_run.py``."""
    return f"{sim_class.slug.replace('-', '_')}_run.py"


def script(
    sim_class: type[Sim],
    settings: Mapping[str, Any],
    readouts: Sequence[str],
    steps: int,
    every: int,
) -> str:
    """The text of a runnable file: ``sim_class`` built with ``settings`` (every other param at
    its default), trained ``steps`` steps, printing ``readouts`` every ``every`` steps."""
    values = full_settings(sim_class, settings)
    unknown = [key for key in readouts if key not in sim_class.metrics]
    if unknown:
        raise ValueError(f"{sim_class.slug} declares no metric {', '.join(unknown)}")
    if steps < 1 or every < 1:
        raise ValueError(f"need steps >= 1 and every >= 1, got {steps} and {every}")

    modules = carried_modules(sim_class.__module__)
    sources = {name: module_path(name).read_text(encoding="utf-8") for name in modules}
    body = [
        *_imports_and_run(sim_class, values, readouts, steps, every),
        *_carry_function(),
    ]
    contents: list[tuple[str, int]] = []  # (path, its heading's line within the body)
    for name, source in sources.items():
        path = _repo_path(name)
        contents.append((path, len("\n".join(body).splitlines()) + 4))
        body += ["", "", RULE, f"# {path}", RULE]
        body += [f"_carry({_py(name)}, {_py(path)}, {_literal(source)})"]
    body += ["", "", 'if __name__ == "__main__":', "    main()", ""]

    libraries = _libraries(sources.values())
    draft = _header(sim_class, values, steps, every, libraries, contents)
    offset = len(draft.splitlines())  # as long as the final header: one line per module
    contents = [(path, line + offset) for path, line in contents]
    header = _header(sim_class, values, steps, every, libraries, contents)
    return header + "\n" + "\n".join(body)


# -- settings ---------------------------------------------------------------------------------


def full_settings(sim_class: type[Sim], settings: Mapping[str, Any]) -> dict[str, Any]:
    """Every param of ``sim_class``: the value in ``settings``, checked by the param itself, or
    its default; ``ValueError`` for an unknown name, a bad value or one a file cannot spell."""
    values = sim_class.defaults()
    unknown = sorted(set(settings) - set(values))
    if unknown:
        raise ValueError(
            f"{sim_class.slug} has no param {', '.join(unknown)}; its params are "
            f"{', '.join(values)}"
        )
    for name, value in settings.items():
        value = _plain(value)
        try:
            sim_class.param[name]._validate(value)
        except (ValueError, TypeError) as error:
            raise ValueError(f"{name}={value!r}: {error}") from None
        values[name] = value
    for name, value in values.items():
        try:
            same = ast.literal_eval(repr(value)) == value
        except (ValueError, SyntaxError):
            same = False
        if not same:
            raise ValueError(f"{name}={value!r} cannot be written as a Python literal")
    return values


def parse_setting(sim_class: type[Sim], text: str) -> tuple[str, Any]:
    """``"lr=0.1"`` as ``("lr", 0.1)``, the value read as its param's type (a number, a whole
    number, true/false, or one of a selector's options); ``ValueError`` if it cannot be."""
    name, sep, raw = text.partition("=")
    name, raw = name.strip(), raw.strip()
    params = {n: p for n, p in sim_class.param.objects("existing").items() if n != "name"}
    if not sep:
        raise ValueError(f"expected NAME=VALUE, got {text!r}")
    if name not in params:
        known = ", ".join(params)
        raise ValueError(f"{sim_class.slug} has no param {name!r}; its params are {known}")
    kind = type(params[name]).__name__
    try:
        if kind == "Boolean":
            words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
            value: Any = words[raw.lower()]
        elif kind == "Integer":
            value = int(raw)
        elif kind == "Number":
            value = float(raw)
        elif kind in ("Selector", "ObjectSelector"):
            options = {str(option): option for option in params[name].objects}
            if raw not in options:
                raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}")
            value = options[raw]
        else:
            value = raw
    except KeyError:
        raise ValueError(f"{name} is true or false, not {raw!r}") from None
    except ValueError as error:
        if kind in ("Selector", "ObjectSelector"):
            raise
        wanted = {"Integer": "a whole number", "Number": "a number"}.get(kind, f"a {kind}")
        raise ValueError(f"{name} takes {wanted}, not {raw!r}") from error
    full_settings(sim_class, {name: value})  # the param's own check: bounds, options
    return name, value


def _plain(value: Any) -> Any:
    """numpy scalars (as a widget may hand them over) as the Python values they stand for."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


# -- the course modules a sim needs -----------------------------------------------------------


def module_path(name: str) -> Path | None:
    """The source file of course module ``name`` (``sims.base`` -> ``sims/base.py``), or None
    when ``name`` is a package itself or not the course's."""
    parts = name.split(".")
    if parts[0] not in PACKAGES or len(parts) < 2:
        return None
    path = ROOT.joinpath(*parts).with_suffix(".py")
    if not path.is_file():
        return None
    if len(parts) > 2:
        raise ValueError(f"{name}: modules in nested packages cannot be carried")
    return path


def imports(name: str, tree: ast.Module) -> dict[str, bool]:
    """The course modules that module ``name`` imports, in order of appearance, each mapped to
    True if it is imported as the module runs, False if only inside a function."""
    package = name.rpartition(".")[0]
    found: dict[str, bool] = {}
    for node, deferred in import_statements(tree):
        for target in _imported(node, package):
            if module_path(target) is not None:
                found[target] = found.get(target, False) or not deferred
    return found


def import_statements(tree: ast.AST, deferred: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    """Every import statement in ``tree``, with True where it runs only when a function is
    called (imports are statements, so expressions are not searched)."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, deferred
        elif isinstance(child, ast.stmt | ast.excepthandler | ast.match_case):
            inner = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            yield from import_statements(child, deferred or inner)


def _imported(node: ast.AST, package: str) -> list[str]:
    """Every module name an import statement may load: ``import a.b`` loads ``a`` and ``a.b``;
    ``from a import b`` loads ``a`` and, when ``b`` is a submodule, ``a.b``."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:  # relative: from the package, minus one level per extra dot
            anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            base = f"{anchor}.{base}" if base else anchor
        if base == "__future__":
            return []
        names = [base] + [f"{base}.{alias.name}" for alias in node.names]
    else:
        return []
    parts = [name.split(".") for name in names]
    return [".".join(p[: i + 1]) for p in parts for i in range(len(p))]


def carried_modules(module: str) -> list[str]:
    """``module`` and every course module it needs, transitively, ordered so that each one
    comes after the modules it imports as it runs; ``module`` itself last."""
    if module_path(module) is None:
        raise ValueError(f"{module} is not a module of the course ({', '.join(PACKAGES)})")
    needs: dict[str, dict[str, bool]] = {}
    todo = [module]
    while todo:
        name = todo.pop(0)
        if name not in needs:
            needs[name] = imports(name, _parse(module_path(name).read_text(encoding="utf-8")))
            todo += needs[name]

    order: list[str] = []
    started: set[str] = set()

    def place(name: str) -> None:
        if name in started:  # placed already, or an import cycle: Python allows it too
            return
        started.add(name)
        for dependency, eager in needs[name].items():
            if eager:
                place(dependency)
        order.append(name)

    for name in [*needs][1:]:
        place(name)
    place(module)
    if order[-1] != module:  # some module imports the sim's module as it runs
        order.remove(module)
        order.append(module)
    return order


def _repo_path(name: str) -> str:
    return module_path(name).relative_to(ROOT).as_posix()


@functools.lru_cache(maxsize=256)
def _parse(source: str) -> ast.Module:
    """The syntax tree of a module's text (cached by the text itself, so an edit is seen)."""
    return ast.parse(source)


@functools.cache
def _distributions() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()


def _libraries(sources: Any) -> list[str]:
    """The installed libraries (with versions) the carried sources import, plus torch."""
    roots = {"torch"}
    for source in sources:
        for node, _ in import_statements(_parse(source)):
            for name in _imported(node, ""):
                roots.add(name.split(".")[0])
    roots -= {*PACKAGES, *sys.stdlib_module_names, ""}
    found = []
    for root in sorted(roots):
        for dist in _distributions().get(root, [root]):
            try:
                found.append(f"{dist} (exported with {importlib.metadata.version(dist)})")
            except importlib.metadata.PackageNotFoundError:
                found.append(dist)
    return found


# -- the text of the file ---------------------------------------------------------------------


def _literal(source: str) -> str:
    """``source`` as a string literal that shows it verbatim: a raw triple-quoted string from the
    next line on; ``repr`` if no raw form can hold it. Either is checked by reading it back."""
    for quote in ("'''", '"""'):
        literal = f"r{quote}\n{source}{quote}"
        try:
            if ast.literal_eval(literal) == "\n" + source:
                return literal
        except (SyntaxError, ValueError):
            pass
    return repr("\n" + source)


def _py(value: Any) -> str:
    """A literal for ``value``: ``repr``, with a string in double quotes where that is plain."""
    if isinstance(value, str) and not any(c in value for c in '"\\') and value.isprintable():
        return f'"{value}"'
    return repr(value)


def _docstring(text: str) -> str:
    literal = f'"""{text}"""'
    try:
        if ast.literal_eval(literal) == text:
            return literal
    except (SyntaxError, ValueError):
        pass
    return repr(text)


def _header(
    sim_class: type[Sim],
    values: Mapping[str, Any],
    steps: int,
    every: int,
    libraries: Sequence[str],
    contents: Sequence[tuple[str, int]],
) -> str:
    name = filename(sim_class)
    settings = [f"    {key} = {value!r}" for key, value in values.items() if key != "seed"]
    lines = [
        f"{sim_class.title}",
        "",
        f"The sim {sim_class.slug!r} ({sim_class.__module__}.{sim_class.__name__}) with seed "
        f"{values['seed']} and these settings:",
        "",
        *settings,
        "",
        "It trains from step 0 with exactly these settings: a slider moved on the page during",
        "a run is not replayed.",
        "",
        f"Run:  python {name} [--steps N] [--every K] [--json]",
        f"    --steps N   steps to train (default {steps})",
        f"    --every K   print the readouts every K steps and at the end (default {every})",
        "    --json      print every measured value instead, one JSON object per report",
        "",
        f"Needs Python {sys.version_info.major}.{sys.version_info.minor} and these libraries:",
        *[f"    {library}" for library in libraries],
        "",
        "How the file works: each course module below is kept verbatim in a raw string, which is",
        "run in a new module object put in sys.modules under the module's own name before its code",
        "runs (as an import does), so `from sims.base import Sim` finds the copy in this file.",
        "",
        "The course modules, in the order they run:",
        *[f"    line {line:>5}  {path}" for path, line in contents],
    ]
    return _docstring("\n".join(lines) + "\n")


def _imports_and_run(
    sim_class: type[Sim],
    values: Mapping[str, Any],
    readouts: Sequence[str],
    steps: int,
    every: int,
) -> list[str]:
    settings = [f"    {_py(key)}: {_py(value)}," for key, value in values.items()]
    return [
        "",
        "from __future__ import annotations",
        "",
        "import argparse",
        "import json",
        "import linecache",
        "import sys",
        "import types",
        "",
        "import torch",
        "",
        "SETTINGS = {",
        *settings,
        "}",
        f"READOUTS = ({', '.join(map(_py, readouts))}{',' if len(readouts) == 1 else ''})",
        f"STEPS = {steps}",
        f"EVERY = {every}",
        "",
        "",
        "def report(sim: Sim, as_json: bool) -> None:",
        '    """Print the readouts at the current step: one line of text, or with ``as_json``',
        '    every value of ``measure()`` as one JSON object (exact floats)."""',
        "    measured = sim.measure()",
        "    if as_json:",
        '        values = {"step": sim.steps, **{k: float(v) for k, v in measured.items()}}',
        "        print(json.dumps(values), flush=True)",
        "        return",
        "    metrics = sim.readout_metrics(measured)  # labels follow a nats/bits switch",
        '    parts = [f"step {sim.steps}"]',
        "    for key in READOUTS:",
        "        metric = metrics[key]",
        '        unit = metric.unit if metric.unit in ("", "%") else " " + metric.unit',
        '        parts.append(f"{metric.label} {metric.format(measured.get(key))}{unit}")',
        '    print(" | ".join(parts), flush=True)',
        "",
        "",
        "def main() -> None:",
        "    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])",
        '    parser.add_argument("--steps", type=int, default=STEPS, help="steps to train")',
        '    parser.add_argument("--every", type=int, default=EVERY, help="steps between reports")',
        '    parser.add_argument("--json", action="store_true", help="print JSON objects")',
        "    args = parser.parse_args()",
        "    if args.steps < 1 or args.every < 1:",
        '        parser.error("--steps and --every must be at least 1")',
        "",
        "    torch.set_num_threads(1)  # one intra-op thread, as the course trains",
        f"    from {sim_class.__module__} import {sim_class.__name__}",
        "",
        f"    sim = {sim_class.__name__}(**SETTINGS)",
        "    for _ in range(args.steps):",
        "        sim.step()",
        "        if sim.steps % args.every == 0 or sim.steps == args.steps:",
        "            report(sim, args.json)",
    ]


def _carry_function() -> list[str]:
    return [
        "",
        "",
        "def _carry(name: str, path: str, source: str) -> None:",
        '    """Run ``source`` (from the line after its opening quotes) as the module ``name``,',
        '    registered in sys.modules first, as an import does; tracebacks show ``path``."""',
        '    source = source.removeprefix("\\n")',
        '    package, _, attribute = name.rpartition(".")',
        "    module = types.ModuleType(name)",
        "    module.__file__, module.__package__ = path, package",
        "    sys.modules[name] = module",
        "    setattr(sys.modules[package], attribute, module)  # for `from sims import params`",
        "    linecache.cache[path] = (len(source), None, source.splitlines(True), path)",
        '    exec(compile(source, path, "exec"), module.__dict__)',
        "",
        "",
        f"for _package in ({', '.join(map(_py, PACKAGES))}):  # the packages: empty namespaces",
        "    sys.modules[_package] = types.ModuleType(_package)",
        "    sys.modules[_package].__path__ = []",
    ]
