"""Random search of hyperparameters on the validation part: seeded, capped, budgeted, and blind
to the test part."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.__main__ import main
from core.data.interactions import Interactions
from core.data.splits import Split, random_split
from core.data.workspace import HOME_ENV_VAR, Workspace
from core.errors import ModelError
from core.models.registry import make_model
from core.models.runs import NDCG_KEY, list_models, run_info
from core.models.training import evaluate
from core.models.tuning import SECONDS, STARTED, TRIAL, LogUniform, OneOf, tune
from tests.core.models.conftest import _checker_board
from tests.core.test_training import write_log

DAY = np.timedelta64(1, "D")
START = np.datetime64("2024-01-01T00:00:00", "s")
# Items 0-19 nobody touched; A was popular long ago, B and C are popular in the last days.
ITEM_A, ITEM_B, ITEM_C = 20, 21, 22
N_ITEMS = 23


def _part(pairs: list[tuple[int, int, int]], n_users: int) -> Interactions:
    users, items, days = (np.array(column) for column in zip(*pairs, strict=True))
    order = np.lexsort((items, users))
    return Interactions.from_arrays(
        [f"u{user:02d}" for user in range(n_users)],
        [f"i{item:02d}" for item in range(N_ITEMS)],
        users[order],
        items[order],
        np.ones(len(users), dtype=np.float32),
        START + days[order] * DAY,
    )


def _trap_split(test_on_valid_users: bool = True) -> Split:
    """Users 0-19 had A on days 0-19; users 20-29 had B and users 30-37 had C on day 100.

    Popularity over all time ranks A, B, C; over a 1-day window B, C, then the untouched
    items by index, A last. Validation gives users 20-29 item A: all time puts it first
    (NDCG 1), the window outside the top 10 (NDCG 0). The test part gives them item C: all
    time puts it second after A (NDCG 1/log2(3)), the window first (NDCG 1). Choosing on
    the test part would pick the window; choosing on validation picks all time.
    """
    n_users = 38
    train = [(user, ITEM_A, user) for user in range(20)]
    train += [(user, ITEM_B, 100) for user in range(20, 30)]
    train += [(user, ITEM_C, 100) for user in range(30, 38)]
    valid = [(user, ITEM_A, 101) for user in range(20, 30)]
    if test_on_valid_users:
        test = [(user, ITEM_C, 102) for user in range(20, 30)]
    else:
        test = [(user, ITEM_B, 102) for user in range(20)]
    return Split.from_parts(
        _part(train, n_users), _part(test, n_users), _part(valid, n_users), "by hand", {}
    )


def _on_test(split: Split) -> Split:
    """The same train part, the test part scored as validation."""
    return Split.from_parts(split.train, split.test, split.test, "by hand", {})


WINDOW = {"window_days": OneOf((None, 1.0))}


def test_choice_never_reads_the_test_part() -> None:
    split = _trap_split()
    result = tune(split, "popularity", space=WINDOW, max_trials=5, budget_seconds=None)
    assert result.best_params == {"window_days": None}
    # None (all time) shows as a missing value in the table.
    assert result.trials["window_days"].isna().tolist() == [True, False]
    assert result.trials["window_days"].iloc[1] == 1.0
    np.testing.assert_allclose(result.trials[NDCG_KEY], [1.0, 0.0])
    # Both settings tried, the third draw found nothing new.
    assert result.stopped == "space"
    # The test part would have chosen the window: 1/log2(3) for all time, 1 for the window.
    on_test = tune(_on_test(split), "popularity", space=WINDOW, budget_seconds=None)
    np.testing.assert_allclose(on_test.trials[NDCG_KEY], [1 / np.log2(3), 1.0])
    assert on_test.best_params == {"window_days": 1.0}
    # Another test part changes nothing.
    other = tune(_trap_split(False), "popularity", space=WINDOW, budget_seconds=None)
    columns = ["window_days", NDCG_KEY]
    pd.testing.assert_frame_equal(other.trials[columns], result.trials[columns])


def _board_split() -> Split:
    board = _checker_board()
    return random_split(board.train, 0.2, valid_fraction=0.2, by_user=True, random_state=0)


def _settings(trials: pd.DataFrame) -> pd.DataFrame:
    return trials.drop(columns=[STARTED, SECONDS])


def test_same_seed_same_trials_and_trial_cap() -> None:
    split = _board_split()
    first = tune(split, "item_knn", max_trials=6, budget_seconds=None, random_state=3)
    again = tune(split, "item_knn", max_trials=6, budget_seconds=None, random_state=3)
    other = tune(split, "item_knn", max_trials=6, budget_seconds=None, random_state=4)
    pd.testing.assert_frame_equal(_settings(first.trials), _settings(again.trials))
    assert first.best_params == again.best_params
    assert len(first.trials) == 6 and first.stopped == "trials"
    assert first.trials[TRIAL].tolist() == list(range(6))
    # Trial 0 is the defaults; then distinct draws, which the seed decides.
    assert first.trials.loc[0, "k_neighbours"] == 50
    assert first.trials.loc[0, "similarity"] == "cosine"
    settings = list(zip(first.trials["similarity"], first.trials["k_neighbours"], strict=True))
    assert len(set(settings)) == 6
    assert not _settings(other.trials).equals(_settings(first.trials))
    # The best is the highest validation NDCG@10, the first one on ties.
    best = first.trials[NDCG_KEY].to_numpy().argmax()
    assert first.best_trial == best
    assert first.best_params == {
        "similarity": first.trials.loc[best, "similarity"],
        "k_neighbours": first.trials.loc[best, "k_neighbours"],
    }


def test_a_start_setting_is_tried_first_and_kept_unless_beaten() -> None:
    split = _board_split()
    plain = tune(split, "item_knn", max_trials=4, budget_seconds=None, random_state=3)
    start = {"similarity": "bm25", "k_neighbours": 7}
    started = tune(
        split, "item_knn", max_trials=4, budget_seconds=None, random_state=3, start_params=start
    )
    assert started.trials.loc[0, "similarity"] == "bm25"
    assert started.trials.loc[0, "k_neighbours"] == 7
    # The random draws after it are the ones of the plain search.
    pd.testing.assert_frame_equal(
        _settings(started.trials).iloc[1:].reset_index(drop=True),
        _settings(plain.trials).iloc[1:].reset_index(drop=True),
    )
    # The start setting scores as a fit of it does, and wins unless a draw beats it.
    model = make_model("item_knn", **start).fit(split.train)
    assert started.trials.loc[0, NDCG_KEY] == pytest.approx(evaluate(model, split)[NDCG_KEY])
    best = started.trials[NDCG_KEY].to_numpy().argmax()
    assert started.best_trial == best
    with pytest.raises(ModelError, match="does not vary"):
        tune(split, "item_knn", start_params={"factors": 3})


def test_no_trial_starts_after_the_budget() -> None:
    split = _board_split()
    space = {"regularization": LogUniform(0.01, 10.0)}
    reports = []
    result = tune(
        split,
        "als",
        space=space,
        fixed_params={"factors": 8, "iterations": 30},
        max_trials=10_000,
        budget_seconds=0.2,
        callback=lambda step, total, info: reports.append((step, total)),
    )
    assert result.stopped == "budget"
    assert 1 <= len(result.trials) < 10_000
    assert (result.trials[STARTED] < 0.2).all()
    assert reports == [(step, 10_000) for step in range(1, len(result.trials) + 1)]
    assert set(result.best_params) == {"factors", "iterations", "regularization"}


def test_bad_requests_are_model_errors() -> None:
    split = _board_split()
    no_valid = Split.from_parts(split.train, split.test, None, "random", {})
    with pytest.raises(ModelError, match="validation part"):
        tune(no_valid, "popularity")
    with pytest.raises(ModelError, match="max_trials"):
        tune(split, "popularity", max_trials=0)
    with pytest.raises(ModelError, match="budget_seconds"):
        tune(split, "popularity", budget_seconds=-1)
    with pytest.raises(ModelError, match="unknown model"):
        tune(split, "nope")
    with pytest.raises(ModelError, match="no hyperparameter"):
        tune(split, "popularity", space={"factors": OneOf((1, 2))})


def test_tune_command_prints_the_trials_and_trains_the_best(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv(HOME_ENV_VAR, str(home))
    write_log(Workspace.open("cli", home=home))
    argv = ["tune", "item_knn", "--workspace", "cli", "--trials", "3", "--train-best"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    table = out.splitlines()
    assert table[0].split()[:3] == ["trial", "similarity", "k_neighbours"]
    assert [line.split()[0] for line in table[1:4]] == ["0", "1", "2"]
    assert "stopped by trials" in out
    models = list_models(Workspace.open("cli", home=home))
    assert models["name"].tolist() == ["item_knn (tuned)"]
    hyper = run_info(Workspace.open("cli", home=home), models["run_id"][0])["params"]
    best = out.split("best: trial ")[1].split()[0]
    chosen = table[1 + int(best)].split()
    assert hyper["hyperparameters"]["similarity"] == chosen[1]
    assert hyper["hyperparameters"]["k_neighbours"] == int(chosen[2])
    assert main(["tune", "nope", "--workspace", "cli"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err


def test_validation_of_the_public_splits_comes_from_their_training_parts(
    shared_datasets: Path,
) -> None:
    from core.data.datasets import load_beauty, load_movielens, with_validation

    for split in (load_movielens(shared_datasets), load_beauty(shared_datasets)):
        carved = with_validation(split)
        assert carved.test is split.test
        assert carved.train.nnz + carved.valid.nnz == split.train.nnz
        assert carved.train.matrix.multiply(carved.valid.matrix).nnz == 0
        assert carved.valid.matrix.multiply(split.test.matrix).nnz == 0
    # Beauty: each user's last training item, one per user.
    beauty = with_validation(load_beauty(shared_datasets))
    assert beauty.valid.nnz == beauty.valid.n_users
