"""The whole study, step by step: ingest -> duplicates -> claims -> stance -> tables.

``run_study(raw, out)`` writes into ``out`` (all UTF-8 CSV, stable column order, sorted rows):
    manifest.csv            one row per input file / export record: status ok / skipped / error / duplicate
    articles.csv            one row per article read (``ingest.ARTICLE_COLUMNS`` + duplicate_of, n_copies,
                            copy_outlets); the ``text`` column is what every offset points into
    claims.csv              one row per (article, sentence, nation) claim, scored (``claims.CLAIM_COLUMNS`` +
                            ``stance.STANCE_COLUMNS``)
    voices.csv              non-state speakers (analysts, scholars, NGOs ...), kept apart
    stance_by_article.csv   ``tables.ARTICLE_TABLE_COLUMNS``
    stance_by_nation.csv    ``tables.NATION_TABLE_COLUMNS``

The per-article step (``analyse_articles``: claims, stance, tone) is what an engine maps over batches of
articles; nothing in it knows which engine runs it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .actors import nation_names
from .claims import VOICE_COLUMNS, extract_claims_and_voices
from .engine import map_batches
from .ingest import read_corpus
from .io import write_table
from .stance import score_stance
from .tables import by_article, by_nation

CLAIM_SORT = ["article", "sentence_id", "nation"]


def analyse_articles(articles: pd.DataFrame, method: str = "default") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-article work for a batch: ``(scored claims, voices)``."""
    claims, voices = extract_claims_and_voices(articles)
    return score_stance(claims, method=method), voices


def _analyse_batch(batch: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    return analyse_articles(batch)


def warm_up() -> None:
    """Load and compile every dictionary, lexicon and model once, before worker processes are forked,
    so that each worker inherits them instead of compiling its own."""
    from .actors import actor_dictionary
    from .claims import lexicon
    from .stance import default_method, stance_rules, tone_analyzer

    actor_dictionary(), lexicon(), stance_rules(), tone_analyzer()
    if default_method() != "rules":
        from .model import load_model

        load_model()
    analyse_articles(pd.DataFrame({"article": ["warm-up"], "date": [""],
                                   "text": ["The minister said the law was regrettable."]}))


def build_tables(claims: pd.DataFrame, duplicates: set[str] | None = None) -> dict[str, pd.DataFrame]:
    """The two stance tables from scored claims."""
    names = nation_names()
    article_table = by_article(claims, names=names, duplicates=duplicates)
    return {"stance_by_article": article_table,
            "stance_by_nation": by_nation(article_table, names=names, claims=claims, duplicates=duplicates)}


def run_study(raw: str | Path, out: str | Path, columns: dict[str, str] | None = None, keep_duplicates: bool = False,
              engine: str = "local", scheduler: str | None = None, workers: int | None = None,
              parquet: bool = False, progress: bool = True, batch_size: int = 64) -> str:
    """Run every step on the corpus at ``raw`` and write the tables into ``out``; returns a summary."""
    from .duplicates import duplicate_ids, find_duplicates, mark_duplicates

    out = Path(out)
    articles, manifest = read_corpus(raw, columns=columns, progress=progress)
    duplicates = find_duplicates(articles)
    articles, manifest = mark_duplicates(articles, manifest, duplicates)
    excluded = set() if keep_duplicates else duplicate_ids(articles)
    # Duplicates are not analysed at all unless asked: they would not vote anyway.
    to_analyse = articles[~articles["article"].isin(excluded)][["article", "date", "text"]]
    warm_up()
    results = map_batches(_analyse_batch, to_analyse, engine=engine, scheduler=scheduler, workers=workers,
                          batch_size=batch_size, progress=progress)
    claims = pd.concat([claims for claims, _ in results], ignore_index=True) if results else None
    voices = pd.concat([voices for _, voices in results], ignore_index=True) if results else None
    if claims is None:
        claims, voices = analyse_articles(to_analyse.head(0))
    tables = build_tables(claims)

    write_table(manifest, out / "manifest.csv", sort_by=["source_file", "article"], parquet=parquet)
    write_table(articles, out / "articles.csv", sort_by=["article"], parquet=parquet)
    write_table(claims, out / "claims.csv", sort_by=CLAIM_SORT, parquet=parquet)
    write_table(voices if voices is not None else pd.DataFrame(columns=VOICE_COLUMNS), out / "voices.csv",
                sort_by=["article", "sentence_id", "actor"], parquet=parquet)
    write_table(tables["stance_by_article"], out / "stance_by_article.csv", sort_by=["article", "nation"],
                parquet=parquet)
    write_table(tables["stance_by_nation"], out / "stance_by_nation.csv", parquet=parquet)

    counts = manifest["status"].value_counts().to_dict()
    status = ", ".join(f"{count} {state}" for state, count in sorted(counts.items()))
    n_voting = int((claims["stance"] != "").sum()) if len(claims) else 0
    return (f"{len(manifest)} inputs ({status}); {len(to_analyse)} articles analysed; {len(claims)} claims "
            f"({n_voting} with a stance); {len(tables['stance_by_article'])} article-nation cells; "
            f"{len(tables['stance_by_nation'])} nations -> {out}")
