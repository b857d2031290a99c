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

Streaming (memory flat in corpus size)
--------------------------------------
``run_study`` never holds the corpus: it reads ``ingest.scan_corpus`` lazily in chunks of whole files
(``chunk_size`` records, by default ``batch_size * workers * 4``), and for each chunk

* appends its manifest and article rows (text included) to temporary CSVs,
* adds its articles to a ``duplicates.DuplicateIndex`` (which keeps signatures and a little metadata per
  article, never texts),
* has the engine analyse all its articles (the next chunk is read meanwhile) and appends their claims,
  voices and article-nation cells to temporary CSVs; kept in memory are only, per cell, the few fields the
  nation table needs, and per voting claim a 64-bit hash of its statement key.

Duplicates are only known once everything is read, so every article is analysed, duplicates included,
and at the end the duplicates' claims, voices and cells are dropped (unless ``keep_duplicates``); the
temporary tables are then copied, chunk by chunk, into the final CSVs with the duplicate columns filled
in. Files are scanned in sorted path order and each chunk is sorted, so the rows come out in the
documented order without a global sort; if article ids of successive files are ever not in that order
(possible only with unusual file names, e.g. ``a.csv`` and ``a.csv!.txt``), the affected table is sorted
in memory instead. The outputs are byte-identical to sorting whole tables.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .actors import nation_names
from .claims import extract_claims_and_voices
from .engine import Engine, map_batches  # noqa: F401  (map_batches: for callers mapping their own batches)
from .ingest import ARTICLE_COLUMNS, MANIFEST_COLUMNS, records_to_frames, scan_corpus
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


CSV_OPTIONS = dict(index=False, lineterminator="\n", encoding="utf-8", float_format="%.6g")
READ_CHUNK_ROWS = 2000
VOICE_SORT = ["article", "sentence_id", "actor"]
CELL_SORT = ["article", "nation"]
# What the nation table needs of each article-nation cell (the evidence cut to its first sentence).
SLIM_CELL_COLUMNS = ["article", "nation", "name", "stance", "score", "n_claims", "n_statements", "evidence"]


def _file_chunks(records, size: int):
    """Lists of records of whole files, each at least ``size`` records long (but the last)."""
    chunk, current = [], None
    for record in records:
        if len(chunk) >= size and record["source_file"] != current:
            yield chunk
            chunk = []
        chunk.append(record)
        current = record["source_file"]
    if chunk:
        yield chunk


class _Spool:
    """A table written piece by piece to a temporary CSV (header once), then copied out in chunks."""

    def __init__(self, path: Path, columns: list[str], sort_by: list[str]):
        self.path, self.columns, self.sort_by = path, columns, sort_by
        self.rows = 0
        self.in_order = True  # every piece started at or after the previous one's last sort key
        self._last = None

    def append(self, frame: pd.DataFrame) -> None:
        frame = frame.sort_values(self.sort_by, kind="stable") if self.sort_by else frame
        if len(frame):
            first = tuple(frame[self.sort_by].iloc[0]) if self.sort_by else None
            if self._last is not None and first < self._last:
                self.in_order = False
            self._last = tuple(frame[self.sort_by].iloc[-1]) if self.sort_by else None
        frame.to_csv(self.path, mode="w" if self.rows == 0 and not self.path.exists() else "a",
                     header=not self.path.exists(), **CSV_OPTIONS)
        self.rows += len(frame)

    def pieces(self):
        """The rows back as string frames ("" for empty cells), in the table's order."""
        if not self.path.exists():
            pd.DataFrame(columns=self.columns).to_csv(self.path, **CSV_OPTIONS)
        options = dict(dtype=str, keep_default_na=False, na_filter=False)
        if not self.in_order:  # unusual file names: fall back to one sort in memory
            frame = pd.read_csv(self.path, **options)
            yield frame.sort_values(self.sort_by, kind="stable", key=_typed)
            return
        yield from pd.read_csv(self.path, chunksize=READ_CHUNK_ROWS, **options)

    def copy_to(self, target: Path, transform=None) -> int:
        """Write the spooled table to ``target`` (each piece through ``transform``); returns the rows written."""
        written, header = 0, True
        with open(target, "w", encoding="utf-8", newline="") as handle:
            for piece in self.pieces():
                if transform is not None:
                    piece = transform(piece)
                if len(piece) or header:
                    piece.to_csv(handle, header=header, **CSV_OPTIONS)
                    header = False
                written += len(piece)
        return written


