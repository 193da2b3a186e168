"""Display wording: counts with their nouns in the right number."""

from __future__ import annotations

from ui.tables import column_label, readable_columns
from ui.text import plural
from ui.views.home import checklist_lines


def test_plural_agrees_with_the_count() -> None:
    assert plural(1, "decision") == "1 decision"
    assert plural(0, "decision") == "0 decisions"
    assert plural(2, "saved comparison") == "2 saved comparisons"
    assert plural(1200, "sample") == "1,200 samples"
    assert plural(1, "sample query", "sample queries") == "1 sample query"
    assert plural(3, "sample query", "sample queries") == "3 sample queries"


def _status(**counts: int) -> dict:
    return {"loaded": True, "cleaned": True, "n_models": 0, "n_synthetic": 0, "n_fusions": 0,
            "n_experiments": 0} | counts  # fmt: skip


def test_the_checklist_names_only_what_is_missing() -> None:
    lines = checklist_lines(_status())
    models = next(line for line in lines if "Models trained" in line)
    assert "needs cleaned data" not in models and "not started" in models
    synthetic = next(line for line in lines if "Synthetic data" in line)
    assert "needs cleaned data" not in synthetic
    fusion = next(line for line in lines if "Fusion" in line)
    assert "needs two trained models" in fusion
    raw = checklist_lines(_status(cleaned=False))
    assert "needs cleaned data" in next(line for line in raw if "Models trained" in line)


def test_the_checklist_counts_in_the_right_number() -> None:
    lines = checklist_lines(_status(n_models=1, n_experiments=1, n_fusions=2, n_synthetic=3))
    text = "\n".join(lines)
    assert "1 model trained" in text
    assert "1 saved comparison" in text and "1 saved comparisons" not in text
    assert "2 saved fused variants" in text
    assert "3 generation runs" in text
    assert "needs two trained models" not in text


def test_code_column_names_get_readable_headers() -> None:
    assert column_label("n_rows") == "Rows"
    assert column_label("p_holm") == "p-value (Holm)"
    assert column_label("created_at") == "Created (UTC)"
    assert column_label("n_events") == "Events"
    assert column_label("ndcg@10") == "NDCG@10"
    assert column_label("base_encoder") == "Base encoder"
    config = readable_columns(["run_id", "kind"], {"kind": "What"})
    assert config == {"run_id": "Run", "kind": "What"}
