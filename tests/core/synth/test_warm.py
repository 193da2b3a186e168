"""The warm-started encoder-decoder: MiniLM weights on both sides, offline, a cut decoder
vocabulary, two training steps, generation, saving and loading, and its store and generator
names."""

from __future__ import annotations

import math
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


def test_copy_head_mixes_vocabulary_and_copy_distributions_as_computed_by_hand() -> None:
    from core.synth.pointer import CopyHead

    head = CopyHead(2)
    with torch.no_grad():
        head.gate.bias.fill_(math.log(3.0))  # gate weights are zero: g = sigmoid(log 3) = 0.75
    hidden = torch.tensor([[[1.0, 0.0]]])
    states = torch.tensor([[[2.0, 0.0], [0.0, 2.0], [5.0, 5.0]]])
    copyable = torch.tensor([[True, True, False]])
    source_ids = torch.tensor([[4, 4, 1]])  # both copyable pieces are word 4 of 5
    logits = torch.log(torch.tensor([[[0.1, 0.2, 0.3, 0.2, 0.2]]]))
    log_p = head(hidden, logits, states, copyable, source_ids)
    # Identity projections: scores (2, 0) / sqrt(2) over the copyable pieces, both word 4,
    # so word 4 receives all the copy mass; p = 0.25 * p_vocab + 0.75 * copy.
    expected = np.array([0.1, 0.2, 0.3, 0.2, 0.2]) * 0.25
    expected[4] += 0.75
    np.testing.assert_allclose(log_p.exp().detach().numpy()[0, 0], expected, rtol=1e-5)


def test_with_the_copy_gate_forced_to_one_it_writes_only_source_pieces(trained: tuple) -> None:
    from core.synth.pointer import decode

    model, sources, _ = trained
    torch.manual_seed(2)
    with torch.inference_mode():
        states = model.encode_sources(sources[:3])
        batch = model.source_batch(states, model.source_ids(sources[:3]))
        model.copy_head.forced_gate = 1.0
        try:
            written = decode(
                model.model.decoder, model.copy_head, batch, n=4, max_new_tokens=6,
                start=DECODER_START, end=DECODER_END, pad=0, temperature=1.5,
            )  # fmt: skip
        finally:
            model.copy_head.forced_gate = None
    for row, texts in enumerate(written):
        allowed = set(batch["ids"][row][batch["copyable"][row]].tolist())
        assert DECODER_END in allowed and DECODER_START not in allowed
        assert all(texts) and all(set(ids) <= allowed for ids in texts)
        # Pieces are not repeated within a text.
        assert all(len(set(ids)) == len(ids) for ids in texts)


def test_cached_decoding_matches_whole_prefixes(trained: tuple) -> None:
    from core.synth.pointer import log_probs

    model, sources, _ = trained
    with torch.inference_mode():
        states = model.encode_sources(sources[:2])
        batch = model.source_batch(states, model.source_ids(sources[:2]))
        targets = torch.tensor([[DECODER_START, 5, 7, 9], [DECODER_START, 6, 8, DECODER_END]])
        whole, _ = log_probs(model.model.decoder, model.copy_head, targets, batch)
        cache, steps = None, []
        for position in range(targets.shape[1]):
            step, cache = log_probs(
                model.model.decoder, model.copy_head, targets[:, position : position + 1],
                batch, past=cache,
            )  # fmt: skip
            steps.append(step[:, -1])
    np.testing.assert_allclose(torch.stack(steps, 1).numpy(), whole.numpy(), atol=1e-4)


def test_new_weights_start_from_pretrained_ones_and_fewer_layers_are_kept() -> None:
    sources = ["Oak Table, Brown | Tables", "Red Mug | Mugs"]
    model = WarmGenerator.new([*sources, "oak table"], replace(TWO_STEPS, decoder_layers=2))
    layers = model.model.decoder.bert.encoder.layer
    assert len(layers) == 2 and model.model.config.decoder.num_hidden_layers == 2
    for layer in layers:
        assert torch.equal(layer.crossattention.self.key.weight, layer.attention.self.key.weight)
    dense = model.model.decoder.cls.predictions.transform.dense.weight
    assert torch.equal(dense, torch.eye(dense.shape[0]))


def test_a_loaded_generator_samples_the_same_texts(trained: tuple, workspace: Workspace) -> None:
    model, sources, _ = trained
    folder = save_lm(workspace, "warm-sampled", model, {"task": "query"})
    assert (folder / "copy_head.safetensors").is_file()
    loaded = WarmGenerator.load(folder)
    written = model.generate(sources[:3], 2, random_state=7, temperature=1.2)
    assert loaded.generate(sources[:3], 2, random_state=7, temperature=1.2) == written
    assert loaded.generate(sources[:3], 2, random_state=8, temperature=1.2) != written
