"""Benchmark (a script, not a test): claims extraction, the whole run, and the naive VADER pipeline.

Builds a corpus of N articles by repeating the files of data/raw/ (each copy under a new name), then, each
in a fresh subprocess so that peak memory is its own:
    claims   ``extract_claims`` on the N articles (ingested once beforehand, not timed)
    run      the whole ``hkpolicy run`` (ingest, duplicates, claims, stance, tables) with --keep-duplicates,
             so every copy is analysed as a new article would be
    naive    the naive approach on the same corpus: ingest, then VADER compound of every sentence naming a
             country, averaged per (article, nation)
and prints articles/s, wall time, peak RSS and the run/naive time ratio.

    python benchmarks/bench_pipeline.py --n 2000 [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"


def _bench_scale():
    """The sibling benchmark module, whose corpus and naive task this one shares."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_scale

    return bench_scale


def build_corpus(folder: Path, n: int) -> Path:
    """N article files, built as ``bench_scale.build_corpus`` builds them (new mixes of data/raw/'s
    paragraphs, every sentence reworded, so that sentences repeat only in the planted copies)."""
    return _bench_scale().build_corpus(folder, n)


def _child(task: str, corpus: str, out: str, workers: int) -> None:
    """Runs in a subprocess: one task, prints JSON with seconds and peak RSS."""
    from hkpolicy.ingest import load_corpus

    started = time.perf_counter()
    if task == "claims":
        articles = load_corpus(corpus)
        started = time.perf_counter()
        from hkpolicy.claims import extract_claims

        claims = extract_claims(articles)
        n = len(articles)
        extra = {"claims": len(claims)}
    elif task == "run":
        from hkpolicy.pipeline import run_study

        run_study(corpus, out, keep_duplicates=True, workers=workers, progress=False)
        import pandas as pd

        n = len(pd.read_csv(Path(out) / "articles.csv", usecols=["article"]))
        extra = {}
    elif task == "naive":
        n, extra = _bench_scale().run_naive(corpus)
    else:
        raise SystemExit(f"unknown task {task}")
    seconds = time.perf_counter() - started
    peak_kib = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(json.dumps({"task": task, "articles": n, "seconds": seconds, "peak_mib": peak_kib / 1024, **extra}))


def measure(task: str, corpus: Path, out: Path, workers: int) -> dict:
    command = [sys.executable, __file__, "--child", task, "--corpus", str(corpus), "--out", str(out),
               "--workers", str(workers)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--tasks", default="claims,run,naive")
    parser.add_argument("--child")
    parser.add_argument("--corpus")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.corpus, args.out, args.workers)
        return
    with tempfile.TemporaryDirectory() as tmp:
        corpus = build_corpus(Path(tmp) / "corpus", args.n)
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
              f"corpus: {args.n} articles from data/raw/; workers: {args.workers}")
        results = {}
        for task in args.tasks.split(","):
            results[task] = measure(task, corpus, Path(tmp) / f"out_{task}", args.workers)
            r = results[task]
            print(f"{task:7s} {r['articles']:7d} articles  {r['seconds']:8.1f} s  "
                  f"{r['articles'] / r['seconds']:8.1f} articles/s  peak {r['peak_mib']:7.0f} MiB")
        if "run" in results and "naive" in results:
            ratio = results["run"]["seconds"] / results["naive"]["seconds"]
            print(f"full run / naive VADER time ratio: {ratio:.2f} (target <= 0.5, i.e. 2x the throughput)")


if __name__ == "__main__":
    main()
