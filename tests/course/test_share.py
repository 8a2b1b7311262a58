"""Presets, predictions, pins, lock and hide, and the step in the address, on a built page
driven by hand (the browser tests click the same things in Chromium)."""

import math

import panel as pn
import pytest

from course.chapters import chapters
from course.engine.runner import Runner
from course.shell import build
from sims.check import prediction_run, preset_sim
from tests.course.conftest import Countdown
from tests.runs import RUNS


def args(**kw):
    return {k: [str(v).encode()] for k, v in kw.items()}


def page(index=0, **kw):
    _, views = build(args(**kw))
    for view in views:
        view.pool.remove(view.runner)  # driven by hand, not from the pool's thread
    return views[index]


def run_out(view):
    """Train as the pool would, until the runner pauses by itself."""
    for _ in range(100_000):
        if not view.runner.running:
            break
        view.runner.advance(budget=math.inf)
    view.flush()


def test_train_to_pauses_exactly_at_the_step_and_publishes_it_measured():
    runner = Runner(Countdown(), steps_per_frame=7)
    runner.train_to(10)
    frames = [runner.advance(budget=math.inf) for _ in range(3)]
    assert [f.step for f in frames if f] == [7, 10]
    assert not runner.running and runner.stop_at is None and runner.frame.fresh
    runner.train_to(500, rush=True)
    runner.advance(budget=math.inf)
    assert runner.sim.steps == 500 and not runner.running  # one frame, as the budget allows


def test_a_pause_on_the_way_keeps_the_step_to_stop_at():
    runner = Runner(Countdown(), steps_per_frame=3)
    runner.train_to(9, rush=True)
    runner.advance(budget=0.0)  # at least one step
    runner.toggle()
    assert runner.stop_at == 9 and not runner.rush
    runner.toggle()
    while runner.running:
        runner.advance(budget=math.inf)
    assert runner.sim.steps == 9


def test_a_preset_sets_every_param_and_goes_back_to_step_0():
    view = page(chapter="collapse", lr="0.2")
    view.runner.step_frame()
    preset = view.part.sim.presets[1]
    view.preset(preset.name)
    expected = preset_sim(view.part.sim, preset).settings()
    assert view.runner.sim.settings() == expected  # lr is back to its default too
    assert view.runner.sim.steps == 0 and not view.runner.running
    for name, widget in view.param_widgets.items():
        assert widget.value == expected[name], name


def test_a_locked_control_keeps_its_value_through_a_preset():
    view = page(chapter="collapse", lock="variance_floor")
    assert view.param_widgets["variance_floor"].disabled
    on = next(p for p in view.part.sim.presets if p.settings.get("variance_floor"))
    view.preset(on.name)
    assert view.runner.sim.variance_floor is False
    assert "kept as the link fixes them" in view.status.text


def test_a_prediction_whose_run_a_lock_would_change_takes_no_answer():
    # The prediction chapter's "blindfolded" question runs with Force collapse on: a link
    # that fixes it off cannot run it as its answer was checked, so its card says so.
    view = page(chapter="prediction", lock="force_collapse")
    blindfolded = next(p for p in view.part.sim.predictions if p.settings.get("force_collapse"))
    card = view.cards[blindfolded.name]
    assert card.blocked and all(b.disabled for b in card.buttons)
    assert 'data-prediction="unavailable"' in card.result.text and "Force" in card.result.text
    view.predict(blindfolded, blindfolded.answer)  # a stray click
    assert view.runner.stop_at is None and view._pending is None
    agreed = page(chapter="prediction", force_collapse="true", lock="force_collapse")
    assert not agreed.cards[blindfolded.name].blocked  # the link fixes what the run needs


def test_hide_hides_a_control_and_unknown_names_get_a_notice():
    view = page(chapter="collapse", hide="floor_weight,nope")
    assert not view.param_widgets["floor_weight"].visible
    assert "ignored hide of &#x27;nope&#x27;" in view.status.text


