"""Chapter pages: one module each, found automatically and ordered by ``Chapter.order``."""

from __future__ import annotations

import importlib
import pkgutil

from course.engine.chapter import Chapter


def chapters() -> list[type[Chapter]]:
    """Every chapter class in this package, in course order."""
    found: dict[str, type[Chapter]] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Chapter)
                and value.slug
                and value.__module__ == module.__name__
            ):
                found[value.slug] = value
    return sorted(found.values(), key=lambda c: c.order)
