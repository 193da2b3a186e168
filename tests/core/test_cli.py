"""The command line: ``python -m core`` loads, cleans and reports like the dashboard."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.__main__ import main
from core.data.workspace import HOME_ENV_VAR, Workspace


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv(HOME_ENV_VAR, str(folder))
    return folder


def test_ingest_clean_and_info(home: Path, tmp_path: Path, capsys) -> None:
    log = tmp_path / "log.csv"
    log.write_text(
        "customer,product,action,date\n"
        "c1,p1,view,2024-01-01 10:00\n"
        "c1,p2,buy,2024-01-01 10:05\n"
        "c1,p2,buy,2024-01-01 10:05\n"
        "c2,p1,view,2024-01-02 09:00\n"
        "c2,p3,view,2024-01-02 09:01\n"
    )
    assert main(["ingest", str(log), "--workspace", "cli"]) == 0
    assert main(["clean", "--workspace", "cli", "--min-user-interactions", "2"]) == 0
    workspace = Workspace.open("cli", home=home)
    # One exact duplicate removed; both users keep two distinct items.
    assert workspace.row_count("raw_events") == 5
    assert workspace.row_count("events") == 4
    assert main(["info", "--workspace", "cli"]) == 0
    out = capsys.readouterr().out
    assert "loaded 5 events, 2 users, 3 items" in out
    assert "duplicates" in out


def test_sample_if_empty_loads_once(home: Path, capsys) -> None:
    assert main(["sample", "--if-empty"]) == 0
    workspace = Workspace.open(home=home)
    loaded_at = workspace.dataset_info().loaded_at
    assert workspace.row_count("raw_events") == 300_000
    assert main(["sample", "--if-empty"]) == 0
    assert workspace.dataset_info().loaded_at == loaded_at
    assert "nothing to do" in capsys.readouterr().out


def test_bad_file_exits_2_with_the_message(home: Path, tmp_path: Path, capsys) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert main(["ingest", str(empty)]) == 2
    assert "is empty" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("shadow", "root:$6$SECRETsalt$SECREThash:19000:0:99999:7:::\ndaemon:*:19000::::::\n"),
        ("id_rsa", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1SECRET\n-----END\n"),
        (".env", "DB_PASSWORD=SECRET\nAPI_KEY=SECRET2\n"),
    ],
)
def test_ingest_of_a_file_that_is_not_data_does_not_quote_it(
    home: Path, tmp_path: Path, capsys, name: str, content: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    assert main(["ingest", str(path), "--workspace", "cli"]) == 2
    captured = capsys.readouterr()
    assert "only one column was found" in captured.err
    for line in content.splitlines():
        assert line not in captured.out + captured.err
    assert "SECRET" not in captured.out + captured.err


def test_queries_command_trains_the_default_warm_generator_and_writes(
    home: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from core.synth import queries
    from core.synth.lm_store import list_lms
    from tests.core.synth.conftest import make_catalog, write_catalog, write_search_log

    workspace = Workspace.open("cli-q", home=home)
    write_catalog(workspace, make_catalog())
    write_search_log(workspace)
    # Two training steps: the command's wiring is under test, not the model's quality.
    tiny = replace(queries.WARM_QUERY_CONFIG, max_pairs=12, batch_size=6, valid_fraction=0.0)
    monkeypatch.setattr(queries.train_warm_query_model, "__defaults__", (tiny,))
    assert main(["queries", "--workspace", "cli-q", "--products", "2", "--per-product", "2"]) == 0
    assert list_lms(workspace, task="query")["generator"].tolist() == ["warm:query-warm"]
    out = capsys.readouterr().out
    assert "by warm:query-warm stored as pending" in out
    runs = workspace.read_table("runs")
    assert (runs["kind"] == "synthetic_queries").sum() == 1
    assert main(["queries", "--workspace", "cli-q", "--generator", "template"]) == 0
    assert "by template stored as pending" in capsys.readouterr().out
    assert main(["queries", "--workspace", "cli-q", "--generator", "gpt2", "--model", "x!"]) == 2
