"""The warm-started encoder-decoder: MiniLM weights on both sides, offline, a cut decoder
vocabulary, two training steps, generation, saving and loading, and its store and generator
names."""

from __future__ import annotations

import socket
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from core.data.workspace import Workspace
from core.errors import LMError, QueryGenerationError
from core.synth.generation import generate_samples
from core.synth.lm_store import list_lms, save_lm
from core.synth.prompts import product_prompts
from core.synth.review import round_trip
from core.synth.warm import (
    DECODER_END,
    DECODER_START,
    WarmConfig,
    WarmGenerator,
    _choose,
    train_warm,
)
from tests.core.synth.conftest import QUERIES, BagOfWordsEncoder

TWO_STEPS = WarmConfig(
    max_source_tokens=24, max_target_tokens=8, epochs=1, max_pairs=12, batch_size=6,
    learning_rate=5e-4, valid_fraction=0.0, num_threads=1,
)  # fmt: skip


@pytest.fixture(scope="module")
def trained() -> tuple[WarmGenerator, list[str], list[str]]:
    """A model trained for two steps on 12 of the fixture's pairs, with the network blocked:
    the shipped weights must load offline."""
    from tests.core.synth.conftest import make_catalog

    catalog = make_catalog()
    ids = [item for item, queries in QUERIES.items() for _ in queries]
    targets = [query for queries in QUERIES.values() for query in queries]
    sources = product_prompts(catalog, ids)
    calls: list[tuple] = []

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network access in a test")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        model = train_warm(
            sources, targets, TWO_STEPS,
            extra_sources=product_prompts(catalog, list(QUERIES)),
            callback=lambda step, total, info: calls.append((step, total)),
        )  # fmt: skip
    assert calls[-1] == (2, 2)
    return model, product_prompts(catalog, list(QUERIES)), targets


def test_both_sides_start_from_the_shipped_minilm_weights(trained: tuple) -> None:
    from transformers import BertModel

    from core.text.encoders import minilm_path

    model, _, _ = trained
    minilm = BertModel.from_pretrained(str(minilm_path()))
    encoder_query = model.model.encoder.encoder.layer[0].attention.self.query.weight
    assert torch.equal(encoder_query, minilm.encoder.layer[0].attention.self.query.weight)
    # The decoder's feed-forward weights moved by two small steps at most, from MiniLM's.
    decoder_ffn = model.model.decoder.bert.encoder.layer[5].intermediate.dense.weight
    reference = minilm.encoder.layer[5].intermediate.dense.weight
    assert decoder_ffn.shape == reference.shape
    assert float((decoder_ffn - reference).detach().abs().max()) < 0.01
    assert model.model.decoder.config.add_cross_attention
    # The cut decoder vocabulary keeps MiniLM's embedding rows of the kept word pieces.
    piece = model.tokenizer("frying", add_special_tokens=False)["input_ids"][0]
    row = int(np.flatnonzero(model.vocabulary == piece)[0])
    assert model.vocabulary[DECODER_START] == model.tokenizer.cls_token_id
    assert model.vocabulary[DECODER_END] == model.tokenizer.sep_token_id
    decoder_rows = model.model.decoder.get_input_embeddings().weight
    assert decoder_rows.shape[0] == len(model.vocabulary) < 1000
    original = minilm.embeddings.word_embeddings.weight[piece]
    assert float((decoder_rows[row] - original).detach().abs().max()) < 0.01
    # The output layer is tied to the decoder's input embeddings.
    assert model.model.decoder.cls.predictions.decoder.weight is decoder_rows


def test_it_generates_distinct_texts_and_beams(trained: tuple) -> None:
    model, sources, _ = trained
    texts = model.generate(sources[:3], 2, random_state=1)
    assert len(texts) == 3
    for written in texts:
        assert 1 <= len(written) <= 2 and len(set(written)) == len(written)
        assert all(isinstance(text, str) and text == " ".join(text.split()) for text in written)
    assert model.generate(sources[:3], 2, random_state=1) == texts
    beams = model.generate(sources[:2], 2, num_beams=2)
    assert [len(written) <= 2 for written in beams] == [True, True]
    with pytest.raises(LMError, match="at least 1"):
        model.generate(sources, 0)


