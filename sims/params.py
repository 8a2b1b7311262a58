"""Params that several sims share, declared once: one meaning, one label, one tooltip.

Each sim picks its own default and range (the slider's); a ``note`` adds what is particular to
that sim to the doc a student reads.
"""

from __future__ import annotations

import param


def _doc(text: str, note: str) -> str:
    return f"{text} {note}" if note else text


def number(
    default: float, bounds: tuple[float, float], step: float | None, label: str | None, doc: str
) -> param.Number:
    """A slider of floats: ``number(0.5, (0.0, 4.0), 0.05, "Triplet margin", "...")``; a label of
    ``None`` lets param derive it from the name."""
    return param.Number(default=default, bounds=bounds, step=step, label=label, doc=doc)


def integer(default: int, bounds: tuple[int, int], label: str | None, doc: str) -> param.Integer:
    """A slider of whole numbers: ``integer(240, (128, 480), "Items", "...")``."""
    return param.Integer(default=default, bounds=bounds, label=label, doc=doc)


def boolean(default: bool, label: str | None, doc: str) -> param.Boolean:
    """A checkbox: ``boolean(True, "Normalise codes", "...")``."""
    return param.Boolean(default=default, label=label, doc=doc)


def learning_rate(
    default: float, bounds: tuple[float, float], optimiser: str, step: float | None = None
) -> param.Number:
    """The optimiser's learning rate, e.g. ``learning_rate(0.05, (0.001, 1.0), "Adam")``; the
    slider moves in steps of its lower bound unless ``step`` says otherwise."""
    doc = f"Learning rate of the optimiser ({optimiser})."
    return number(default, bounds, bounds[0] if step is None else step, "Learning rate", doc)


def weight_decay(
    default: float, bounds: tuple[float, float], step: float, note: str = ""
) -> param.Number:
    """Decoupled or L2 weight decay, as the sim's optimiser applies it."""
    text = "Weight decay: a steady pull of every weight towards zero, as in most real training."
    return number(default, bounds, step, "Weight decay", _doc(text, note))


def view_noise(default: float, bounds: tuple[float, float], note: str = "") -> param.Number:
    """The augmentation: Gaussian noise added to each view. The label comes from the name the
    sim gives it ("View noise", "Pixel noise")."""
    text = (
        "Augmentation: the standard deviation of the noise that makes the two views of an "
        "input differ."
    )
    return number(default, bounds, 0.05, None, _doc(text, note))


def temperature(default: float, bounds: tuple[float, float], note: str = "") -> param.Number:
    """tau of a contrastive loss: scores are cosine similarities over tau."""
    text = "Temperature: scores are cosine similarity divided by tau."
    return number(default, bounds, 0.01, "Temperature τ", _doc(text, note))


def negatives_per_anchor(default: int, bounds: tuple[int, int]) -> param.Integer:
    """k of a contrastive loss: the other items of the batch, K = k + 1 candidates."""
    text = (
        "Negatives per anchor: the other items in the batch. Each anchor picks its positive out "
        "of K = k + 1 candidates."
    )
    return integer(default, bounds, "Negatives per anchor k", text)


def code_size(
    default: int, bounds: tuple[int, int], note: str = "", label: str = "Code size"
) -> param.Integer:
    """The length of each code (embedding) vector an encoder outputs."""
    text = "Size of each code (embedding) vector."
    return integer(default, bounds, label, _doc(text, note))


def bar_noise(default: float) -> param.Number:
    """The private noise on every bar of ``sims.prediction.bar_inputs``."""
    text = (
        "Standard deviation of the private noise on every bar: the part no model can predict. "
        "Changes the data, so the run restarts."
    )
    return number(default, (0.0, 1.5), 0.05, None, text)


def hidden_bars(default: int, bounds: tuple[int, int]) -> param.Integer:
    """How many of the bars of ``sims.prediction.bar_inputs`` are hidden."""
    text = (
        "How many bars (on the right) are hidden: the part to predict. Changes the data, so the "
        "run restarts."
    )
    return integer(default, bounds, "Hidden bars", text)
