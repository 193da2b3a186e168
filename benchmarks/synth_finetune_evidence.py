"""Does fine-tuning the bi-encoder on accepted synthetic queries help on real held-out queries?

Results go to ``benchmarks/results/synth_finetune_evidence.json``.

Protocol
--------
1. The committed sample world is loaded and cleaned into a temporary workspace.
2. Template queries (:func:`core.synth.queries.synthesize_queries`, two per product) are
   written for ``--products`` products chosen at random (seed 0) and round-trip filtered with
   all-MiniLM-L6-v2; the unflagged ones are accepted.
3. The pretrained MiniLM is fine-tuned on the accepted synthetic pairs alone
   (:func:`core.text.finetune.finetune_encoder` with ``train_on_pairs=False``): the held-out
   queries are real searches followed by engagement (20% of the distinct real queries, at most
   ``--valid-queries``), never trained on. NDCG@10 on them is measured before training (the
   pretrained encoder) and after each epoch, over a corpus of every paired product plus random
   others (3,000 in all).

Run: ``python benchmarks/synth_finetune_evidence.py [--products 800] [--epochs 1]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.data.clean import clean_dataset  # noqa: E402
from core.data.ingest.load import load_sample_world  # noqa: E402
from core.data.workspace import Workspace, atomic_write_json  # noqa: E402
from core.synth.queries import synthesize_queries  # noqa: E402
from core.synth.store import ACCEPTED, accepted_query_pairs, set_status  # noqa: E402
from core.text.finetune import FinetuneConfig, finetune_encoder  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "synth_finetune_evidence.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=800)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--valid-queries", type=int, default=300)
    args = parser.parse_args()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as home:
        ws = Workspace.open(home=Path(home))
        load_sample_world(ws)
        clean_dataset(ws)
        catalog = ws.read_table("catalog")
        items = catalog["item_id"].sample(args.products, random_state=0).tolist()
        run = synthesize_queries(ws, "template", n_per_product=2, item_ids=items, k=10)
        set_status(ws, ACCEPTED, run_id=run.run_id, flagged=False)
        pairs = accepted_query_pairs(ws)
        config = FinetuneConfig(
            epochs=args.epochs, max_valid_queries=args.valid_queries, eval_corpus_size=3000
        )
        result = finetune_encoder(
            ws, "synthetic-only", config, extra_pairs=pairs, train_on_pairs=False
        )
        history = result.history
    before, after = history.iloc[0], history.iloc[-1]
    payload = {
        "synthetic_generated": int(run.metrics["n_samples"]),
        "synthetic_accepted_pairs": len(pairs),
        "train_pairs": int(result.n_train_pairs),
        "held_out_real_queries": args.valid_queries,
        "ndcg@10_pretrained": float(before["ndcg@10"]),
        "ndcg@10_finetuned": float(after["ndcg@10"]),
        "recall@10_pretrained": float(before["recall@10"]),
        "recall@10_finetuned": float(after["recall@10"]),
        "improves": bool(after["ndcg@10"] > before["ndcg@10"]),
        "history": json.loads(history.to_json(orient="records")),
        "seconds": time.perf_counter() - began,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    atomic_write_json(RESULTS, payload)
    print(json.dumps({k: payload[k] for k in payload if k not in ("history", "machine")}))


if __name__ == "__main__":
    main()
