"""Embedding cache: unchanged texts run no model; only new or changed texts are encoded."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from core.data.workspace import Workspace
from core.errors import EmbeddingCacheError
from core.text.cache import MAX_SHARDS, EmbeddingCache, model_key, text_keys
from core.text.encoders import BertEncoder, tiny_encoder

TEXTS = ["red running shoes", "steel frying pan", "cotton t-shirt", "wireless headphones"]


class Spy:
    """Counts forward passes of an encoder's model and the texts it was asked to encode."""

    def __init__(self, encoder: BertEncoder) -> None:
        self.encoder = encoder
        self.forward_calls = 0
        self.encoded: list[list[str]] = []
        encoder.model.register_forward_hook(self._count)
        original = encoder.encode

        def encode(texts: Sequence[str], **kwargs: object) -> np.ndarray:
            self.encoded.append(list(texts))
            return original(texts, **kwargs)

        encoder.encode = encode  # type: ignore[method-assign]

    def _count(self, *_: object) -> None:
        self.forward_calls += 1


@pytest.fixture
def spy() -> Spy:
    return Spy(tiny_encoder())


def test_second_encode_runs_no_model(spy: Spy, tmp_path: Path) -> None:
    first = EmbeddingCache(tmp_path).encode(spy.encoder, TEXTS, batch_size=2)
    assert spy.forward_calls == 2
    # A new cache object reads what the first one stored.
    spy.forward_calls = 0
    second = EmbeddingCache(tmp_path).encode(spy.encoder, TEXTS, batch_size=2)
    assert spy.forward_calls == 0
    np.testing.assert_array_equal(second, first)
    np.testing.assert_allclose(first, spy.encoder.encode(TEXTS), atol=1e-6)


def test_changed_text_reencodes_only_that_text(spy: Spy, tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    first = cache.encode(spy.encoder, TEXTS)
    changed = [*TEXTS[:2], "organic cotton t-shirt", TEXTS[3]]
    second = cache.encode(spy.encoder, changed)
    assert spy.encoded == [TEXTS, ["organic cotton t-shirt"]]
    np.testing.assert_array_equal(second[[0, 1, 3]], first[[0, 1, 3]])
    np.testing.assert_allclose(
        second[2], spy.encoder.encode(["organic cotton t-shirt"])[0], atol=1e-6
    )


def test_repeated_texts_are_encoded_once(spy: Spy, tmp_path: Path) -> None:
    texts = ["pan", "shoe", "pan", "pan"]
    out = EmbeddingCache(tmp_path).encode(spy.encoder, texts)
    assert spy.encoded == [["pan", "shoe"]]
    np.testing.assert_array_equal(out[0], out[2])
    np.testing.assert_array_equal(out[0], out[3])


def test_encoders_do_not_share_entries(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    a = cache.encode(tiny_encoder(0), TEXTS)
    b = cache.encode(tiny_encoder(1), TEXTS)
    assert not np.allclose(a, b)
    assert sorted(cache.model_ids()) == ["tiny-bert/seed-0", "tiny-bert/seed-1"]
    assert model_key("tiny-bert/seed-0") != model_key("tiny-bert/seed-1")
    cache.clear("tiny-bert/seed-0")
    assert cache.model_ids() == ["tiny-bert/seed-1"]


def test_shards_are_merged(spy: Spy, tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    texts = [f"product {i}" for i in range(MAX_SHARDS + 1)]
    for text in texts:
        cache.encode(spy.encoder, [text])
    shards = list(cache.folder(spy.encoder.model_id).glob("shard-*.npz"))
    assert len(shards) == 1
    keys, _ = cache.load(spy.encoder.model_id)
    assert sorted(keys.tolist()) == sorted(text_keys(texts).tolist())
    calls = spy.forward_calls
    np.testing.assert_allclose(
        cache.encode(spy.encoder, texts), spy.encoder.encode(texts), atol=1e-6
    )
    assert spy.forward_calls == calls + 1  # only the check above, not the cache


def test_keys_dimensions_and_progress(spy: Spy, tmp_path: Path) -> None:
    keys = text_keys(["a", "a", "b"])
    assert keys[0] == keys[1] != keys[2] and len(keys[0]) == 32
    cache = EmbeddingCache(tmp_path)
    calls: list[tuple[int, int, str]] = []
    cache.encode(spy.encoder, TEXTS[:3], batch_size=2, callback=lambda *c: calls.append(c))
    assert [(done, total) for done, total, _ in calls] == [(0, 3), (2, 3), (3, 3)]
    calls.clear()
    cache.encode(spy.encoder, TEXTS, callback=lambda *c: calls.append(c))
    assert [(done, total) for done, total, _ in calls] == [(3, 4), (4, 4)]
    # Stored vectors of another size under the same id are refused.
    cache.store("tiny-bert/seed-0", text_keys(["x"]), np.ones((1, 5), dtype=np.float32))
    with pytest.raises(EmbeddingCacheError, match="dimensions"):
        cache.encode(spy.encoder, ["x"])


def test_cache_lives_in_the_workspace(workspace: Workspace) -> None:
    cache = EmbeddingCache.for_workspace(workspace)
    assert cache.root == workspace.artifacts_dir / "embeddings"
    cache.encode(tiny_encoder(), TEXTS)
    assert cache.model_ids() == ["tiny-bert/seed-0"]


def test_the_lookup_line_says_what_the_cache_held(spy: Spy, tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)

    def first_line(texts: list[str]) -> tuple[int, int, str]:
        calls: list[tuple[int, int, str]] = []
        cache.encode(spy.encoder, texts, callback=lambda *c: calls.append(c))
        return calls[0]

    assert first_line(TEXTS[:3]) == (0, 3, "no embedding in the cache: encoding 3 texts")
    assert first_line(TEXTS) == (
        3,
        4,
        "3 of 4 embeddings read from the cache: encoding the others",
    )
    assert first_line(TEXTS) == (4, 4, "all 4 embeddings read from the cache")
