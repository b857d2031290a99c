"""The whole study, step by step: ingest -> text -> actors -> claims -> stance -> tables.

``run_study(raw, out)`` writes, into ``out``:
    manifest.csv            one row per input file / export record, with status and reason
    articles.csv            one row per article kept (ingest.ARTICLE_COLUMNS)
and returns a one-paragraph summary.
"""

from __future__ import annotations

from pathlib import Path

from .ingest import read_corpus
from .io import write_table


def run_study(raw: str | Path, out: str | Path, columns: dict[str, str] | None = None, keep_duplicates: bool = False,
              engine: str = "local", scheduler: str | None = None, workers: int | None = None,
              parquet: bool = False, progress: bool = True) -> str:
    """Run every step on the corpus at ``raw`` and write the tables into ``out``; returns a summary."""
    out = Path(out)
    articles, manifest = read_corpus(raw, columns=columns, progress=progress)
    write_table(manifest, out / "manifest.csv", sort_by=["source_file", "article"], parquet=parquet)
    write_table(articles, out / "articles.csv", sort_by=["article"], parquet=parquet)
    counts = manifest["status"].value_counts().to_dict()
    status = ", ".join(f"{count} {state}" for state, count in sorted(counts.items()))
    return f"{len(manifest)} inputs ({status}); {len(articles)} articles -> {out}"
