"""The small GPT-2 language model: training, sampling, saving, stopping."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from core.data.workspace import Workspace
from core.errors import LMError, TrainingCancelled
from core.synth.lm import LMConfig, TextLM, _pick
from core.synth.lm_store import delete_lm, list_lms, lm_path, lms_dir, load_lm
from core.synth.lm_training import train_lm, train_tokenizer
from core.synth.prompts import product_prompts
from core.synth.queries import train_query_lm
from tests.core.synth.conftest import QUERIES, TINY_LM


def _pairs(catalog: pd.DataFrame) -> tuple[list[str], list[str]]:
    items = [item for item, queries in QUERIES.items() for _ in queries]
    targets = [query for queries in QUERIES.values() for query in queries]
    return product_prompts(catalog, items), targets


def test_product_prompts(catalog: pd.DataFrame) -> None:
    prompts = product_prompts(catalog, ["P02", "P03", "nope"])
    # The brand, colour... that the title names are left out; the type is the last level.
    assert prompts[0] == "Norvik Non-stick Frying Pan, 28 cm | Frying Pans | black | aluminium"
    assert prompts[1] == "Cotton T-Shirt by Briarco, White, M | T-Shirts | organic"
    assert prompts[2] == ""


def test_tokenizer_round_trips_any_text() -> None:
    tokenizer = train_tokenizer(["red shoes", "blue shoes"], 300, lowercase=True)
    ids = tokenizer("Red shoés 42!", add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids).strip() == "red shoés 42!"
    assert tokenizer.convert_tokens_to_ids("<sep>") != tokenizer.unk_token_id


def test_training_lowers_the_loss_and_sampling_respects_n(catalog: pd.DataFrame) -> None:
    sources, targets = _pairs(catalog)
    calls: list[tuple[int, int, str]] = []
    lm = train_lm(sources, targets, TINY_LM, callback=lambda *call: calls.append(call))
    history = lm.metadata["history"]
    assert [row["epoch"] for row in history] == list(range(1, 13))
    assert history[-1]["train_loss"] < 0.7 * history[0]["train_loss"]
    assert lm.loss(sources, targets) < history[0]["train_loss"]
    steps = [step for step, _, _ in calls]
    assert steps == list(range(1, len(steps) + 1)) and calls[-1][0] == calls[-1][1]
    assert calls[-1][2].point["epoch"] == pytest.approx(12.0)  # a curve point per step
    assert lm.training_targets == sorted(set(targets))
    written = lm.generate(sources[:5], n=3, temperature=1.0, top_p=0.9, batch_size=2)
    assert len(written) == 5 and all(len(texts) == 3 for texts in written)
    assert all(isinstance(text, str) for texts in written for text in texts)
    # The same seed gives the same samples, on one worker or two; greedy decoding gives n
    # identical texts.
    assert lm.generate(sources[:5], n=3, top_p=0.9, batch_size=2, num_workers=1) == written
    assert lm.generate(sources[:5], n=3, top_p=0.9, batch_size=2, num_workers=2) == written
    assert lm.generate(sources[:5], n=3, top_p=0.9, batch_size=2, random_state=1) != written
    greedy = lm.generate(sources[:4], n=2, temperature=0)
    assert all(texts[0] == texts[1] for texts in greedy)
    # Batched (left-padded) greedy decoding equals one prompt at a time.
    assert greedy == [lm.generate([source], n=2, temperature=0)[0] for source in sources[:4]]
    assert lm.generate([], n=2) == []
    with pytest.raises(LMError, match="at least 1"):
        lm.generate(sources, n=0)


def test_generation_continues_a_prefix(catalog: pd.DataFrame) -> None:
    lm = train_lm(*_pairs(catalog), TINY_LM)
    written = lm.generate(["anything"], n=2, prefixes=["garden"], top_p=0.9)
    assert all(text.startswith("garden") for text in written[0])


def test_save_and_load_give_identical_greedy_samples(
    workspace: Workspace, catalog: pd.DataFrame
) -> None:
    sources, targets = _pairs(catalog)
    lm = train_lm(sources, targets, TINY_LM)
    folder = lm.save(workspace.artifacts_dir / "lm-test", {"task": "query"})
    assert (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()
    loaded = TextLM.load(folder)
    assert loaded.config == TINY_LM
    assert loaded.metadata["task"] == "query"
    assert loaded.training_targets == lm.training_targets
    assert loaded.generate(sources, temperature=0) == lm.generate(sources, temperature=0)
    assert loaded.loss(sources, targets) == pytest.approx(lm.loss(sources, targets), rel=1e-6)
    with pytest.raises(LMError, match="no language model"):
        TextLM.load(workspace.artifacts_dir)


def test_train_query_lm_saves_and_records(shop: Workspace) -> None:
    lm = train_query_lm(shop, "q-tiny", TINY_LM)
    listed = list_lms(shop)
    assert listed["name"].tolist() == ["q-tiny"] and listed["task"].tolist() == ["query"]
    assert listed["n_train"].iloc[0] == 36
    assert lm_path(shop, "q-tiny").is_dir()
    assert load_lm(shop, "q-tiny").generate(["x"], temperature=0) == lm.generate(
        ["x"], temperature=0
    )
    runs = shop.list_runs("synthetic_lm")
    assert runs["name"].tolist() == ["q-tiny"]
    assert list_lms(shop, task="description").empty
    delete_lm(shop, "q-tiny")
    assert list_lms(shop).empty
    with pytest.raises(LMError, match="no language model"):
        load_lm(shop, "q-tiny")


@pytest.mark.parametrize("how", ["should_stop", "callback"])
def test_a_stopped_training_leaves_nothing_behind(shop: Workspace, how: str) -> None:
    steps = []

    def callback(step: int, total: int, info: str) -> None:
        steps.append(step)
        if how == "callback" and step == 3:
            raise TrainingCancelled("stop")

    with pytest.raises(TrainingCancelled):
        train_query_lm(
            shop,
            "stopped",
            TINY_LM,
            callback=callback,
            should_stop=(lambda: len(steps) >= 3) if how == "should_stop" else None,
        )
    assert steps[-1] == 3
    folder = lms_dir(shop)
    assert not folder.exists() or not any(folder.iterdir())
    assert shop.list_runs().empty


def test_config_and_input_checks() -> None:
    with pytest.raises(LMError, match="divide"):
        LMConfig(n_embd=30, n_head=4)
    with pytest.raises(LMError, match="vocab_size"):
        LMConfig(vocab_size=100)
    with pytest.raises(LMError, match="at least 2 are needed"):
        train_lm(["a", "b"], ["x", " "], TINY_LM)
    with pytest.raises(LMError, match="sources for"):
        train_lm(["a"], ["x", "y"], TINY_LM)


def test_nucleus_sampling_keeps_the_smallest_set_reaching_top_p() -> None:
    logits = torch.log(torch.tensor([[0.1, 0.6, 0.3]] * 2000))
    generator = torch.Generator().manual_seed(0)
    # 0.6 alone reaches 0.5; 0.6 + 0.3 reaches 0.8; the 0.1 token is never drawn below 0.9.
    assert set(_pick(logits, 1.0, 0.5, generator).tolist()) == {1}
    drawn = _pick(logits, 1.0, 0.8, generator)
    assert set(drawn.tolist()) == {1, 2}
    assert (drawn == 1).float().mean().item() == pytest.approx(0.6 / 0.9, abs=0.04)
    assert set(_pick(logits, 1.0, 1.0, generator).tolist()) == {0, 1, 2}
    assert _pick(logits[:1], 0.0, 0.5, generator).tolist() == [1]


def test_the_synthesis_modules_load_without_torch() -> None:
    # The Synthetic Data page opens on these modules; torch and transformers (seconds to
    # import) load only when a language model is trained, sampled or read.
    code = (
        "import sys; import core.synth.lm, core.synth.lm_store, core.synth.generation, "
        "core.synth.queries, core.synth.descriptions, core.synth.interactions.runs, "
        "core.synth.interactions.augment; "
        "print(sorted({'torch', 'transformers', 'tokenizers'} & set(sys.modules)))"
    )
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
