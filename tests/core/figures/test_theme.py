"""The figures' one look: a colour per variant across charts, labels not cut, titled axes."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from core.figures.charts import training_curve, utility_bars
from core.figures.fusion import contribution_chart
from core.figures.theme import VARIANT_PALETTE, colour_traces, style, variant_colours
from core.models.registry import available_models


def _utility_table(variants: list[str]) -> pd.DataFrame:
    rows = [
        {"segment": "all", "variant": variant, "model": "als", "metric": "ndcg@10",
         "mean": 0.1 * n, "ci_low": 0.05 * n, "ci_high": 0.15 * n}
        for n, variant in enumerate(variants, start=1)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def _bar_colours(figure) -> dict[str, str]:
    return {trace.name: trace.marker.color for trace in figure.data}


def test_a_model_has_the_same_colour_in_every_chart() -> None:
    # The models in name order take the palette in order: als first, popularity fifth.
    assert sorted(available_models())[0] == "als"
    one = contribution_chart(["Shoe"], np.array([[0.5], [0.5]]), ["als", "popularity"])
    other = contribution_chart(
        ["Shoe"], np.array([[0.2], [0.3], [0.5]]), ["semantic_bert", "popularity", "als"]
    )
    assert _bar_colours(one)["als"] == _bar_colours(other)["als"] == VARIANT_PALETTE[0]
    position = sorted(available_models()).index("popularity")
    assert _bar_colours(one)["popularity"] == VARIANT_PALETTE[position]
    assert _bar_colours(other)["popularity"] == VARIANT_PALETTE[position]
    # A variant of a model (a run trained with synthetic data) keeps its model's colour when
    # shown without the model itself.
    alone = variant_colours(["item_knn+synthetic"])["item_knn+synthetic"]
    assert alone == variant_colours(["item_knn"])["item_knn"]


def test_other_names_keep_their_colour_whatever_else_is_shown() -> None:
    names = ["real", "real + synthetic"]
    first = _bar_colours(utility_bars(_utility_table(names)))
    second = _bar_colours(utility_bars(_utility_table(list(reversed(names)))))
    assert first == second
    expected = VARIANT_PALETTE[zlib.crc32(b"real") % len(VARIANT_PALETTE)]
    assert first["real"] == expected == variant_colours(["real", "bpr"])["real"]
    assert first["real"] != first["real + synthetic"]


def test_names_of_one_chart_never_share_a_colour() -> None:
    names = [f"variant {n}" for n in range(len(VARIANT_PALETTE))]
    colours = variant_colours(names)
    assert len(set(colours.values())) == len(VARIANT_PALETTE)
    # Past the palette, colours repeat rather than fail.
    assert len(variant_colours([*names, "one more"])) == len(names) + 1


def test_colour_traces_colours_lines_and_bars_by_name() -> None:
    figure = style(training_curve(pd.DataFrame({"epoch": [1, 2], "ndcg@10": [0.1, 0.2]}), "t"), "t")
    figure.add_bar(x=[1], y=[2], name="als")
    colour_traces(figure, {"NDCG@10": "#000000", "als": "#111111"})
    assert figure.data[0].line.color == "#000000"
    assert figure.data[1].marker.color == "#111111"


def test_long_tick_labels_grow_the_margin_on_every_axis() -> None:
    curve = pd.DataFrame(
        {"epoch": [1, 2], "train_loss": [0.5, 0.4], "ndcg@10": [0.1, 0.2], "recall@20": [0.2, 0.3]}
    )
    figure = training_curve(curve, "semantic_bert: training curve")
    axes = [figure.layout[name] for name in figure.layout if name.startswith(("xaxis", "yaxis"))]
    assert len(axes) == 4
    assert all(axis.automargin is True for axis in axes)


def test_training_curve_axes_are_titled() -> None:
    curve = pd.DataFrame(
        {"epoch": [1, 2], "train_loss": [0.5, 0.4], "ndcg@10": [0.1, 0.2], "recall@20": [0.2, 0.3]}
    )
    figure = training_curve(curve, "als")
    assert figure.layout.yaxis.title.text == "training loss"
    assert figure.layout.yaxis2.title.text == "metric (mean per user)"
    only_metrics = training_curve(curve[["epoch", "ndcg@10"]], "als")
    assert only_metrics.layout.yaxis.title.text == "NDCG@10"


def test_the_ab_figures_colour_each_variant_as_every_other_chart_does() -> None:
    from core.evaluation.experiment import ExperimentResult
    from core.figures.evaluation import metric_bars

    variants = ["popularity", "als", "content_tfidf"]
    table = pd.DataFrame(
        {
            "segment": "all",
            "metric": "ndcg@10",
            "variant": variants,
            "n_users": 10,
            "mean": [0.03, 0.06, 0.04],
            "ci_low": [0.02, 0.05, 0.03],
            "ci_high": [0.04, 0.07, 0.05],
            "not_available": "",
        }
    )
    empty = np.empty(0, dtype=object)
    result = ExperimentResult(
        table=table,
        lists={name: np.zeros((1, 10), dtype=np.int64) for name in variants},
        users=np.zeros(1, dtype=np.int64),
        user_ids=empty,
        item_ids=empty,
        item_popularity=np.zeros(0),
        config={"confidence": 0.95},
    )
    figure = metric_bars(result, ["ndcg@10"])
    expected = variant_colours(variants)
    assert list(figure.data[0].marker.color) == [expected[name] for name in variants]
    assert np.isclose(figure.data[0].y[1], 0.06)