CARDS = [
    (c, p)
    for c in chapters()
    for part in c.part_classes()
    for p in part.sim.predictions
    if c.slug in {"collapse", "agreement"}
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("chapter", "prediction"), CARDS, ids=lambda x: getattr(x, "name", "") or x.slug
)
def test_the_page_grades_a_prediction_with_the_value_the_sim_measures(chapter, prediction):
    parts = chapter.part_classes()
    index = next(i for i, p in enumerate(parts) if prediction in p.sim.predictions)
    view = page(index, chapter=chapter.slug, seed=7)
    card = view.cards[prediction.name]
    wrong = (
        next(i for i in range(len(prediction.choices)) if i != prediction.answer)
        if prediction.choices
        else prediction.answer + 10 * prediction.tolerance
    )
    card.buttons[0].clicks += 1  # the first answer (or the slider's), whichever it is
    assert "Locked in" in card.result.text and all(b.disabled for b in card.buttons)
    run_out(view)
    measured = prediction_run(view.part.sim, prediction, prediction.seeds[0], RUNS)
    assert view.runner.sim.steps == prediction.steps
    # LAPACK may round a last bit by buffer alignment (a probe fit); a changed run differs by more
    assert math.isclose(view.runner.sim.measure()[prediction.metric], measured, rel_tol=1e-9)
    assert "the sim measured" in card.result.text and not card.buttons[0].disabled
    assert "Prediction:" in view.status.text

    view.predict(prediction, float(prediction.answer))
    run_out(view)
    assert 'data-prediction="right"' in card.result.text
    view.predict(prediction, float(wrong))
    run_out(view)
    assert 'data-prediction="wrong"' in card.result.text


def test_changing_the_setup_before_the_decision_point_cancels_the_prediction():
    view = page(chapter="collapse")
    prediction = view.part.sim.predictions[0]
    view.predict(prediction, 0.0)
    view.runner.advance(budget=math.inf)
    view.reset()
    card = view.cards[prediction.name]
    assert 'data-prediction="cancelled"' in card.result.text and not card.buttons[0].disabled


def test_pins_keep_two_runs_as_ghosts_labelled_by_what_differs():
    view = page(chapter="collapse")
    view.runner.step_frame()
    view.flush()
    view.pin()
    ghost = view.pins._ghosts["A"][0].ghost
    assert list(ghost.data["step"]) == list(view.loss_source.data["step"])
    view.param_widgets["variance_floor"].value = True
    view.runner.step_frame()
    view.flush()
    view.pin()
    assert view.pin_button.disabled
    view.pin()
    assert "Two runs are pinned" in view.status.text
    view._show_pins()
    assert "Variance floor off" in view.pins_text.text  # A was pinned without the floor
    view.clear_pins()
    assert not ghost.data["step"] and view.pins_text.text == "" and not view.pin_button.disabled


def test_the_address_holds_every_control_and_the_paused_step():
    view = page(chapter="collapse", speed="20")
    pairs = dict(view.address_pairs())
    assert set(view.part.controls) | {"speed"} == set(pairs) and pairs["speed"] == 20
    view.runner.step_frame()
    assert dict(view.address_pairs())["step"] == 20
    multi = page(1, chapter="contrastive")
    assert all(k.startswith("2.") for k, _ in multi.address_pairs())


def test_a_page_opened_at_a_step_trains_there_and_pauses():
    view = page(chapter="collapse", step="37")
    assert "Opening at step 37" in view.status.text and view.train_button.label == "Pause"
    view.runner.running = view.runner.sim.steps < 37  # taken off the pool: train by hand
    run_out(view)
    assert view.runner.sim.steps == 37 and "Paused at step 37" in view.status.text


@pytest.mark.parametrize("chapter", chapters(), ids=lambda c: c.slug)
def test_what_to_try_has_the_questions_then_a_set_up_button_per_experiment(chapter):
    from course.shell import what_to_try

    _, views = build(args(chapter=chapter.slug))
    for view in views:
        view.pool.remove(view.runner)
    section = what_to_try(chapter.text(), views)
    buttons = [
        obj
        for item in section
        for obj in item.select(pn.widgets.Button)
        if obj.label == "Set this up"
    ]
    _, items = chapter.text().experiments()
    assert len(buttons) == len(items)
    answers = {id(b) for v in views for card in v.cards.values() for b in card.buttons}
    shown = {id(o) for item in section for o in item.select(pn.widgets.Button)}
    assert answers <= shown and sum(len(v.cards) for v in views) >= 2
    buttons[-1].clicks += 1  # sets up the last experiment on its sim, at step 0
    assert all(v.runner.sim.steps == 0 for v in views)
