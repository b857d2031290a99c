"""Benchmark ``hkpolicy.duplicates.find_duplicates`` on a synthetic corpus built from data/raw.

    python benchmarks/bench_duplicates.py --n 20000

The corpus (seeded, so every run builds the same one):
  * distinct stories: a real text from data/raw with ~35% of its words replaced by random words of the
    corpus vocabulary (two stories made from the same real text share ~1% of their 5-word shingles, so
    they are different stories, of realistic length and vocabulary);
  * near copies of an earlier story: ~1% of the words changed (Jaccard ~0.9), now and then a
    sentence dropped;
  * exact copies of an earlier story: different case and spacing.
Prints the throughput, the number of groups found, how many of the planted copies were found, whether
any two distinct stories were merged, and the peak memory of the process (``ru_maxrss``; the corpus is
built in a child process, so this is the corpus table plus what ``find_duplicates`` needs).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def build_corpus(n: int, seed: int, near_share: float, exact_share: float) -> tuple[pd.DataFrame, dict[str, str]]:
    """``(articles, truth)``: the synthetic articles and, for each planted copy, the story it copies."""
    from hkpolicy.ingest import load_corpus

    rng = np.random.default_rng(seed)
    real = load_corpus(ROOT / "data" / "raw")
    bases = [np.array(text.split(), dtype=object) for text in real["text"]]
    vocabulary = np.array(sorted({word for base in bases for word in base}), dtype=object)
    outlets = ["Reuters", "AP", "AFP", "BBC", "Yahoo News", "MSN", "SCMP", "Xinhua", "Global Times", "CNN"]
    start = np.datetime64("2020-06-01")

    ids, texts, dates, sources, truth = [], [], [], [], {}
    stories: list[tuple[str, str, np.datetime64]] = []  # texts only: word arrays would dwarf the corpus
    for number in range(n):
        article = f"synthetic/{number:07d}.txt"
        roll = rng.random()
        if stories and roll < near_share + exact_share:
            story_id, story, date = stories[int(rng.integers(len(stories)))]
            words = np.array(story.split(" "), dtype=object)
            date = date + np.timedelta64(int(rng.integers(0, 4)), "D")
            if roll < near_share:  # a near copy: ~1% of the words changed, maybe a sentence gone
                edits = rng.random(len(words)) < 0.01
                words[edits] = vocabulary[rng.integers(len(vocabulary), size=int(edits.sum()))]
                if rng.random() < 0.3 and len(words) > 200:
                    cut = int(rng.integers(0, len(words) - 20))
                    words = np.concatenate([words[:cut], words[cut + 15:]])
                text = " ".join(words)
            else:  # an exact copy: other case and spacing
                text = "  ".join(words).upper() if rng.random() < 0.5 else "\n".join(words)
            truth[article] = story_id
        else:  # a new story
            base = bases[int(rng.integers(len(bases)))]
            words = base.copy()
            edits = rng.random(len(words)) < 0.35
            words[edits] = vocabulary[rng.integers(len(vocabulary), size=int(edits.sum()))]
            date = start + np.timedelta64(int(rng.integers(0, 90)), "D")
            text = " ".join(words)
            stories.append((article, text, date))
        ids.append(article)
        texts.append(text)
        dates.append(str(date))
        sources.append(outlets[int(rng.integers(len(outlets)))])
    articles = pd.DataFrame({"article": ids, "date": dates, "outlet": sources, "text": texts})
    articles["n_chars"] = articles["text"].str.len()
    return articles, truth


def _build_to_files(n: int, seed: int, near_share: float, exact_share: float, folder: str) -> None:
    articles, truth = build_corpus(n, seed, near_share, exact_share)
    articles.to_parquet(Path(folder) / "articles.parquet", index=False)
    pd.Series(truth, name="story").rename_axis("copy").reset_index().to_parquet(Path(folder) / "truth.parquet")


def load_built_corpus(n: int, seed: int, near_share: float,
                      exact_share: float) -> tuple[pd.DataFrame, dict[str, str]]:
    """``build_corpus`` run in a child process, so that building it does not count in this process's peak
    memory: what ``ru_maxrss`` shows is then the corpus as a table plus what ``find_duplicates`` needs."""
    import multiprocessing
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        child = multiprocessing.get_context("spawn").Process(
            target=_build_to_files, args=(n, seed, near_share, exact_share, folder))
        child.start()
        child.join()
        if child.exitcode != 0:
            raise SystemExit(f"building the corpus failed (exit code {child.exitcode})")
        articles = pd.read_parquet(Path(folder) / "articles.parquet")
        truth_table = pd.read_parquet(Path(folder) / "truth.parquet")
    return articles, dict(zip(truth_table["copy"], truth_table["story"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20000, help="number of articles (default 20000)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the synthetic corpus")
    parser.add_argument("--near-share", type=float, default=0.25, help="share of near copies")
    parser.add_argument("--exact-share", type=float, default=0.10, help="share of exact copies")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--tracemalloc", action="store_true",
                        help="also measure the peak of memory allocated inside find_duplicates (slower)")
    args = parser.parse_args(argv)

    from hkpolicy.duplicates import find_duplicates

    began = time.perf_counter()
    articles, truth = load_built_corpus(args.n, args.seed, args.near_share, args.exact_share)
    built = time.perf_counter() - began
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    megabytes = articles["text"].str.len().sum() / 1e6

    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start()
    began = time.perf_counter()
    found = find_duplicates(articles, threshold=args.threshold, num_perm=args.num_perm)
    elapsed = time.perf_counter() - began
    traced = tracemalloc.get_traced_memory()[1] / 2**20 if args.tracemalloc else None
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # Check against what was planted: each copy should share a group with the story it copies.
    group = dict(zip(found["article"], found["duplicate_of"]))
    root = lambda article: group.get(article, article)  # noqa: E731 (representatives map to themselves)
    caught = sum(root(copy) == root(story) for copy, story in truth.items())
    story_of = lambda article: truth.get(article, article)  # noqa: E731
    members: dict[str, set[str]] = {}
    for article in articles["article"]:
        members.setdefault(root(article), set()).add(story_of(article))
    merged = sum(1 for stories in members.values() if len(stories) > 1)

    print(f"articles            {len(articles):,} ({megabytes:.1f} MB of text; "
          f"corpus built and loaded in {built:.1f} s)")
    print(f"planted copies      {len(truth):,} ({args.near_share:.0%} near, {args.exact_share:.0%} exact)")
    print(f"find_duplicates     {elapsed:.1f} s = {len(articles) / elapsed:,.0f} articles/s")
    print(f"groups found        {found['duplicate_of'].nunique():,} (with {len(found):,} duplicates: "
          f"{(found['kind'] == 'exact').sum():,} exact, {(found['kind'] == 'near').sum():,} near)")
    print(f"planted copies found {caught:,} of {len(truth):,} ({caught / max(1, len(truth)):.2%}); "
          f"groups merging distinct stories: {merged}")
    print(f"peak memory         {rss_after:,.0f} MB (ru_maxrss; {rss_before:,.0f} MB before find_duplicates)")
    if traced is not None:
        print(f"find_duplicates     allocated at most {traced:,.0f} MB itself (tracemalloc; timing above is slowed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
