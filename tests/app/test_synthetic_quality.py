"""The quality tab of the Synthetic Data page: figures per generator and status, rejected
samples left out by default, and the descriptions that contradict the catalogue listed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from core.data.workspace import Workspace
from core.synth import store
from ui import state

SYNTH_PAGE = "pages/3_Synthetic_Data.py"


def test_quality_per_generator_and_status(app_test: AppTest, loaded_home: Path) -> None:
    ws = Workspace.open(home=loaded_home)
    catalog = ws.read_table("catalog").set_index("item_id")
    first, second = catalog.index[:2]
    other_colour = next(c for c in catalog["colour"].dropna() if c != catalog.loc[first, "colour"])
    queries = pd.DataFrame({"item_id": [first, second, first], "text": ["a", "b c", "d"],
                            "rank": [1, 2, 50], "score": [0.9, 0.8, 0.1]})  # fmt: skip
    ids = store.add_samples(ws, queries, kind="query", generator="warm:q", run_id="r1")
    store.add_samples(ws, queries.iloc[:2], kind="query", generator="template", run_id="r2")
    store.set_status(ws, store.REJECTED, [ids[2]])
    texts = pd.DataFrame(
        {"item_id": [first], "text": [f"A lovely {other_colour} thing for every day."]}
    )
    store.add_samples(ws, texts, kind="description", generator="template", run_id="r3")

    at = app_test.switch_page(SYNTH_PAGE).run()
    at.session_state[state.SYNTH_TABS] = "Quality"
    at = at.run()
    assert not at.exception and not at.error
    measures = at.dataframe[0].value
    # One column per generator and status; the rejected warm sample is left out.
    assert list(measures.columns) == ["measure", "template · pending", "warm:q · pending"]
    assert measures.iloc[0].tolist()[1:] == [2.0, 2.0]

    at.multiselect(key=state.SYNTH_Q_STATUSES).select(store.REJECTED).run()
    assert "warm:q · rejected" in at.dataframe[0].value.columns

    at.selectbox(key=state.SYNTH_Q_KIND).set_value(store.DESCRIPTION_KIND).run()
    assert not at.exception and not at.error
    frames = [frame.value for frame in at.dataframe]
    wrong = next(frame for frame in frames if "named_values" in frame.columns)
    assert wrong[["attribute", "catalogue_value", "named_values"]].values.tolist() == [
        ["colour", catalog.loc[first, "colour"], other_colour.lower()]
    ]
