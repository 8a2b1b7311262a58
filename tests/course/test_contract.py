"""The page contract: a chapter only declares, and every thing it declares gets drawn.

Every part of every chapter (found automatically) is built and drawn from a step-0 frame and a
trained frame, at its default settings and at each of its sim's scenarios: a data source that
stays empty, or a reference line that never gets a value, is a line the student never sees.
"""

import pytest

from course.chapters import chapters
from course.engine.chapter import Part
from course.engine.runner import Runner
from sims.base import Metric, Sim

PARTS = [part for chapter in chapters() for part in chapter.part_classes()]
TRAINED = 25  # steps before the second frame


def settings_to_try(part: type[Part]) -> list[dict]:
    return [{}, *(dict(scenario.settings) for scenario in part.sim.scenarios)]


@pytest.mark.parametrize("part_class", PARTS, ids=lambda p: p.__name__)
def test_every_source_and_reference_line_gets_drawn(part_class):
    part = part_class()
    part.plots()
    assert part.sources, "a part with no data source"
    for settings in settings_to_try(part_class):
        runner = Runner(part_class.sim(**settings))
        part.draw(runner.frame)
        runner.sim.run(TRAINED)
        part.draw(runner.publish())
    empty = sorted(set(part.sources) - part.filled)
    unmarked = sorted(set(part.references) - part.marked)
    assert not empty, f"sources never filled: {empty}"
    assert not unmarked, f"reference lines that never got a value: {unmarked}"


@pytest.mark.parametrize("part_class", PARTS, ids=lambda p: p.__name__)
def test_readouts_are_declared_metrics_the_sim_measures(part_class):
    sim = part_class.sim()
    measured = sim.measure()
    for key in part_class.readouts:
        assert isinstance(sim.metrics[key], Metric), key
        assert key in measured, f"{key} is declared but never measured"


def test_a_readout_the_sim_does_not_declare_fails_when_the_part_is_defined():
    sim = PARTS[0].sim
    with pytest.raises(TypeError, match="declares no metric"):
        type("Broken", (Part,), {"sim": sim, "readouts": ("no_such_metric",)})


def test_a_control_the_sim_does_not_have_fails_when_the_part_is_defined():
    with pytest.raises(TypeError, match="has no param"):
        type("Broken", (Part,), {"sim": PARTS[0].sim, "controls": ("no_such_param",)})


def test_chapters_never_assign_source_data_themselves():
    """Sources are filled through Part.fill only (it sends just the columns that changed)."""
    import inspect

    for chapter in chapters():
        source = inspect.getsource(inspect.getmodule(chapter))
        assert ".data = " not in source and ".data.update(" not in source, chapter.slug


def test_mark_hides_a_line_whose_value_is_unknown():
    from bokeh.plotting import figure

    class Lines(Part):
        sim = Sim

    part = Lines()
    fig = figure()
    span = part.reference(fig, "ceiling", label="")
    assert not span.visible
    part.mark("ceiling", 2.5, "at {:.2f}")
    label = part.references["ceiling"][1]
    assert span.visible and span.location == 2.5 and label.text == "at 2.50" and label.visible
    part.mark("ceiling", float("nan"))
    assert not span.visible and not label.visible
    assert part.marked == {"ceiling"}