def _typed(column: pd.Series) -> pd.Series:
    """A column read back as strings, compared as the numbers it holds when it holds numbers."""
    try:
        return pd.to_numeric(column)
    except (ValueError, TypeError):
        return column


def _statement_hashes(claims: pd.DataFrame) -> pd.DataFrame:
    """(article, nation, 64-bit hash of ``tables.statement_key``) of the voting claims."""
    import hashlib

    from .tables import statement_key, voting_claims

    votes = voting_claims(claims)
    keys = [int.from_bytes(hashlib.blake2b(statement_key(row).encode("utf-8"), digest_size=8).digest(), "little",
                           signed=True) for row in votes.itertuples()]
    return pd.DataFrame({"article": votes["article"].astype(str).to_numpy(),
                         "nation": votes["nation"].astype(str).to_numpy(),
                         "key": pd.array(keys, dtype="int64")})


def run_study(raw: str | Path, out: str | Path, columns: dict[str, str] | None = None, keep_duplicates: bool = False,
              engine: str = "local", scheduler: str | None = None, workers: int | None = None,
              parquet: bool = False, progress: bool = True, batch_size: int = 64,
              chunk_size: int | None = None) -> str:
    """Run every step on the corpus at ``raw`` and write the tables into ``out``; returns a summary.

    Streams the corpus (see the module's docstring): ``chunk_size`` records are read, analysed and written
    at a time (default ``batch_size * workers * 4``); the outputs do not depend on it or on the engine.
    """
    import tempfile

    from .duplicates import DuplicateIndex, _reason

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n_workers = workers or os.cpu_count() or 1
    chunk_size = chunk_size or batch_size * n_workers * 4
    names = nation_names()
    empty_claims, empty_voices = analyse_articles(pd.DataFrame({"article": [], "date": [], "text": []}, dtype=str))
    index = DuplicateIndex()
    cells_kept: list[pd.DataFrame] = []
    statements: list[pd.DataFrame] = []
    status_counts: dict[str, int] = {}
    n_articles = 0

    warm_up()  # compile dictionaries once, before worker processes are forked
    with tempfile.TemporaryDirectory(dir=out, prefix=".run-") as scratch, \
            Engine(engine, scheduler=scheduler, workers=workers) as runner:
        scratch = Path(scratch)
        spools = {
            "manifest": _Spool(scratch / "manifest.csv", MANIFEST_COLUMNS, ["source_file", "article"]),
            "articles": _Spool(scratch / "articles.csv", ARTICLE_COLUMNS, ["article"]),
            "claims": _Spool(scratch / "claims.csv", list(empty_claims.columns), CLAIM_SORT),
            "voices": _Spool(scratch / "voices.csv", list(empty_voices.columns), VOICE_SORT),
            "cells": _Spool(scratch / "cells.csv", list(by_article(empty_claims).columns), CELL_SORT),
        }

        def collect(pending) -> None:
            results = pending()
            claims = pd.concat([claims for claims, _ in results], ignore_index=True) if results else empty_claims
            voices = pd.concat([voices for _, voices in results], ignore_index=True) if results else empty_voices
            spools["claims"].append(claims)
            spools["voices"].append(voices)
            cells = by_article(claims, names=names)
            spools["cells"].append(cells)
            slim = cells[SLIM_CELL_COLUMNS].copy()
            slim["evidence"] = slim["evidence"].str.split(" | ", regex=False).str[0]
            cells_kept.append(slim)
            statements.append(_statement_hashes(claims))

        pending = None
        for records in _file_chunks(scan_corpus(raw, columns=columns, progress=progress), chunk_size):
            articles, manifest = records_to_frames(records)
            del records
            for state, count in manifest["status"].value_counts().items():
                status_counts[state] = status_counts.get(state, 0) + int(count)
            spools["manifest"].append(manifest)
            spools["articles"].append(articles)
            index.add(articles)
            n_articles += len(articles)
            submitted = runner.submit(_analyse_batch, articles[["article", "date", "text"]], batch_size=batch_size)
            del articles
            if pending is not None:
                collect(pending)  # the previous chunk's results, read while this chunk was analysed
            pending = submitted
        if pending is not None:
            collect(pending)

        # Duplicates, now that every article has been seen.
        found = index.duplicates()
        copies = index.copy_outlets()
        index.close()
        representative_of = dict(zip(found["article"], found["duplicate_of"]))
        reasons = {row.article: _reason(row.kind, row.duplicate_of, float(row.similarity))
                   for row in found.itertuples()}
        excluded = set() if keep_duplicates else set(representative_of)
        if representative_of:
            status_counts["duplicate"] = len(representative_of)
            status_counts["ok"] -= len(representative_of)

        def mark_manifest(piece: pd.DataFrame) -> pd.DataFrame:
            is_copy = piece["article"].isin(representative_of.keys())
            if is_copy.any():
                copy_ids = piece.loc[is_copy, "article"]
                piece.loc[is_copy, "status"] = "duplicate"
                piece.loc[is_copy, "duplicate_of"] = copy_ids.map(representative_of)
                piece.loc[is_copy, "reason"] = copy_ids.map(reasons)
            return piece

        def mark_articles(piece: pd.DataFrame) -> pd.DataFrame:
            ids = piece["article"]
            piece["duplicate_of"] = [representative_of.get(article, "") for article in ids]
            piece["n_copies"] = pd.Series([copies.get(article, (0, ""))[0] for article in ids], index=piece.index,
                                          dtype="int64")
            piece["copy_outlets"] = [copies.get(article, (0, ""))[1] for article in ids]
            return piece

        def keep(piece: pd.DataFrame) -> pd.DataFrame:
            return piece[~piece["article"].isin(excluded)] if excluded else piece

        counts = {}
        n_voting = 0

        def count_votes(piece: pd.DataFrame) -> pd.DataFrame:
            nonlocal n_voting
            piece = keep(piece)
            n_voting += int((piece["stance"] != "").sum())
            return piece

        spools["manifest"].copy_to(out / "manifest.csv", mark_manifest)
        spools["articles"].copy_to(out / "articles.csv", mark_articles)
        counts["claims"] = spools["claims"].copy_to(out / "claims.csv", count_votes)
        spools["voices"].copy_to(out / "voices.csv", keep)
        counts["cells"] = spools["cells"].copy_to(out / "stance_by_article.csv", keep)

    cells = pd.concat(cells_kept, ignore_index=True) if cells_kept else by_article(empty_claims)[SLIM_CELL_COLUMNS]
    cells = keep(cells.sort_values(CELL_SORT, kind="stable"))
    votes = pd.concat(statements, ignore_index=True) if statements else _statement_hashes(empty_claims)
    votes = keep(votes)
    distinct = votes.drop_duplicates(["nation", "key"]).groupby("nation").size()
    nation_table = by_nation(cells, names=names, statements={str(k): int(v) for k, v in distinct.items()})
    write_table(nation_table, out / "stance_by_nation.csv")
    if parquet:  # from the written CSVs (each read whole: Parquet output is not streamed)
        from .io import read_table

        for name in ("manifest", "articles", "claims", "voices", "stance_by_article", "stance_by_nation"):
            read_table(out / f"{name}.csv").to_parquet(out / f"{name}.parquet", index=False)

    n_inputs = sum(status_counts.values())
    status = ", ".join(f"{count} {state}" for state, count in sorted(status_counts.items()) if count)
    n_analysed = n_articles - len(excluded)
    return (f"{n_inputs} inputs ({status}); {n_analysed} articles analysed; {counts['claims']} claims "
            f"({n_voting} with a stance); {counts['cells']} article-nation cells; "
            f"{len(nation_table)} nations -> {out}")
