"""Command line: ``hkpolicy run``, ``hkpolicy evaluate``, ``hkpolicy study``.

Errors the user can fix (missing folder, unwritable output) print one line and exit 1, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


# ``pipeline.DEFAULT_BATCH_SIZE``, repeated here so that ``--help`` does not import the pipeline (tested equal).
DEFAULT_BATCH_SIZE = 256


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hkpolicy", description="Where each nation stands, read from the news.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="ingest RAW and write the tables to OUT")
    _add_run_arguments(run)

    study = commands.add_parser("study", help="run, then write the figures and execute the notebooks")
    _add_run_arguments(study)
    study.add_argument("--figures", default="reports/figures", help="where figures go (default reports/figures)")
    study.add_argument("--no-notebooks", action="store_true", help="skip executing the notebooks")

    evaluate = commands.add_parser("evaluate", help="compare OUT's stance tables with gold labels")
    evaluate.add_argument("out", help="a folder written by `hkpolicy run`")
    evaluate.add_argument("--gold", required=True, help="gold CSV: article,nation,stance[,evidence] or nation,stance")
    evaluate.add_argument("--baseline", action="store_true", help="also score the naive VADER baseline")

    train = commands.add_parser("train", help="re-fit the stance model on labelled claims; writes its JSON")
    train.add_argument("--annotations", default="data/annotations/claims_gold.csv", help="labelled claims CSV")
    train.add_argument("--model-out", default=None,
                       help="where the JSON model goes (default: the package's data/stance_model.json)")
    train.add_argument("--folds", type=int, default=5, help="cross-validation folds, grouped by article")
    return parser


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("raw", nargs="?", default="data/raw", help="corpus folder (default data/raw)")
    parser.add_argument("--out", default="data/processed", help="output folder (default data/processed)")
    parser.add_argument("--text-column", help="export column holding the article text, if the guess is wrong")
    parser.add_argument("--keep-duplicates", action="store_true", help="let duplicate articles vote too")
    parser.add_argument("--engine", choices=["local", "dask"], default="local", help="how per-article work runs")
    parser.add_argument("--scheduler", help="address of an existing Dask scheduler (with --engine dask)")
    parser.add_argument("--workers", type=int, default=None, help="processes for the local engine (default: all)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                        help=f"files per task a worker reads and analyses (default {DEFAULT_BATCH_SIZE}); "
                             "the tables do not change")
    parser.add_argument("--chunk-size", type=int, default=None,
                        help="files in flight at a time (default: batch size x workers x 2); "
                             "memory grows with it, the tables do not change")
    parser.add_argument("--parquet", action="store_true", help="write Parquet beside each CSV")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command in {"run", "study"}:
            return _run(args)
        if args.command == "train":
            return _train(args)
        if args.command == "evaluate":
            from .evaluate import evaluate_folder

            report = evaluate_folder(args.out, args.gold, baseline=args.baseline)
            print(report)
            return 0
    except UserError as error:
        print(f"hkpolicy: error: {error}", file=sys.stderr)
        return 1
    return 2


class UserError(Exception):
    """An error the user can fix; shown as one line."""


def _train(args) -> int:
    from .model import MODEL_FILE, train_and_save
    from .resources import data_path

    annotations = Path(args.annotations)
    if not annotations.is_file():
        raise UserError(f"annotations not found: {annotations}")
    out = Path(args.model_out) if args.model_out else data_path(MODEL_FILE)
    params = train_and_save(annotations, out, folds=args.folds)
    for row in params["cross_validation"]:
        print(f"{row['method']:12s} accuracy {row['accuracy']:.3f}  macro-F1 {row['macro_f1']:.3f}  (n={row['n']})")
    print(f"default method: {params['default_method']}; model written to {out}")
    return 0


def _run(args) -> int:
    from .ingest import CorpusError
    from .pipeline import run_study

    raw, out = Path(args.raw), Path(args.out)
    if not raw.exists():
        raise UserError(f"corpus folder not found: {raw}")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise UserError(f"cannot write to {out}: {error.strerror or error}") from None
    columns = {"text": args.text_column} if args.text_column else None
    try:
        summary = run_study(raw, out, columns=columns, keep_duplicates=args.keep_duplicates, engine=args.engine,
                            scheduler=args.scheduler, workers=args.workers, parquet=args.parquet,
                            progress=not args.quiet, chunk_size=args.chunk_size,
                            batch_size=args.batch_size)
    except CorpusError as error:
        raise UserError(str(error)) from None
    print(summary)
    if args.command == "study":
        from .study import make_figures, run_notebooks

        for path in make_figures(out, args.figures):
            print(f"figure: {path}")
        if not args.no_notebooks:
            for path in run_notebooks(Path("notebooks")):
                print(f"notebook executed: {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
