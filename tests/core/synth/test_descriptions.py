"""Synthetic descriptions: targets, the template baseline, the LM, flags and the whole step."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from core.data.workspace import Workspace
from core.errors import DescriptionGenerationError, TrainingCancelled
from core.synth.descriptions import (
    description_flags,
    description_targets,
    is_repetitive,
    synthesize_descriptions,
    template_descriptions,
    train_description_lm,
)
from core.synth.lm_store import list_lms
from core.synth.queries import train_query_lm
from core.synth.store import accepted_descriptions, list_samples, set_status
from tests.core.synth.conftest import TINY_LM, write_catalog

# P02 ("A frying pan.", 3 words), P03 (none), P05 (empty) and P07 ("Non-slip yoga mat.") are
# short at 15 words, and so is P01 (12 words); every other product has 15 words or more.
SHORT_AT_15 = ["P01", "P02", "P03", "P05", "P07"]


def test_targets_are_the_missing_and_short_descriptions(catalog: pd.DataFrame) -> None:
    assert description_targets(catalog, min_words=15) == SHORT_AT_15
    assert description_targets(catalog, min_words=4) == ["P02", "P03", "P05", "P07"]
    with pytest.raises(DescriptionGenerationError, match="min_words"):
        description_targets(catalog, min_words=0)


def test_template_descriptions(catalog: pd.DataFrame) -> None:
    written = template_descriptions(catalog, random_state=1)
    assert written["item_id"].tolist() == SHORT_AT_15
    text = written.set_index("item_id")["text"]
    # A short description is extended: the new text starts with it, and repeats nothing it said.
    assert text["P07"].startswith("Non-slip yoga mat. ")
    assert "purple" in text["P07"] and "rubber" in text["P07"] and "183 cm" in text["P07"]
    assert text["P07"].lower().count("non-slip") == 1
    assert "non-stick" in text["P02"]  # the feature gets a sentence of its own
    # A missing one is written anew from the attributes.
    assert "Briarco" in text["P03"] and "t-shirt" in text["P03"] and "cotton" in text["P03"]
    assert template_descriptions(catalog, random_state=1).equals(written)
    several = template_descriptions(catalog, item_ids=["P05"], n_per_product=3, random_state=0)
    assert len(several) == 3 and several["text"].is_unique
    # A description that already names every attribute gets nothing.
    said = catalog.assign(description="A red, organic, mesh thing. Size: EU 42. Lightweight.")
    assert template_descriptions(said, item_ids=["P01"]).empty


def test_flags() -> None:
    flags = description_flags(
        ["A frying pan.", "word " * 20, "It is red. It is red. It is red and blue."],
        copies={"a frying pan."},
        mismatches=[[], [], ["blue"]],
        min_words=5,
        max_words=15,
    )
    assert flags == [
        ["copy_of_real", "too_short"], ["too_long", "repetitive"], ["repetitive", "wrong_attribute"]
    ]  # fmt: skip
    assert not is_repetitive("a b c d a b c e")
    assert is_repetitive("A b c d. a B c d")


def test_synthesize_template_descriptions_targets_only_short_ones(shop: Workspace) -> None:
    result = synthesize_descriptions(shop, min_words=15, random_state=0)
    assert sorted(result.samples["item_id"]) == SHORT_AT_15
    assert result.metrics["n_targets"] == 5 and result.metrics["n_samples"] == 5
    stored = list_samples(shop, kind="description")
    assert stored["item_id"].tolist() == result.samples["item_id"].tolist()
    assert (stored["status"] == "pending").all()
    assert shop.list_runs("synthetic_descriptions")["run_id"].tolist() == [result.run_id]
    set_status(shop, "accepted", run_id=result.run_id, flagged=False)
    accepted = accepted_descriptions(shop)
    unflagged = result.samples[[not flags for flags in result.samples["flags"]]]
    assert sorted(accepted["item_id"]) == sorted(unflagged["item_id"])
    # The catalogue is untouched.
    assert shop.read_table("catalog").set_index("item_id").loc["P02", "description"] == (
        "A frying pan."
    )
    complete = shop.read_table("catalog").query("item_id not in @SHORT_AT_15")
    write_catalog(shop, complete)
    with pytest.raises(DescriptionGenerationError, match="nothing to write"):
        synthesize_descriptions(shop, min_words=15)


def test_description_lm_trains_and_extends(shop: Workspace) -> None:
    config = replace(TINY_LM, lowercase=False, max_target_tokens=40)
    lm = train_description_lm(shop, "d-tiny", config, min_words=15)
    # Trained on the seven products with a description of 15 words or more.
    assert lm.metadata["n_train"] == 7
    assert list_lms(shop, task="description")["name"].tolist() == ["d-tiny"]
    result = synthesize_descriptions(shop, "lm:d-tiny", min_words=15, random_state=0)
    text = result.samples.set_index("item_id")["text"]
    assert sorted(text.index) == SHORT_AT_15
    assert text["P02"].startswith("A frying pan.")
    assert text["P07"].startswith("Non-slip yoga mat.")
    assert result.metrics["copy_rate"] >= 0
    train_query_lm(shop, "q-tiny", TINY_LM)
    with pytest.raises(DescriptionGenerationError, match="not a description model"):
        synthesize_descriptions(shop, "lm:q-tiny")


def test_a_stopped_description_step_stores_nothing(shop: Workspace) -> None:
    with pytest.raises(TrainingCancelled):
        synthesize_descriptions(shop, should_stop=lambda: True)
    assert list_samples(shop).empty and shop.list_runs().empty
