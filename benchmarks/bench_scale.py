"""Benchmark (a script, not a test): the streamed run at scale, per engine, beside the naive VADER pipeline.

For each size (default 2k, 20k and 100k articles) builds a corpus from data/raw/'s articles: each copy under
a new name, with a few words changed (seeded), so that the copies are near-duplicates rather than all exact
ones. Then, each in a fresh subprocess, on the same corpus in the same run:

    local   ``run_study(engine="local")``: process pool over all cores, corpus streamed in chunks
    dask    ``run_study(engine="dask")``: a LocalCluster with one single-threaded worker process per core
    naive   ``load_corpus`` then ``evaluate.naive_vader_by_article`` (one process, whole corpus in memory)

and prints a Markdown table: wall seconds, articles/s, peak memory, and speed relative to naive. Peak memory
is measured two ways: ``tree`` is the peak of the summed RSS of the subprocess and all its descendants
(pool workers, Dask scheduler/nanny/workers), sampled every 0.1 s with psutil; ``max proc`` is the
largest single process's ``ru_maxrss`` (``getrusage``; exact, but blind to the other processes). Targets
(2 cores): 100k articles under 1 GiB; throughput >= 2x naive; dask within 20% of local.

    python benchmarks/bench_scale.py --sizes 2000,20000 [--engines local,dask,naive] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"
REPLACEMENTS = ["officials", "Beijing", "statement", "legislation", "territory", "government", "citizens",
                "critics", "measures", "freedoms", "ministers", "reporters"]
_WORD = re.compile(r"(?<![\w\"'])[A-Za-z]{5,}(?![\w\"'])")


def build_corpus(folder: Path, n: int, seed: int = 2020) -> Path:
    """``n`` article files: data/raw/'s articles round-robin under new names, each with 4 words replaced."""
    sources = sorted(p for p in RAW.rglob("*") if p.suffix in {".txt", ".csv"} and p.name != "PROVENANCE.csv")
    texts = [(source.name, source.read_text(encoding="utf-8")) for source in sources]
    spans = [[m.span() for m in _WORD.finditer(text)] for _, text in texts]
    rng = random.Random(seed)
    for i in range(n):
        k = i % len(texts)
        name, text = texts[k]
        # Replace 4 words of the copy (whole words, away from quotes, so a CSV export stays valid).
        for start, end in sorted(rng.sample(spans[k], 4), reverse=True):
            text = text[:start] + rng.choice(REPLACEMENTS) + text[end:]
        target = folder / f"{i // 1000:03d}" / f"{i:06d}_{name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return folder


def _child(task: str, corpus: str, out: str, workers: int) -> None:
    """Runs in a subprocess: one task; prints JSON with seconds, article count and its own peak RSS."""
    started = time.perf_counter()
    if task in {"local", "dask"}:
        from hkpolicy.pipeline import run_study

        summary = run_study(corpus, out, engine=task, workers=workers, progress=False)
        n = sum(int(found) for found in re.findall(r"\b(\d+) (?:ok|duplicate)\b", summary))
        extra = {"summary": summary}
    elif task == "naive":
        from hkpolicy.evaluate import naive_vader_pipeline

        n, table = naive_vader_pipeline(corpus)
        extra = {"cells": len(table)}
    else:
        raise SystemExit(f"unknown task {task}")
    seconds = time.perf_counter() - started
    print(json.dumps({"task": task, "articles": n, "seconds": seconds,
                      "self_maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "children_maxrss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                      **extra}))


def measure(task: str, corpus: Path, out: Path, workers: int) -> dict:
    """Run one task in a subprocess, sampling the RSS of its whole process tree."""
    import psutil

    command = [sys.executable, __file__, "--child", task, "--corpus", str(corpus), "--out", str(out),
               "--workers", str(workers)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    parent = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        total = 0
        try:
            for proc in [parent, *parent.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        peak = max(peak, total)
        time.sleep(0.1)
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - started
    if process.returncode:
        raise SystemExit(f"{task} failed:\n{stderr[-3000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result.update(tree_peak_mib=peak / 2**20, wall=wall,
                  max_proc_mib=max(result["self_maxrss_mib"], result["children_maxrss_mib"]))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="2000,20000,100000", help="corpus sizes, comma-separated")
    parser.add_argument("--engines", default="local,dask,naive", help="what to run, comma-separated")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--child")
    parser.add_argument("--corpus")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.corpus, args.out, args.workers)
        return
    try:
        import psutil  # noqa: F401
    except ImportError:
        raise SystemExit("bench_scale needs psutil to measure the memory of a process tree") from None
    try:
        memory = f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM"
    except Exception:
        memory = "RAM unknown"
    print(f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, {memory}, "
          f"Python {platform.python_version()}, {platform.system()} {platform.release()}; workers: {args.workers}")
    print()
    print("| articles | pipeline | seconds | articles/s | peak RSS, tree (MiB) | peak RSS, max proc (MiB) "
          "| speed vs naive |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for size in [int(value) for value in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            corpus = build_corpus(Path(tmp) / "corpus", size)
            print(f"<!-- corpus of {size} built in {time.perf_counter() - started:.1f} s -->", flush=True)
            results = {}
            for task in args.engines.split(","):
                results[task] = measure(task, corpus, Path(tmp) / f"out_{task}", args.workers)
            naive = results.get("naive")
            for task, r in results.items():
                rate = r["articles"] / r["seconds"]
                relative = f"{rate / (naive['articles'] / naive['seconds']):.2f}x" if naive else ""
                print(f"| {r['articles']} | {task} | {r['seconds']:.1f} | {rate:.1f} | {r['tree_peak_mib']:.0f} | "
                      f"{r['max_proc_mib']:.0f} | {relative} |", flush=True)


if __name__ == "__main__":
    main()
