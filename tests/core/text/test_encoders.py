"""Encoders: MiniLM equals sentence-transformers, length-sorted batches keep input order."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from core.errors import EncoderError
from core.text.encoders import (
    ENCODER_ENV_VAR,
    BertEncoder,
    default_encoder_spec,
    load_encoder,
    minilm_path,
    tiny_encoder,
)

SENTENCES = [
    "red running shoes",
    "A lightweight stainless steel frying pan with a heat-resistant handle, oven safe to 260 "
    "degrees and suitable for induction, gas and electric hobs.",
    "mug",
    "Wireless noise-cancelling headphones",
    "",
    "kids' wooden puzzle, 24 pieces " * 40,  # longer than the 256-token limit
]


@pytest.fixture(scope="module")
def minilm_pair() -> tuple[BertEncoder, object]:
    """Our MiniLM encoder and sentence-transformers on the same weights (loaded once)."""
    from sentence_transformers import SentenceTransformer

    ours = load_encoder("minilm", device="cpu")
    theirs = SentenceTransformer(str(minilm_path()), device="cpu")
    return ours, theirs


def test_minilm_equals_sentence_transformers(minilm_pair: tuple[BertEncoder, object]) -> None:
    ours, theirs = minilm_pair
    mine = ours.encode(SENTENCES, batch_size=4)
    reference = theirs.encode(SENTENCES, batch_size=4, convert_to_numpy=True)
    assert mine.shape == (len(SENTENCES), 384) and mine.dtype == np.float32
    np.testing.assert_allclose(mine, reference, atol=1e-5)
    cosine = (mine * reference).sum(axis=1) / (
        np.linalg.norm(mine, axis=1) * np.linalg.norm(reference, axis=1)
    )
    assert cosine.min() > 0.9999
    np.testing.assert_allclose(np.linalg.norm(mine, axis=1), 1.0, atol=1e-6)


def test_minilm_truncates_at_256_tokens(minilm_pair: tuple[BertEncoder, object]) -> None:
    ours, _ = minilm_pair
    lengths = [len(ids) for ids in ours.tokenize(SENTENCES)]
    assert max(lengths) == 256
    assert lengths[2] == 3  # [CLS] mug [SEP]


def test_batches_sorted_by_length_return_input_order() -> None:
    encoder = tiny_encoder()
    texts = ["a", "a much longer text about pans", "shoe", "", "mid length text", "xy " * 20]
    widths: list[int] = []
    hook = encoder.model.register_forward_hook(
        lambda module, args, kwargs, output: widths.append(kwargs["input_ids"].shape[1]),
        with_kwargs=True,
    )
    try:
        together = encoder.encode(texts, batch_size=2)
    finally:
        hook.remove()
    one_by_one = np.vstack([encoder.encode([text]) for text in texts])
    np.testing.assert_allclose(together, one_by_one, atol=1e-6)
    lengths = sorted((len(ids) for ids in encoder.tokenize(texts)), reverse=True)
    # Three batches of two, longest first, each padded only to its own longest text.
    assert widths[:3] == [lengths[0], lengths[2], lengths[4]]


def test_encode_progress_and_empty_input() -> None:
    encoder = tiny_encoder()
    calls: list[tuple[int, int, str]] = []
    encoder.encode(["a", "b", "c"], batch_size=2, callback=lambda *call: calls.append(call))
    assert [(done, total) for done, total, _ in calls] == [(2, 3), (3, 3)]
    assert encoder.encode([]).shape == (0, encoder.dim)
    with pytest.raises(EncoderError, match="not one string"):
        encoder.encode("a single string")
    with pytest.raises(EncoderError, match="text 1 is int"):
        encoder.encode(["ok", 3])
    with pytest.raises(EncoderError, match="batch_size"):
        encoder.encode(["a"], batch_size=0)


def test_tiny_encoder_is_seeded_and_leaves_torch_rng_alone() -> None:
    state = torch.random.get_rng_state()
    first, second, other = tiny_encoder(0), tiny_encoder(0), tiny_encoder(1)
    assert torch.equal(state, torch.random.get_rng_state())
    texts = ["stainless steel pan", "cotton shirt"]
    np.testing.assert_array_equal(first.encode(texts), second.encode(texts))
    assert not np.allclose(first.encode(texts), other.encode(texts))
    assert first.model_id != other.model_id
    # A character vocabulary: no [UNK] for Latin text.
    ids = first.tokenize(["Pan, 24cm!"])[0]
    assert first.tokenizer.unk_token_id not in ids
    assert first.dim == 32


def test_threads_setting_is_restored() -> None:
    before = torch.get_num_threads()
    encoder = tiny_encoder(num_threads=1)
    seen: list[int] = []
    hook = encoder.model.register_forward_hook(lambda *_: seen.append(torch.get_num_threads()))
    try:
        encoder.encode(["a", "b"])
    finally:
        hook.remove()
    assert seen == [1]
    assert torch.get_num_threads() == before
    with pytest.raises(EncoderError, match="num_threads"):
        tiny_encoder(num_threads=0)


def test_spec_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ENCODER_ENV_VAR, raising=False)
    assert default_encoder_spec() == "minilm"
    monkeypatch.setenv(ENCODER_ENV_VAR, "tiny")
    assert load_encoder().model_id == "tiny-bert/seed-0"
    with pytest.raises(EncoderError, match="unknown encoder"):
        load_encoder("no-such-encoder")
    with pytest.raises(EncoderError, match=r"config\.json missing"):
        load_encoder(tmp_path)


def test_save_and_reload_gives_identical_embeddings(tmp_path: Path) -> None:
    encoder = tiny_encoder(3)
    folder = encoder.save(tmp_path / "enc", metadata={"note": "test"})
    names = {path.name for path in folder.iterdir()}
    assert {"model.safetensors", "config.json", "encoder.json", "tokenizer.json"} <= names
    assert not list(tmp_path.glob(".*"))  # no staging folder left behind
    reloaded = load_encoder(str(folder))
    texts = ["red shoes", "a steel pan with a lid", "mug"]
    np.testing.assert_array_equal(reloaded.encode(texts), encoder.encode(texts))
    assert reloaded.model_id.startswith("enc/") and reloaded.max_length == encoder.max_length
    # Saving again replaces the folder.
    tiny_encoder(4).save(folder)
    assert not np.allclose(load_encoder(folder).encode(texts), encoder.encode(texts))


def test_parallel_batches_match_sequential_and_report_from_the_caller() -> None:
    texts = [f"product number {i} " * (1 + i % 5) for i in range(11)]
    sequential = tiny_encoder(num_threads=1).encode(texts, batch_size=2)
    parallel_encoder = tiny_encoder(num_threads=2)
    threads_in_forward: list[int] = []
    parallel_encoder.model.register_forward_hook(
        lambda *_: threads_in_forward.append(torch.get_num_threads())
    )
    calls: list[tuple[int, int]] = []
    caller = threading.get_ident()
    parallel = parallel_encoder.encode(
        texts,
        batch_size=2,
        callback=lambda done, total, info: calls.append((done, threading.get_ident())),
    )
    np.testing.assert_allclose(parallel, sequential, atol=1e-6)
    assert threads_in_forward == [1] * 6  # two workers, one torch thread each
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert calls[-1][0] == len(texts)
    assert {thread for _, thread in calls} == {caller}


def test_a_raising_callback_stops_the_parallel_encode() -> None:
    encoder = tiny_encoder(num_threads=2)
    forwards: list[int] = []
    encoder.model.register_forward_hook(lambda *_: forwards.append(1))

    def cancel(done: int, total: int, info: str) -> None:
        raise KeyboardInterrupt("cancelled")

    with pytest.raises(KeyboardInterrupt, match="cancelled"):
        encoder.encode([f"text {i}" for i in range(40)], batch_size=2, callback=cancel)
    assert len(forwards) < 20
