"""The address both ways: a query's settings reach the right part, and the query a page writes
reopens the same settings."""

from urllib.parse import parse_qsl

import pytest

from course.chapters import chapters
from course.engine import address
from course.engine.settings import sim_settings

CHAPTERS = chapters()


def test_scoped_settings_prefer_the_parts_own_key():
    settings = {"lr": "0.1", "2.lr": "0.3", "1.seed": "4", "speed": "20"}
    assert address.scoped(settings, 0) == {"lr": "0.1", "seed": "4", "speed": "20"}
    assert address.scoped(settings, 1) == {"lr": "0.3", "speed": "20"}
    assert address.key("lr", 1, 2) == "2.lr" and address.key("lr", 0, 1) == "lr"


def test_lock_and_hide_lists_name_controls_of_a_part():
    assert address.names("lr, 2.seed,,", 0) == {"lr"}
    assert address.names("lr,2.seed", 1) == {"lr", "seed"}
    known = [{"lr", "seed"}, {"tau"}]
    assert address.unknown_names("lr,2.tau,1.tau,bogus", known, "lock") == [
        "ignored lock of '1.tau': no such control on this page",
        "ignored lock of 'bogus': no such control on this page",
    ]


@pytest.mark.parametrize(
    ("raw", "step", "notice"),
    [
        (None, 0, None),
        ("250", 250, None),
        ("-3", 0, "steps count from 0"),
        ("ten", 0, "not a whole number"),
        ("99999999", address.MAX_STEP, "opening at 10,000"),
    ],
)
def test_a_step_in_the_address_is_capped_or_ignored_with_a_notice(raw, step, notice):
    got, said = address.step_setting(raw)
    assert got == step
    assert (said is None) if notice is None else (notice in said)


PARTS = [(c, i, part) for c in CHAPTERS for i, part in enumerate(c.part_classes())]


@pytest.mark.parametrize(
    ("chapter", "index", "part"), PARTS, ids=[f"{c.slug}-{p.__name__}" for c, _, p in PARTS]
)
def test_the_written_address_reads_back_as_the_same_settings(chapter, index, part):
    """Every control's value, written as the page writes it, parses back exactly (floats with
    many digits included): a copied link reopens the same run."""
    n = len(chapter.part_classes())
    sim = part.sim
    values = {}
    for name in part.controls:
        p = sim.param[name]
        default = p.default
        if isinstance(default, float) and p.bounds:
            low, high = p.bounds
            default = low + (high - low) / 3  # not a round number
        values[name] = default
    query = address.query((address.key(k, index, n), v) for k, v in values.items())
    pairs = dict(parse_qsl(query[1:]))  # as the server reads an address
    read, notices = sim_settings(sim.param, address.scoped(pairs, index))
    assert not notices
    assert read == values
