"""Every experiment in a chapter's "What to try" can be set up in one click, and every chapter
asks at least two questions before a run: both are data of the chapter's sims."""

import pytest

from course.chapters import chapters
from sims.check import preset_sim

CHAPTERS = chapters()


def presets_of(chapter):
    return {p.name: (part.sim, p) for part in chapter.part_classes() for p in part.sim.presets}


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.slug)
def test_every_experiment_names_a_preset_of_the_chapters_sims(chapter):
    _, items = chapter.text().experiments()
    assert items, "no numbered experiments in What to try"
    names = [name for _, name in items]
    missing = [text[:40] for text, name in items if name is None]
    assert not missing, f"experiments without a <!-- preset: name --> mark: {missing}"
    unknown = sorted(set(names) - set(presets_of(chapter)))
    assert not unknown, f"marks naming no preset of the chapter's sims: {unknown}"
    assert len(set(names)) == len(names), "two experiments share a preset"
    unused = sorted(set(presets_of(chapter)) - set(names))
    assert not unused, f"presets no experiment uses: {unused}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.slug)
def test_every_chapter_asks_at_least_two_predictions(chapter):
    predictions = [p for part in chapter.part_classes() for p in part.sim.predictions]
    assert len(predictions) >= 2
    assert len({p.name for p in predictions}) == len(predictions)


PRESETS = [(sim, preset) for c in CHAPTERS for sim, preset in presets_of(c).values()]


@pytest.mark.parametrize(("sim", "preset"), PRESETS, ids=[f"{s.slug}-{p.name}" for s, p in PRESETS])
def test_every_preset_builds_and_trains(sim, preset):
    unknown = sorted(set(preset.settings) - set(sim.param))
    assert not unknown, f"settings the sim does not have: {unknown}"
    built = preset_sim(sim, preset)
    built.run(5)
    measured = built.measure()
    bad = [k for k, v in measured.items() if v != v or abs(v) == float("inf")]
    assert not bad, f"not finite after 5 steps: {bad}"