def test_new_texts_are_preferred_to_avoided_ones() -> None:
    candidates = ["red shoes", "Running Shoes", "", "red shoes", "norvik shoes", "shoes"]
    assert _choose(candidates, 2, {"running shoes", "red shoes"}) == ["norvik shoes", "shoes"]
    assert _choose(candidates, 4, {"running shoes", "red shoes"}) == [
        "norvik shoes", "shoes", "red shoes", "Running Shoes",
    ]  # fmt: skip
    assert _choose(candidates, 2, None) == ["red shoes", "Running Shoes"]


def test_save_load_and_the_generator_name(trained: tuple, workspace: Workspace) -> None:
    model, sources, _ = trained
    folder = save_lm(workspace, "warm-q", model, {"task": "query"})
    assert (folder / "model.safetensors").is_file()
    assert not list(folder.glob("*.bin")) and not list(folder.glob("*.pkl"))
    loaded = WarmGenerator.load(folder)
    assert loaded.generate(sources[:2], 2, num_beams=2) == model.generate(
        sources[:2], 2, num_beams=2
    )
    assert loaded.training_targets == model.training_targets
    listed = list_lms(workspace, task="query")
    assert listed[["name", "generator", "architecture"]].values.tolist() == [
        ["warm-q", "warm:warm-q", "warm"]
    ]
    table = pd.DataFrame({"item_id": ["P01"], "title": ["x"]})
    with pytest.raises(QueryGenerationError, match="other kind"):
        generate_samples(
            workspace, "lm:warm-q", task="query", error=QueryGenerationError,
            template=lambda: table, from_lm=lambda lm, progress: table,
        )  # fmt: skip
    raw, copies = generate_samples(
        workspace, "warm:warm-q", task="query", error=QueryGenerationError,
        template=lambda: table, from_lm=lambda lm, progress: table.assign(text="ok"),
    )  # fmt: skip
    assert raw["text"].tolist() == ["ok"] and copies == set(model.training_targets)


def test_config_checks() -> None:
    with pytest.raises(LMError, match="max_pairs"):
        WarmConfig(max_pairs=1)
    with pytest.raises(LMError, match="at least 2"):
        train_warm(["a source"], ["a target"], TWO_STEPS)


def test_warm_query_and_description_models_in_a_workspace(
    shop: Workspace, bag_encoder: BagOfWordsEncoder
) -> None:
    from core.synth.descriptions import synthesize_descriptions, train_warm_description_model
    from core.synth.queries import (
        consistent_pairs,
        query_training_pairs,
        synthesize_queries,
        train_warm_query_model,
    )

    pairs, _ = query_training_pairs(shop)
    # A query with no word of the encoder's vocabulary ties with every product: not kept.
    pairs = pd.concat([pairs, pd.DataFrame({"query": ["zzz"], "item_id": ["P01"]})])
    kept = consistent_pairs(shop, pairs, bag_encoder, k=1)
    # Independent count: a pair is kept when no other product scores at least as high.
    trip = round_trip(pairs["query"].tolist(), pairs["item_id"].tolist(),
                      shop.read_table("catalog"), bag_encoder, k=1)  # fmt: skip
    assert len(kept) == int(trip["consistent"].sum()) and 0 < len(kept) < len(pairs)
    model = train_warm_query_model(shop, "wq", TWO_STEPS, pairs=pairs, encoder=bag_encoder, k=1)
    assert "zzz" not in set(kept["query"])
    assert model.metadata["n_consistent_pairs"] == len(kept)
    run = synthesize_queries(
        shop, "warm:wq", n_per_product=2, item_ids=["P01", "P02"], encoder=bag_encoder
    )
    assert run.generator == "warm:wq" and set(run.samples["item_id"]) <= {"P01", "P02"}
    assert 1 <= len(run.samples) <= 4
    config = replace(TWO_STEPS, max_target_tokens=12)
    train_warm_description_model(shop, "wd", config)
    written = synthesize_descriptions(shop, "warm:wd", item_ids=["P02", "P03"])
    assert written.samples["item_id"].tolist() == ["P02", "P03"]
    assert written.samples["text"].str.len().gt(0).all()
