"""Data page: loading (sample, server path, bad files), cleaning parameters and report, explore."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.data.clean import clean_dataset
from core.data.ingest.load import load_dataset
from core.data.profile import dataset_counts
from core.data.rules import CleaningConfig
from core.data.workspace import Workspace
from core.schema import (
    CATALOG_TABLE,
    DATASET_TABLE,
    EVENTS_TABLE,
    RAW_CATALOG_TABLE,
    RAW_EVENTS_TABLE,
)
from tests.core.bad_files import BAD_FILES
from ui import state
from ui.text import plain

DATA_PAGE = "pages/1_Data.py"


def _open_tab(at: AppTest, tab: str) -> AppTest:
    at.session_state[state.DATA_TABS] = tab
    return at.run()


def _data_page(app_test: AppTest) -> AppTest:
    at = app_test.switch_page(DATA_PAGE).run()
    assert not at.exception
    return at


def _widget(elements, prefix: str, suffix: str = ""):
    """The one widget whose key starts with ``prefix`` (keys carry a token of the file)."""
    (found,) = [e for e in elements if e.key.startswith(prefix) and e.key.endswith(suffix)]
    return found


def _load_from_path(at: AppTest, path: Path) -> AppTest:
    at.segmented_control(key=state.DATA_SOURCE).set_value("Server path").run()
    at.text_input(key=state.DATA_EVENTS_PATH).input(str(path)).run()
    assert not at.exception
    return at


def test_data_page_renders_on_an_empty_workspace(app_test: AppTest) -> None:
    at = _data_page(app_test)
    assert not at.error
    assert [tab.label for tab in at.tabs] == ["Load", "Clean", "Explore"]
    assert at.button(key=state.DATA_LOAD_SAMPLE).label == "Load sample data"
    for tab in ("Clean", "Explore"):
        at = _open_tab(at, tab)
        assert not at.exception
        assert "Load a dataset first" in at.info[0].value


@pytest.mark.slow
def test_load_sample_then_clean_with_other_k_core(
    app_test: AppTest, home: Path, sample_home: Path, tmp_path: Path
) -> None:
    at = _data_page(app_test)
    at.button(key=state.DATA_LOAD_SAMPLE).click().run()
    assert not at.exception
    assert "Sample data loaded" in at.success[0].value

    at = _open_tab(at, "Clean")
    at.number_input(key=f"{state.CLEAN_PARAM_PREFIX}min_user_interactions").set_value(5)
    at.number_input(key=f"{state.CLEAN_PARAM_PREFIX}min_item_interactions").set_value(3)
    at.button(key=state.CLEAN_RUN).click().run()
    assert not at.exception
    assert not at.error
    assert at.success[0].value.startswith("Cleaned:")

    # The same rules applied by core to an independent copy of the sample world.
    direct_home = tmp_path / "direct"
    shutil.copytree(sample_home, direct_home)
    expected = clean_dataset(
        Workspace.open(home=direct_home),
        CleaningConfig(min_user_interactions=5, min_item_interactions=3),
    )
    shown = at.dataframe[0].value
    assert shown["rule"].tolist() == [rule.rule for rule in expected.rules]
    assert shown["before"].tolist() == [rule.rows_before for rule in expected.rules]
    assert shown["after"].tolist() == [rule.rows_after for rule in expected.rules]
    assert shown["removed"].tolist() == [rule.removed for rule in expected.rules]
    assert shown["parameter"].tolist() == [rule.parameter for rule in expected.rules]
    assert expected.rule("k_core").removed > 0
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Total events"] == f"{expected.n_events_after:,}"
    assert metrics["Distinct users"] == f"{expected.n_users_after:,}"
    assert metrics["Distinct items"] == f"{expected.n_items_after:,}"
    # The form shows the parameters just used.
    assert at.number_input(key=f"{state.CLEAN_PARAM_PREFIX}min_user_interactions").value == 5


def test_load_a_log_from_a_server_path(app_test: AppTest, home: Path, tmp_path: Path) -> None:
    log = tmp_path / "clicks.csv"
    log.write_text(
        "visitor,sku,action,when\n"
        "a,p1,view,2024-03-01 10:00:00\n"
        "a,p2,view,2024-03-01 10:01:00\n"
        "a,p2,purchase,2024-03-01 10:05:00\n"
        "b,p1,view,2024-03-02 11:00:00\n"
        "b,p2,view,2024-03-02 11:02:00\n"
    )
    at = _load_from_path(_data_page(app_test), log)
    assert at.dataframe[0].value.shape == (5, 4)  # the preview
    assert _widget(at.selectbox, state.DATA_PRESET).value == "generic"
    mapping = {
        box.label: box.value
        for box in at.selectbox
        if box.key.startswith(state.DATA_MAPPING_PREFIX)
    }
    assert mapping["user_id"] == "visitor"
    assert mapping["item_id"] == "sku"
    assert mapping["ts"] == "when"
    # Unmap the event column: every row then counts as a view.
    _widget(at.selectbox, state.DATA_MAPPING_PREFIX, "_event").set_value("—").run()
    at.button(key=state.DATA_LOAD).click().run()
    assert not at.exception
    assert not at.error
    assert at.success[0].value.startswith("Loaded 5 events")
    workspace = Workspace.open(home=home)
    assert workspace.row_count(RAW_EVENTS_TABLE) == 5
    assert workspace.dataset_info().mapping.get("event") is None
    assert dataset_counts(workspace, RAW_EVENTS_TABLE)["events_by_type"] == {"view": 5}
    # The tiny dataset is cleaned and explorable.
    at = _open_tab(at, "Explore")
    assert not at.exception
    assert not at.error
    assert {metric.label: metric.value for metric in at.metric}["Events"] == "5"


def test_load_a_log_with_a_catalogue(app_test: AppTest, home: Path, tmp_path: Path) -> None:
    log = tmp_path / "events.tsv"
    log.write_text("user_id\titem_id\tts\nu1\tA\t2024-05-01\nu1\tB\t2024-05-02\n")
    products = tmp_path / "products.csv"
    products.write_text(
        "product_id,name,category\nA,Oak desk,Office > Desks\nB,Pine shelf,Home > Shelves\n"
    )
    at = _load_from_path(_data_page(app_test), log)
    at.text_input(key=state.DATA_CATALOG_PATH).input(str(products)).run()
    catalog_mapping = {
        box.label: box.value
        for box in at.selectbox
        if box.key.startswith(state.DATA_CATALOG_MAPPING_PREFIX)
    }
    assert catalog_mapping["item_id"] == "product_id"
    assert catalog_mapping["title"] == "name"
    at.button(key=state.DATA_LOAD).click().run()
    assert not at.exception
    assert not at.error
    catalog = Workspace.open(home=home).read_table("catalog")
    assert dict(zip(catalog["item_id"], catalog["title"], strict=True)) == {
        "A": "Oak desk",
        "B": "Pine shelf",
    }


def test_contradictory_cleaning_parameters_show_the_fix(
    app_test: AppTest, loaded_home: Path
) -> None:
    workspace = Workspace.open(home=loaded_home)
    before = workspace.fingerprint("events", "cleaning_reports")
    at = _open_tab(_data_page(app_test), "Clean")
    at.date_input(key=f"{state.CLEAN_PARAM_PREFIX}min_ts").set_value(date(2025, 3, 1))
    at.date_input(key=f"{state.CLEAN_PARAM_PREFIX}max_ts").set_value(date(2025, 2, 1))
    at.button(key=state.CLEAN_RUN).click().run()
    assert not at.exception
    assert "swap them" in at.error[0].value
    assert workspace.fingerprint("events", "cleaning_reports") == before
    # The report of the earlier cleaning is still shown.
    assert at.dataframe[0].value["rule"].tolist()[0] == "missing_ids"


def test_explore_warns_when_the_data_is_not_cleaned(
    app_test: AppTest, loaded_home: Path, tmp_path: Path
) -> None:
    log = tmp_path / "raw.csv"
    log.write_text("user,item,ts\nu1,i1,2024-01-01\nu1,i2,2024-01-02\nu2,i1,2024-01-03\n")
    load_dataset(Workspace.open(home=loaded_home), log)
    at = _open_tab(_data_page(app_test), "Explore")
    assert not at.exception
    assert "Showing the raw events" in at.warning[0].value
    assert "not cleaned yet" in at.caption[0].value
    assert {metric.label: metric.value for metric in at.metric}["Events"] == "3"


# A duplicated header is refused by core unless the mapping names one copy; the page always
# passes an explicit mapping, so it warns in the preview instead (see the test below).
REFUSED_FILES = {
    name: bad
    for name, bad in BAD_FILES.items()
    if bad.error is not None and name != "duplicated_header"
}


@pytest.mark.parametrize("name", sorted(REFUSED_FILES))
def test_bad_file_shows_the_fix_and_keeps_the_dataset(
    app_test: AppTest, loaded_home: Path, tmp_path: Path, name: str
) -> None:
    bad_file = REFUSED_FILES[name]
    workspace = Workspace.open(home=loaded_home)
    tables = (RAW_EVENTS_TABLE, RAW_CATALOG_TABLE, EVENTS_TABLE, CATALOG_TABLE, DATASET_TABLE)
    before = workspace.fingerprint(*tables)
    at = _load_from_path(_data_page(app_test), bad_file.write(tmp_path))
    if not at.error:  # readable enough to preview: the load itself must refuse it
        at.button(key=state.DATA_LOAD).click().run()
    assert not at.exception
    message = at.error[0].value
    for fragment in bad_file.fragments:
        assert plain(fragment) in message  # shown as escaped Markdown
    assert "Traceback" not in message
    assert workspace.fingerprint(*tables) == before
    assert "ShopSynth sample world" in at.caption[0].value


def test_duplicated_header_is_warned_in_the_preview(
    app_test: AppTest, home: Path, tmp_path: Path
) -> None:
    at = _load_from_path(_data_page(app_test), BAD_FILES["duplicated_header"].write(tmp_path))
    assert not at.error
    expected = plain("names column 'user_id' 2 times")
    assert any(expected in warning.value for warning in at.warning)


def test_missing_path_shows_an_error(app_test: AppTest, home: Path, tmp_path: Path) -> None:
    at = _load_from_path(_data_page(app_test), tmp_path / "nowhere.csv")
    assert plain("file not found") in at.error[0].value


def test_explore_shows_the_profile(app_test: AppTest, loaded_home: Path) -> None:
    at = _open_tab(_data_page(app_test), "Explore")
    assert not at.exception
    assert not at.error
    assert not at.warning  # the data is cleaned
    counts = dataset_counts(Workspace.open(home=loaded_home))
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Events"] == f"{counts['n_events']:,}"
    assert metrics["Interactions"] == f"{counts['n_pairs']:,}"
    assert metrics["Density"] == f"{counts['density']:.4%}"
    assert len(at.get("plotly_chart")) == 5


def test_unexpected_errors_show_a_message_not_a_traceback() -> None:
    def page() -> None:
        from ui import feedback

        with feedback.show_errors():
            raise RuntimeError("disk on fire")

    at = AppTest.from_function(page).run()
    assert not at.exception
    assert "RuntimeError: disk on fire" in at.error[0].value
    assert at.expander[0].label == "Details"


def test_server_path_outside_the_allowed_roots_is_refused_unread(
    app_test: AppTest, home: Path, tmp_path: Path
) -> None:
    at = _load_from_path(_data_page(app_test), Path("/etc/passwd"))
    assert len(at.error) == 1
    assert "SHOPSYNTH\\_DATA\\_ROOTS" in at.error[0].value  # escaped Markdown of the setting
    assert not at.dataframe  # no preview
    root_line = Path("/etc/passwd").read_text().splitlines()[0]
    assert all(root_line not in element.value for element in [*at.error, *at.caption])


def test_symlink_out_of_the_allowed_roots_is_refused(
    app_test: AppTest, home: Path, tmp_path: Path
) -> None:
    link = tmp_path / "events.csv"
    link.symlink_to("/etc/passwd")
    at = _load_from_path(_data_page(app_test), link)
    assert "SHOPSYNTH\\_DATA\\_ROOTS" in at.error[0].value
    assert not at.dataframe


def test_a_single_column_file_is_not_previewed(
    app_test: AppTest, home: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "id_rsa"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1SECRET\n-----END\n")
    at = _load_from_path(_data_page(app_test), secret)
    assert plain("only one column was found") in at.error[0].value
    assert not at.dataframe
    assert not at.selectbox  # no mapping that would list its first line
    assert "SECRET" not in " ".join(element.value for element in [*at.error, *at.caption])


def test_clean_tab_lists_removed_users_and_keeps_chosen_ones(
    app_test: AppTest, home: Path, tmp_path: Path
) -> None:
    # "bot": 40 views in one minute of one session; "shopper": two items; "solo": one item.
    lines = ["user_id,item_id,event,ts,session_id"]
    lines += [f"bot,i{k % 5},view,2024-05-01 10:00:{k:02d},b1" for k in range(40)]
    lines += ["shopper,i1,view,2024-05-01 11:00:00,s1", "shopper,i2,purchase,2024-05-01 11:05,s1"]
    lines += ["solo,i1,view,2024-05-02 09:00:00,s2"]
    log = tmp_path / "events.csv"
    log.write_text("\n".join(lines) + "\n")
    workspace = Workspace.open(home=home)
    load_dataset(workspace, log)
    clean_dataset(workspace)
    at = _open_tab(_data_page(app_test), "Clean")
    assert not at.exception
    removed = at.dataframe[1].value
    assert removed.values.tolist() == [["bots", "bot", 40], ["k_core", "solo", 1]]
    keep = at.multiselect(key=state.CLEAN_KEEP_USERS)
    assert keep.options == ["bot", "solo"]
    keep.set_value(["bot"])
    at.button(key=state.CLEAN_RUN).click().run()
    assert not at.exception
    assert sorted(set(workspace.read_table(EVENTS_TABLE)["user_id"])) == ["bot", "shopper"]
