"""Malformed files: a typed error that says what to do, or a load with a warning; never a change
to the workspace when the load fails. Random bytes and random CSV text raise nothing else."""

from __future__ import annotations

import contextlib
import string
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.data.ingest.load import load_dataset
from core.data.ingest.sniff import sniff
from core.data.workspace import Workspace
from core.errors import IngestError
from tests.core.bad_files import BAD_FILES, GOOD_CSV

ALL_TABLES = (
    "raw_events",
    "raw_catalog",
    "events",
    "catalog",
    "dataset",
    "cleaning_reports",
    "runs",
)


def _state(workspace: Workspace) -> tuple[str, object]:
    return workspace.fingerprint(*ALL_TABLES), workspace.dataset_info()


@pytest.fixture
def loaded(workspace: Workspace, tmp_path: Path) -> Workspace:
    """A workspace holding a small good dataset and a recorded run."""
    good = tmp_path / "good.csv"
    good.write_text(GOOD_CSV)
    load_dataset(workspace, good, name="good")
    workspace.add_run("training", "baseline", {"k": 10})
    return workspace


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file(case: str, loaded: Workspace, tmp_path: Path) -> None:
    bad = BAD_FILES[case]
    folder = tmp_path / "bad"
    folder.mkdir()
    path = bad.write(folder)
    before = _state(loaded)
    if bad.error is not None:
        with pytest.raises(bad.error) as raised:
            load_dataset(loaded, path)
        message = str(raised.value)
        for fragment in bad.fragments:
            assert fragment in message
        assert "LINE 1" not in message and "^^^" not in message
        assert len(message) < 800
        assert _state(loaded) == before
    else:
        result = load_dataset(loaded, path)
        text = "\n".join(result.warnings)
        for fragment in bad.fragments:
            assert fragment in text
        assert bad.check is not None
        bad.check(loaded)
        assert loaded.dataset_info().source == str(path)


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_sniff_of_bad_file_raises_only_ingest_error(case: str, tmp_path: Path) -> None:
    path = BAD_FILES[case].write(tmp_path)
    try:
        result = sniff(path)
    except IngestError as error:
        assert str(error)
    else:
        assert result.columns


def test_there_are_at_least_fifteen_bad_files() -> None:
    assert len(BAD_FILES) >= 15
    assert sum(bad.error is not None for bad in BAD_FILES.values()) >= 15


def test_bad_catalogue_leaves_workspace_unchanged(loaded: Workspace, tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_text(GOOD_CSV)
    catalog = tmp_path / "catalog.csv"
    catalog.write_text("title,brand\nRed shoe,Acme\n")
    before = _state(loaded)
    with pytest.raises(IngestError, match="no item column found in the catalogue"):
        load_dataset(loaded, events, catalog_path=catalog)
    assert _state(loaded) == before


def test_missing_file_is_an_ingest_error(workspace: Workspace, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="file not found"):
        load_dataset(workspace, tmp_path / "nope.csv")


_SUFFIXES = [
    "events.csv",
    "events.tsv",
    "events.txt",
    "events.json",
    "events.jsonl",
    "events.parquet",
    "events.csv.gz",
    "events",
]


class _Fuzzed:
    """A workspace fed random files, with its state after the last successful load."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.state = _state(workspace)

    def check(self, data: bytes, filename: str) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / filename
            path.write_bytes(data)
            with contextlib.suppress(IngestError):
                sniff(path)
            try:
                load_dataset(self.workspace, path)
            except IngestError:
                assert _state(self.workspace) == self.state
            else:
                self.state = _state(self.workspace)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> _Fuzzed:
    return _Fuzzed(Workspace.open("fuzz", home=tmp_path_factory.mktemp("fuzz")))


_FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.mark.slow
@_FUZZ
@given(data=st.binary(max_size=600), filename=st.sampled_from(_SUFFIXES))
@example(data=b"\xff\xfe", filename="events.csv")
@example(data=b"\xfe\xff", filename="events.csv")
@example(data=b"\xef\xbb\xbf", filename="events.csv")
def test_random_bytes_raise_only_ingest_error(fuzzed: _Fuzzed, data: bytes, filename: str) -> None:
    fuzzed.check(data, filename)


_cell = st.text(alphabet=string.ascii_letters + string.digits + " -:/.=+@\"'é", max_size=12)


@pytest.mark.slow
@_FUZZ
@given(
    header=st.lists(
        st.sampled_from(["user_id", "item_id", "ts", "event", "query", "title", "price", "x"]),
        min_size=1,
        max_size=5,
    ),
    rows=st.lists(st.lists(_cell, min_size=0, max_size=6), max_size=8),
    delimiter=st.sampled_from([",", ";", "\t", "|", " "]),
)
def test_random_csv_raises_only_ingest_error(
    fuzzed: _Fuzzed, header: list[str], rows: list[list[str]], delimiter: str
) -> None:
    text = "\n".join(delimiter.join(row) for row in [header, *rows]) + "\n"
    fuzzed.check(text.encode(), "events.csv")
