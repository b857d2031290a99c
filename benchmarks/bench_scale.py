"""Benchmark (a script, not a test): the streamed run at scale, per engine, beside the naive VADER pipeline.

For each size (default 2k, 20k and 100k articles) builds a corpus from data/raw/'s articles (``build_corpus``,
seeded): every article a new mix of their paragraphs, every sentence with about one word in twelve
reworded (at least one), so that articles are distinct and sentences new (as in a real corpus: nothing is
answered from a cache; ~10% of sentences have appeared before, nearly all in the copies), with ~8% near
copies and ~2% exact copies of earlier articles for the duplicate index to find. Then, each in a
fresh subprocess, on the same corpus in the same run:

    local   ``run_study(engine="local")``: process pool over all cores, corpus streamed in chunks
    dask    ``run_study(engine="dask")``: a LocalCluster with one single-threaded worker process per core
    naive   ``load_corpus`` then ``evaluate.naive_vader_by_article`` (one process, whole corpus in memory)

and prints a Markdown table: wall seconds, articles/s, peak memory, and speed relative to naive. Peak memory
is measured three ways, sampled with psutil over the subprocess and all its descendants (pool workers, Dask
nannies/workers): ``PSS, tree``, the peak (sampled every second) of their summed proportional set size (memory
shared by forked workers, such as the compiled dictionaries, counted once: what the run really occupies);
``RSS, tree``, the peak (every 0.1 s) of their summed resident sizes (shared pages counted in every process: an upper
bound); and ``max proc``, the largest single process's ``ru_maxrss`` (``getrusage``; exact, but blind to
the other processes). Targets
(2 cores): 100k articles under 1 GiB; throughput >= 2x naive; dask within 20% of local.

    python benchmarks/bench_scale.py --sizes 2000,20000 [--engines local,dask,naive] [--workers 2] [--repeat 3]

On a shared machine times vary by several percent between runs (more for the multi-process pipelines):
``--repeat N`` runs the pipelines in N interleaved rounds and reports each one's median.
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
_WORD = re.compile(r"(?<![\w\"'’])[a-z]{4,}(?![\w\"'’])")
NEAR_SHARE, EXACT_SHARE = 0.08, 0.02  # of the articles: near copies and exact copies of an earlier one
PSS_EVERY = 10  # memory samples (0.1 s apart) per PSS sample


def _pool():
    """(titles, paragraphs, vocabulary) of data/raw's articles, read with the package's own ingest."""
    from hkpolicy.ingest import load_corpus

    articles = load_corpus(RAW)
    paragraphs = [p.strip() for text in articles["text"] for p in text.split("\n") if len(p.strip()) > 40]
    vocabulary = sorted({word for p in paragraphs for word in _WORD.findall(p)})
    return [t for t in articles["title"] if t], paragraphs, vocabulary


def _reword(text: str, rng: random.Random, vocabulary: list[str], share: float) -> str:
    """``text`` with a ``share`` of its lower-case words (4+ letters, outside quotes) replaced at random."""
    spans = [m.span() for m in _WORD.finditer(text)]
    for start, end in sorted(rng.sample(spans, max(1, int(len(spans) * share))) if spans else [], reverse=True):
        text = text[:start] + rng.choice(vocabulary) + text[end:]
    return text


def _reword_sentences(paragraph: str, rng: random.Random, vocabulary: list[str], share: float) -> str:
    """``_reword`` on each sentence of ``paragraph`` (the package's sentence splitter), spacing kept."""
    from hkpolicy.text import sentence_spans

    pieces, last = [], 0
    for start, end in sentence_spans(paragraph):
        pieces += [paragraph[last:start], _reword(paragraph[start:end], rng, vocabulary, share)]
        last = end
    return "".join(pieces) + paragraph[last:]


def _story(number: int, pool) -> str:
    """Article ``number`` of the synthetic corpus: a headline and 6-12 paragraphs drawn from data/raw's
    articles, every sentence of them with about one word in twelve reworded, at least one (seeded by
    ``number``), so that its sentences are new ones while names, quotes and sentence structure stay real.
    (Reworded by paragraph, as before 2026-11-24, ~38% of an article's sentences had appeared verbatim in
    an earlier article, and a cache could serve them.)"""
    titles, paragraphs, vocabulary = pool
    rng = random.Random(number)
    chosen = rng.sample(paragraphs, rng.randint(6, 12))
    body = [_reword_sentences(p, rng, vocabulary, 1 / 12) for p in chosen]
    return "\n\n".join([_reword(rng.choice(titles), rng, vocabulary, 0.2)] + body) + "\n"


def build_corpus(folder: Path, n: int, seed: int = 2020) -> Path:
    """``n`` distinct-looking .txt articles (``_story``), of which ~8% near copies (3 words changed) and
    ~2% exact copies of an earlier one, in folders of 1,000 files."""
    pool = _pool()
    rng = random.Random(seed)
    for i in range(n):
        roll = rng.random()
        if i and roll < NEAR_SHARE + EXACT_SHARE:
            text = _story(rng.randrange(i), pool)
            if roll < NEAR_SHARE:
                words = [m.span() for m in _WORD.finditer(text)]
                for start, end in sorted(rng.sample(words, 3), reverse=True):
                    text = text[:start] + rng.choice(pool[2]) + text[end:]
        else:
            text = _story(i, pool)
        target = folder / f"{i // 1000:03d}" / f"{i:06d}.txt"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return folder


def run_naive(corpus: str) -> tuple[int, dict]:
    """The naive VADER pipeline on ``corpus``: (articles read, extra fields for the JSON line)."""
    from hkpolicy.evaluate import naive_vader_pipeline

    n, table = naive_vader_pipeline(corpus)
    return n, {"cells": len(table)}


def _child(task: str, corpus: str, out: str, workers: int) -> None:
    """Runs in a subprocess: one task; prints JSON with seconds, article count and its own peak RSS."""
    started = time.perf_counter()
    if task in {"local", "dask"}:
        from hkpolicy.pipeline import run_study

        summary = run_study(corpus, out, engine=task, workers=workers, progress=False)
        n = sum(int(found) for found in re.findall(r"\b(\d+) (?:ok|duplicate)\b", summary))
        extra = {"summary": summary}
    elif task == "naive":
        n, extra = run_naive(corpus)
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
    peak = peak_pss = 0
    tick = 0
    while process.poll() is None:
        # RSS every 0.1 s (cheap); PSS every second: the kernel walks each process's page tables for it
        # (~2.5 ms per process), and sampling it every 0.1 s took a visible share of 2 cores from the
        # multi-process pipelines, none from naive (one process, a core to spare).
        with_pss = tick % PSS_EVERY == 0
        tick += 1
        total = total_pss = 0
        try:
            for proc in [parent, *parent.children(recursive=True)]:
                try:
                    info = proc.memory_full_info() if with_pss else proc.memory_info()
                    total += info.rss
                    total_pss += getattr(info, "pss", info.rss)
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        peak = max(peak, total)
        if with_pss:
            peak_pss = max(peak_pss, total_pss)
        time.sleep(0.1)
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - started
    if process.returncode:
        raise SystemExit(f"{task} failed:\n{stderr[-3000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result.update(tree_peak_mib=peak / 2**20, tree_pss_mib=peak_pss / 2**20, wall=wall,
                  max_proc_mib=max(result["self_maxrss_mib"], result["children_maxrss_mib"]))
    return result


def _median_run(found: list[dict]) -> dict:
    """The run of median time (the upper one of an even count), with the peaks of memory of all runs."""
    result = dict(sorted(found, key=lambda r: r["seconds"])[len(found) // 2])
    for key in ("tree_pss_mib", "tree_peak_mib", "max_proc_mib"):
        result[key] = max(r[key] for r in found)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="2000,20000,100000", help="corpus sizes, comma-separated")
    parser.add_argument("--engines", default="local,dask,naive", help="what to run, comma-separated")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of every pipeline, interleaved (local, dask, naive, local, ...); the table "
                             "gives each pipeline's median time and its largest memory, every time in a comment")
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
    print("| articles | pipeline | seconds | articles/s | peak PSS, tree (MiB) | peak RSS, tree (MiB) "
          "| peak RSS, max proc (MiB) | speed vs naive |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for size in [int(value) for value in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            corpus = build_corpus(Path(tmp) / "corpus", size)
            print(f"<!-- corpus of {size} built in {time.perf_counter() - started:.1f} s -->", flush=True)
            runs: dict[str, list[dict]] = {}
            for _ in range(max(1, args.repeat)):  # rounds, so that a slow spell of the machine hits every pipeline
                for task in args.engines.split(","):
                    runs.setdefault(task, []).append(measure(task, corpus, Path(tmp) / f"out_{task}", args.workers))
            results = {task: _median_run(found) for task, found in runs.items()}
            if args.repeat > 1:
                print("<!-- seconds per round: " + "; ".join(
                    f"{task} " + ", ".join(f"{r['seconds']:.1f}" for r in found) for task, found in runs.items())
                      + " -->", flush=True)
            naive = results.get("naive")
            for task, r in results.items():
                rate = r["articles"] / r["seconds"]
                relative = f"{rate / (naive['articles'] / naive['seconds']):.2f}x" if naive else ""
                print(f"| {r['articles']} | {task} | {r['seconds']:.1f} | {rate:.1f} | {r['tree_pss_mib']:.0f} | "
                      f"{r['tree_peak_mib']:.0f} | {r['max_proc_mib']:.0f} | {relative} |", flush=True)


if __name__ == "__main__":
    main()
