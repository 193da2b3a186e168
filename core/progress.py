"""Progress reports of long steps: the callback contract, measured values, cancelling.

Every long step takes ``callback(step, total, info)``. ``info`` is text for a progress line; an
iterative step (an epoch of a model, a step of fine-tuning) passes a :class:`ProgressInfo`,
which is that text and also the values it measured (``point``), so a caller can draw live
curves. A caller that only shows text keeps treating ``info`` as a string.

A callback may raise :class:`TrainingCancelled` to stop the step; steps that record results
(training, fine-tuning) write nothing until they finish, so a stopped step leaves no trace.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

ProgressCallback = Callable[[int, int, str], None]

# Key of the x value of every curve point: passes over the training data, a float so that
# fine-tuning steps fall between whole epochs.
EPOCH = "epoch"
# Curve values measured on the training data are named with this prefix; the others, named
# like ``ndcg@10``, are measured on held-out data.
TRAIN_PREFIX = "train_"
TRAIN_LOSS = "train_loss"


class ProgressInfo(str):
    """Progress text that also carries the values measured at this step.

    Parameters
    ----------
    text : str
        The progress line.
    point : mapping, optional
        Measured values, e.g. ``{"epoch": 3, "train_loss": 0.41, "ndcg@10": 0.12}``; the
        key :data:`EPOCH` is the x value of a curve.
    """

    point: dict[str, float]

    def __new__(cls, text: str, point: Mapping[str, float] | None = None) -> ProgressInfo:
        info = super().__new__(cls, text)
        info.point = dict(point or {})
        return info


def point_of(info: str) -> dict[str, float]:
    """A copy of the values ``info`` carries: empty for plain text."""
    return dict(getattr(info, "point", None) or {})


def retext(info: str, text: str) -> str:
    """``text`` carrying the values of ``info`` (plain text when ``info`` carries none)."""
    point = point_of(info)
    return ProgressInfo(text, point) if point else text
