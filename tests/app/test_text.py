"""Display wording: counts with their nouns in the right number."""

from __future__ import annotations

from ui.text import plural


def test_plural_agrees_with_the_count() -> None:
    assert plural(1, "decision") == "1 decision"
    assert plural(0, "decision") == "0 decisions"
    assert plural(2, "saved comparison") == "2 saved comparisons"
    assert plural(1200, "sample") == "1,200 samples"
    assert plural(1, "sample query", "sample queries") == "1 sample query"
    assert plural(3, "sample query", "sample queries") == "3 sample queries"
