"""Search page: a shopper types queries on the sample world and reads each score explained,
anonymous and as a known user, with a misspelling, a facet filter, a price chip removed, and
two rankers side by side."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.data.workspace import Workspace
from core.models.runs import run_user_ids
from core.models.training import train_model
from core.search import SearchIndex
from ui import state

SEARCH_PAGE = "pages/6_Search.py"


def test_without_data_the_page_says_what_to_do(app_test: AppTest, home: Path) -> None:
    at = app_test.switch_page(SEARCH_PAGE).run()
    assert not at.exception
    assert any("Load and clean a dataset" in info.value for info in at.info)


def _results(at: AppTest) -> pd.DataFrame:
    return next(frame.value for frame in at.dataframe if "Lexical" in frame.value.columns)


def _explanation(at: AppTest) -> str:
    return next(text.value for text in at.text if " = (lexical " in text.value)


def _numbers(line: str) -> dict[str, float]:
    found = dict(re.findall(r"(score|lexical|semantic|personal|chip boost) (\d+\.\d+)", line))
    return {name: float(value) for name, value in found.items()}


@pytest.fixture
def searched(app_test: AppTest, loaded_home: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SHOPSYNTH_ENCODER", "tiny")
    ws = Workspace.open(home=loaded_home)
    als = train_model(ws, "als", {"iterations": 3, "random_state": 0})
    at = app_test.switch_page(SEARCH_PAGE).run()
    assert not at.exception and not at.error
    return at, ws, als.run_id


@pytest.mark.slow
def test_a_shopper_searches_and_reads_the_explanation(searched) -> None:
    at, ws, run_id = searched
    assert at.selectbox(key=state.SEARCH_MODEL_RUN).value == run_id
    at.text_input(key=state.SEARCH_QUERY).input("kettle").run()
    assert not at.exception and not at.error
    shown = _results(at)
    # The page shows core's ranking for the same settings, built independently of the page.
    index = SearchIndex.from_workspace(ws, encoder="tiny", model_run=run_id)
    expected = index.search("kettle", None, 20).items
    assert shown["Title"].tolist() == expected["title"].tolist()
    np.testing.assert_allclose(shown["Score"], expected["score"], rtol=1e-5)
    # Anonymous: no personal part; the parts add up to the score over the chip boost.
    assert (shown["Personal"] == 0).all()
    total = (shown["Lexical"] + shown["Semantic"] + shown["Personal"]) * shown["Chip boost"]
    np.testing.assert_allclose(total, shown["Score"], rtol=1e-4)
    assert all("kettle" in title.lower() for title in shown["Title"].head(5))
    # The explanation in words is the top row's.
    line = _explanation(at)
    top = shown.iloc[0]
    assert line.startswith(f"#1 {top['Title']} ({top['Brand']}, {top['Category']}, ")
    numbers = _numbers(line)
    assert numbers["score"] == pytest.approx(shown["Score"].iloc[0], abs=6e-4)
    assert numbers["lexical"] == pytest.approx(shown["Lexical"].iloc[0], abs=6e-4)
    # "kettle" is a category word of the catalogue: shown as a removable chip.
    chips = [w for w in at.multiselect if w.key.startswith(state.SEARCH_CHIPS)]
    assert chips and chips[0].value == ["category:Kettles"]


@pytest.mark.slow
def test_a_known_user_gets_a_personal_part_and_recent_queries(searched) -> None:
    at, ws, run_id = searched
    events = ws.read_table("events")
    trained = set(run_user_ids(ws, run_id))
    searches = events[(events["event"] == "search") & events["user_id"].isin(trained)]
    user = searches["user_id"].value_counts().index[0]
    at.text_input(key=state.SEARCH_QUERY).input("mug")
    at.radio(key=state.SEARCH_AS).set_value("a user").run()
    at.text_input(key=state.SEARCH_USER).input(str(user)).run()
    assert not at.exception and not at.error
    shown = _results(at)
    assert (shown["Personal"] > 0).any()
    assert _numbers(_explanation(at))["personal"] == pytest.approx(
        shown["Personal"].iloc[0], abs=6e-4
    )
    # Recent queries: the user's latest searches, read from the log here with pandas.
    recent = next(frame.value for frame in at.dataframe if "Query" in frame.value.columns)
    own = searches[searches["user_id"] == user].sort_values("ts", ascending=False)
    assert recent["Query"].tolist() == own["query"].head(10).tolist()


@pytest.mark.slow
def test_misspelling_filters_and_chips(searched) -> None:
    at, _, _ = searched
    at.text_input(key=state.SEARCH_QUERY).input("kettel").run()
    assert not at.exception and not at.error
    assert any("close spellings" in info.value for info in at.info)
    assert any("kettle" in title.lower() for title in _results(at)["Title"].head(3))

    # A price chip filters; removing it brings back dearer products.
    at.text_input(key=state.SEARCH_QUERY).input("kettle under 30").run()
    prices = _results(at)["Price"]
    assert (prices <= 30).all()
    chips = next(w for w in at.multiselect if w.key.startswith(state.SEARCH_CHIPS))
    assert "price_max:30" in chips.value
    chips.set_value([v for v in chips.value if v != "price_max:30"]).run()
    assert (_results(at)["Price"] > 30).any()

    # Ticking a brand facet keeps that brand's products only.
    at.text_input(key=state.SEARCH_QUERY).input("kettle").run()
    facet = next(box for box in at.checkbox if box.key.startswith(f"{state.SEARCH_FACET}brand_"))
    brand = facet.label.rsplit(" (", 1)[0].replace("\\", "")
    count = int(facet.label.rsplit("(", 1)[1].rstrip(")").replace(",", ""))
    facet.check().run()
    shown = _results(at)
    assert set(shown["Brand"]) == {brand}
    assert len(shown) == min(count, 20)

    # Two rankers side by side: the lexical ranker against the hybrid, moves marked.
    at.selectbox(key=state.SEARCH_LEFT).set_value("lexical")
    at.selectbox(key=state.SEARCH_RIGHT).set_value("hybrid").run()
    assert not at.exception
    sides = [frame.value for frame in at.dataframe if "Moved" in frame.value.columns]
    assert len(sides) == 2
    left, right = sides
    for mine, other in ((left, right), (right, left)):
        where = {title: rank for rank, title in zip(other["#"], other["Title"], strict=True)}
        for rank, title, moved in zip(mine["#"], mine["Title"], mine["Moved"], strict=True):
            if title not in where:
                assert moved == "new"
            elif where[title] == rank:
                assert moved == "="
            else:
                word = "up" if where[title] > rank else "down"
                assert moved == f"{word} {abs(where[title] - rank)}"


@pytest.mark.slow
def test_search_rankers_compared_on_the_ab_page(searched) -> None:
    from core.evaluation.search_variants import compare_search_variants
    from core.search.explain import available_rankers

    at, ws, _ = searched
    ab = AppTest.from_file(at._script_path, default_timeout=300).switch_page(
        "pages/5_AB_Compare.py"
    )
    ab.session_state[state.AB_SEARCH_OPEN] = True
    ab.run()
    assert not ab.exception and not ab.error
    ab.selectbox(key=state.AB_SEARCH_MODEL_RUN).set_value("none (no personal signal)").run()
    ab.multiselect(key=state.AB_SEARCH_RANKERS).set_value(["hybrid", "lexical"]).run()
    ab.selectbox(key=state.AB_SEARCH_CONTROL).set_value("lexical")
    ab.number_input(key=state.AB_SEARCH_MAX).set_value(60)
    ab.number_input(key=state.AB_SEARCH_RESAMPLES).set_value(200)
    ab.button(key=state.AB_SEARCH_COMPARE).click().run()
    assert not ab.exception and not ab.error, [e.value for e in ab.error]
    means = next(f.value for f in ab.dataframe if "ndcg@10" in f.value.columns)
    differences = next(f.value for f in ab.dataframe if "95% interval, low" in f.value.columns)

    index = SearchIndex.from_workspace(ws, encoder="tiny")
    rankers = {r.name: r for r in available_rankers(index)}
    expected = compare_search_variants(
        ws, index, [rankers["hybrid"], rankers["lexical"]], control="lexical",
        max_searches=60, n_resamples=200,
    )  # fmt: skip
    assert expected.n_searches == 60
    rows = expected.summary[expected.summary["segment"] == "all"].set_index(["ranker", "metric"])
    for ranker in ("hybrid", "lexical"):
        for metric in ("ndcg@10", "mrr@10", "recall@100", "zero_result"):
            assert means.loc[ranker, metric] == pytest.approx(rows.loc[(ranker, metric), "value"])
    # One row per metric for the treatment; each interval holds its difference.
    assert differences["Ranker"].tolist() == ["hybrid"] * 4
    assert (differences["95% interval, low"] <= differences["Difference"]).all()
    assert (differences["Difference"] <= differences["95% interval, high"]).all()
    ndcg = means.loc["hybrid", "ndcg@10"] - means.loc["lexical", "ndcg@10"]
    shown = differences.set_index("Metric").loc["ndcg@10", "Difference"]
    assert shown == pytest.approx(ndcg)


@pytest.mark.slow
def test_the_page_trains_a_gate_that_the_ranker_list_then_offers(
    searched, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.search.gate import WEIGHTS_FILE, SearchGate, gate_folder
    from core.text.encoders import tiny_encoder
    from ui.views import search_gate

    monkeypatch.setattr(search_gate, "GATE_MAX_SEARCHES", 300)
    monkeypatch.setattr(search_gate, "GATE_EPOCHS", 3)
    at, ws, run_id = searched
    at.text_input(key=state.SEARCH_QUERY).input("kettle").run()
    assert "gate" not in at.selectbox(key=state.SEARCH_RANKER).options[0]
    at.button(key=state.SEARCH_GATE_TRAIN).click().run()
    assert not at.exception and not at.error
    folder = gate_folder(ws, tiny_encoder().model_id, run_id, None)
    assert (folder / WEIGHTS_FILE).is_file()
    gate = SearchGate.load(folder)
    assert gate.get_params()["epochs"] == 3 and 0 <= gate.best_epoch_ <= 3
    assert len(gate.valid_ndcg_history_) == len(gate.loss_history_) + 1
    assert at.selectbox(key=state.SEARCH_RANKER).options[0].startswith("gate")
    at.selectbox(key=state.SEARCH_RANKER).set_value("gate").run()
    assert not at.exception and not at.error
    assert "Gate in use" in " ".join(caption.value for caption in at.caption)
    # The page ranks with the saved gate as core does with it, built independently.
    index = SearchIndex.from_workspace(ws, encoder="tiny", model_run=run_id)
    index.gate = gate
    expected = index.search("kettle", None, 20, method="gate").items
    shown = _results(at)
    assert shown["Title"].tolist() == expected["title"].tolist()
    np.testing.assert_allclose(shown["Score"], expected["score"], rtol=1e-5)
    assert "Gate w lexical" in shown.columns
