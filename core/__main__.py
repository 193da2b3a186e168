"""Command line: ``python -m core <command>`` runs the pipeline steps without the dashboard.

Commands
--------
simulate   generate a synthetic shop (events, catalogue, ground truth)
sample     load the bundled sample world into a workspace and clean it
ingest     load a behaviour log (and optionally a catalogue) into a workspace
clean      apply the cleaning rules to the loaded log and print the report
info       show the workspace's dataset and table sizes
tune       choose a model's hyperparameters on the validation part and print the trials
queries    write synthetic search queries (training the query generator first when needed)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from tqdm import tqdm

from core.data.workspace import DEFAULT_NAME, Workspace
from core.errors import ShopSynthError


def tqdm_callback(description: str) -> tuple[Callable[[int, int, str], None], tqdm]:
    """A ``callback(step, total, info)`` drawing a tqdm bar on stderr, and the bar to close."""
    bar = tqdm(total=1, desc=description, unit="step", leave=True)

    def callback(step: int, total: int, info: str) -> None:
        bar.total = max(total, 1)
        bar.n = min(step, bar.total)
        bar.set_postfix_str(info[:60])
        bar.refresh()

    return callback, bar


def _workspace(args: argparse.Namespace) -> Workspace:
    return Workspace.open(args.workspace)


def _print_report(report) -> None:
    frame = report.to_frame().drop(columns=["description"], errors="ignore")
    print(frame.to_string(index=False))
    if report.n_ids_merged:
        print(f"item id normalisation merged {report.n_ids_merged:,} ids into another spelling")
    for removed in report.removed_users:
        listed = ", ".join(f"{user} ({rows:,} rows)" for user, rows in removed.users[:20])
        more = f" and {removed.total - 20:,} more" if removed.total > 20 else ""
        print(f"users removed by {removed.rule}: {listed}{more}")


def cmd_sample(args: argparse.Namespace) -> int:
    from core.data.ingest.load import load_sample_world
    from core.pipeline import load_and_clean

    workspace = _workspace(args)
    if args.if_empty and workspace.dataset_info() is not None:
        info = workspace.dataset_info()
        print(f"workspace {workspace.name!r} already holds {info.name!r}; nothing to do")
        return 0
    load_callback, load_bar = tqdm_callback("load sample")
    clean_callback, clean_bar = tqdm_callback("clean")
    outcome = load_and_clean(
        workspace,
        lambda callback: load_sample_world(workspace, callback=callback),
        load_callback=load_callback,
        clean_callback=clean_callback,
    )
    load_bar.close()
    clean_bar.close()
    result = outcome.load
    print(f"loaded {result.n_events:,} events, {result.n_users:,} users, {result.n_items:,} items")
    if outcome.clean_error is not None:
        raise outcome.clean_error
    _print_report(outcome.report)
    return 0


def _parse_mapping(pairs: list[str]) -> dict[str, str] | None:
    if not pairs:
        return None
    mapping = {}
    for pair in pairs:
        canonical, sep, source = pair.partition("=")
        if not sep or not canonical or not source:
            raise ShopSynthError(f"--map takes canonical=source_column, got {pair!r}")
        mapping[canonical.strip()] = source.strip()
    return mapping


def cmd_ingest(args: argparse.Namespace) -> int:
    from core.data.ingest.load import load_dataset

    workspace = _workspace(args)
    callback, bar = tqdm_callback("ingest")
    result = load_dataset(
        workspace,
        args.path,
        mapping=_parse_mapping(args.map),
        preset=args.preset,
        catalog_path=args.catalog,
        callback=callback,
    )
    bar.close()
    print(f"preset {result.preset!r}, mapping {result.mapping}")
    print(f"loaded {result.n_events:,} events, {result.n_users:,} users, {result.n_items:,} items")
    for warning in result.warnings:
        print(f"warning: {warning}")
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    import dataclasses

    from core.data.clean import clean_dataset, default_config

    workspace = _workspace(args)
    overrides: dict = {}
    if args.keep_users:
        overrides["keep_users"] = tuple(args.keep_users)
    if args.min_user_interactions is not None:
        overrides["min_user_interactions"] = args.min_user_interactions
    if args.min_item_interactions is not None:
        overrides["min_item_interactions"] = args.min_item_interactions
    callback, bar = tqdm_callback("clean")
    config = dataclasses.replace(default_config(workspace), **overrides)
    report = clean_dataset(workspace, config, callback=callback)
    bar.close()
    _print_report(report)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    workspace = _workspace(args)
    info = workspace.dataset_info()
    print(f"workspace: {workspace.name} ({workspace.path})")
    if info is None:
        print("no dataset loaded")
        return 0
    print(
        f"dataset: {info.name} from {info.source} (preset {info.preset}), loaded {info.loaded_at}"
    )
    for table in ("raw_events", "raw_catalog", "events", "catalog", "cleaning_reports", "runs"):
        print(f"  {table:<18}{workspace.row_count(table):>12,} rows")
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    import pandas as pd

    from core.models.tuning import tune_workspace

    workspace = _workspace(args)
    callback, bar = tqdm_callback(f"tune {args.model}")
    result, trained = tune_workspace(
        workspace,
        args.model,
        max_trials=args.trials,
        budget_seconds=args.budget,
        random_state=args.seed,
        record_best=args.train_best,
        callback=callback,
    )
    bar.close()
    with pd.option_context("display.width", 200, "display.max_columns", None):
        print(result.trials.to_string(index=False, float_format=lambda value: f"{value:.4g}"))
    print(
        f"best: trial {result.best_trial} {result.best_params}, validation NDCG@10 "
        f"{result.best_score:.4f} ({len(result.trials)} trials, stopped by {result.stopped})"
    )
    if trained is not None:
        print(f"trained with the best settings: run {trained.run_id} ({trained.name})")
    return 0


QUERY_GENERATORS = ("warm", "gpt2", "template")


def cmd_queries(args: argparse.Namespace) -> int:
    from core.data.workspace import check_name
    from core.synth.generation import TEMPLATE
    from core.synth.lm_store import LM_PREFIX, WARM_PREFIX, lms_dir
    from core.synth.queries import synthesize_queries, train_query_lm, train_warm_query_model

    workspace = _workspace(args)
    generator = TEMPLATE
    if args.generator != TEMPLATE:
        warm = args.generator == "warm"
        name = check_name(args.model or f"query-{args.generator}")
        generator = (WARM_PREFIX if warm else LM_PREFIX) + name
        if args.retrain or not (lms_dir(workspace) / name).is_dir():
            callback, bar = tqdm_callback(f"train {generator}")
            (train_warm_query_model if warm else train_query_lm)(workspace, name, callback=callback)
            bar.close()
    callback, bar = tqdm_callback(f"queries {generator}")
    catalog = workspace.read_table("catalog")
    items = catalog["item_id"].astype(str).tolist()[: args.products] if args.products else None
    run = synthesize_queries(
        workspace, generator, n_per_product=args.per_product, item_ids=items,
        random_state=args.seed, callback=callback,
    )  # fmt: skip
    bar.close()
    metrics = run.metrics
    print(
        f"{metrics['n_samples']:,} queries by {generator} stored as pending (run {run.run_id}); "
        f"keep rate {metrics['keep_rate']:.3f} (top {metrics['k']}), "
        f"copies of real queries {metrics['copy_rate']:.3f}"
    )
    for row in run.samples.head(args.show).itertuples(index=False):
        print(f"  {row.item_id}: {row.text} (rank {row.rank})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("simulate", help="generate a synthetic shop", add_help=False)

    def with_workspace(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument("--workspace", default=DEFAULT_NAME, help="workspace name")
        return sub

    sample = with_workspace(commands.add_parser("sample", help="load and clean the sample world"))
    sample.add_argument("--if-empty", action="store_true", help="skip if data is loaded")
    sample.set_defaults(handler=cmd_sample)

    ingest = with_workspace(commands.add_parser("ingest", help="load a behaviour log"))
    ingest.add_argument("path", help="events file (CSV/TSV/Parquet/JSON lines, optionally .gz)")
    ingest.add_argument("--catalog", help="catalogue file")
    ingest.add_argument("--preset", help="format preset (detected when omitted)")
    ingest.add_argument("--map", nargs="*", default=[], help="canonical=source_column pairs")
    ingest.set_defaults(handler=cmd_ingest)

    clean = with_workspace(commands.add_parser("clean", help="clean the loaded log"))
    clean.add_argument("--min-user-interactions", type=int)
    clean.add_argument("--min-item-interactions", type=int)
    clean.add_argument(
        "--keep-users", nargs="+", metavar="USER", help="user ids the bot and k-core rules keep"
    )
    clean.set_defaults(handler=cmd_clean)

    info = with_workspace(commands.add_parser("info", help="show the workspace"))
    info.set_defaults(handler=cmd_info)

    tune = with_workspace(commands.add_parser("tune", help="tune a model on validation"))
    tune.add_argument("model", help="model name, e.g. als, bpr, item_knn")
    tune.add_argument("--budget", type=float, default=60.0, help="seconds (default 60)")
    tune.add_argument("--trials", type=int, default=20, help="most trials (default 20)")
    tune.add_argument("--seed", type=int, default=0, help="random_state of the draws")
    tune.add_argument("--train-best", action="store_true", help="record the best as a run")
    tune.set_defaults(handler=cmd_tune)

    queries = with_workspace(commands.add_parser("queries", help="write synthetic queries"))
    queries.add_argument(
        "--generator", choices=QUERY_GENERATORS, default=QUERY_GENERATORS[0],
        help="warm-started MiniLM encoder-decoder (default), GPT-2 from scratch, or templates",
    )  # fmt: skip
    queries.add_argument("--model", help="model name (default query-<generator>)")
    queries.add_argument("--retrain", action="store_true", help="train the model again")
    queries.add_argument("--per-product", type=int, default=3, help="queries per product")
    queries.add_argument("--products", type=int, help="the first N products (default all)")
    queries.add_argument("--seed", type=int, default=0, help="random_state of the sampling")
    queries.add_argument("--show", type=int, default=10, help="queries printed (default 10)")
    queries.set_defaults(handler=cmd_queries)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "simulate":
        from core.simulate.world import main as simulate_main

        return simulate_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ShopSynthError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
