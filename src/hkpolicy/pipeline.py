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

Streaming (a chunk of the corpus in memory at a time, every core busy)
-----------------------------------------------------------------------
``run_study`` never holds the corpus, nor its list of files. It counts the files, then walks the corpus's
folders again (``ingest.corpus_names``: sorted, one folder's listing at a time) and hands them, in chunks of ``chunk_size``
files (by default ``batch_size * workers * 2``) split into batches of ``batch_size`` files (the last
chunk into shrinking ones, ``engine.tapering_sizes``, so that the workers finish together), to the engine.
While the main process warms up (imports, compiling the dictionaries: a second or two on one core), a
forked process reads the first chunk's files (``engine.EarlyStart``); they are taken once the workers are
forked and handed out already read. Each worker runs ``process_files`` on its batch: it reads and cleans
the other files itself, analyses the articles, builds their article-nation cells, and computes what the
duplicate index needs of each text (``duplicates.fingerprints``), and writes its tables as sorted CSV rows
(``process_files_for_run``), so reading, cleaning, analysis and formatting all run on every core. The main
process, for each chunk (the next chunk is being processed meanwhile),

* appends the rows of the manifest, articles (text included), claims, voices and cells to temporary CSVs,
  and where each article's rows lie in them (runs of one article's rows) to files beside them,
* adds the fingerprints to a ``duplicates.DuplicateIndex``, which writes them to disk (ids, keys, band
  hashes, signatures, shingle sets, dates and outlets; never texts) and works the groups out at the end,
* writes, per article-nation cell, its numbers (article ordinal, nation, stance, score, counts), per voting
  claim a 64-bit hash of its statement key, and per article its claims with a stance, to a temporary file
  of numbers (``io.SpooledColumns``).

So while the corpus streams the main process keeps nothing in memory per article but the offsets of the
spilled shingle sets (16 bytes): its memory stays level however long the corpus (README, Performance).
What it needs of every article is read back once, at the end: the duplicate groups one LSH band at a time
(a band's hashes and candidate pairs, each pair decided as the band is read; signature rows read straight
into memory, never a mapping of the whole file), then the kept cells' and votes' numbers by nation (~21
bytes a cell, 8 a vote) for the nation table; only the ids that the tables quote or edit are read back (all
of them only if the files did not come in id order). That end is the run's peak: a few tens of MiB at 100k
articles above the stream's level, growing with the corpus by those few bytes a cell and vote. While the
workers run, the objects they share with the main process are frozen for its garbage collector
(``engine.frozen_heap``), whose collections would otherwise copy the pages they share.

Duplicates are only known once everything is read, so every article is analysed, duplicates included,
and at the end the duplicates' claims, voices and cells are dropped (unless ``keep_duplicates``); the
temporary tables are then copied into the final CSVs with the duplicate columns
filled in, the five tables side by side in the local pool's workers (or a Dask LocalCluster's): runs of
one article's rows are passed on as text or left out, and only the rows an edit changes are parsed; the
nation table is computed from the kept numbers, with the evidence of its strongest cells read back while
the cells are copied. Files are processed in sorted path order and each batch is sorted,
so the rows come out in the documented order without a global sort; if article ids of successive files
are ever not in that order (possible only with unusual file names, e.g. ``a.csv`` and ``a.csv!.txt``),
the affected table is sorted in memory instead. The outputs are byte-identical to sorting whole tables,
whatever the engine, chunk size or batch size.

With ``--engine dask --scheduler ADDRESS`` the workers read the files themselves: the corpus folder must
be at the same path on them (a shared file system).
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .actors import nation_names
from .claims import extract_claims_and_voices
from .engine import EarlyStart, Engine, frozen_heap, map_batches, tapering_sizes  # noqa: F401  (map_batches: for callers mapping their own batches)
from .ingest import corpus_base, corpus_names, read_files, read_provenance, records_to_frames
from .io import SpooledColumns, csv_rows, distinct_sorted, write_table
from .stance import score_stance
from .tables import NATION_EVIDENCE_CELLS, by_article, by_nation, nation_evidence, nation_row, nation_table_of

CLAIM_SORT = ["article", "sentence_id", "nation"]
# Files per task. A batch costs ~25 ms whatever its size (frames, groupings, sorting, formatting); at 256
# files that is 0.1 ms per article, at 128 twice as much. Chunks of batch_size x workers x 2 keep two
# batches per worker in flight while the main process takes in the previous chunk.
DEFAULT_BATCH_SIZE = 256


def analyse_articles(articles: pd.DataFrame, method: str = "default") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-article work for a batch: ``(scored claims, voices)``."""
    claims, voices = extract_claims_and_voices(articles)
    return score_stance(claims, method=method), voices


WARM_UP_PAGE = "Home | World | Video\n\nThe minister said the law was regrettable.\n\nRelated articles\n"


def warm_up() -> None:
    """Load and compile every dictionary, lexicon and model once, before worker processes are forked,
    so that each worker inherits them instead of compiling its own.

    Every table is created before the first look-up builds the key scan they share: a table made later
    (the page-chrome patterns, made when the first file is read) changes the scan, and each worker then
    built it again (and the candidates of every table) on its first batch (~0.1 s of CPU a worker)."""
    import tempfile

    from .actors import actor_dictionary
    from .claims import lexicon
    from .stance import default_method, stance_rules, tone_analyzer

    with tempfile.TemporaryDirectory(prefix="hkpolicy-warm-up-") as folder:  # the ingest's tables: read a page
        (Path(folder) / "page.txt").write_text(WARM_UP_PAGE, encoding="utf-8")
        read_files(["page.txt"], folder)
    actor_dictionary(), lexicon(), stance_rules(), tone_analyzer()
    if default_method() != "rules":
        from .model import load_model

        load_model()
    analyse_articles(pd.DataFrame({"article": ["warm-up"], "date": [""],
                                   "text": ["The minister said the law was regrettable."]}))
    from .resources import compile_alternations

    compile_alternations()


def build_tables(claims: pd.DataFrame, duplicates: set[str] | None = None) -> dict[str, pd.DataFrame]:
    """The two stance tables from scored claims."""
    names = nation_names()
    article_table = by_article(claims, names=names, duplicates=duplicates)
    return {"stance_by_article": article_table,
            "stance_by_nation": by_nation(article_table, names=names, claims=claims, duplicates=duplicates)}


VOICE_SORT = ["article", "sentence_id", "actor"]
CELL_SORT = ["article", "nation"]


def serialise_rows(frame: pd.DataFrame, sort_by: list[str]) -> tuple:
    """``frame`` sorted by ``sort_by`` and written as CSV rows without a header (``io.csv_rows``): (text,
    number of rows, first row's sort key, last row's sort key, runs). ``runs`` describes the text as
    consecutive runs of one article's rows, ([article], [characters], [rows]), so that the final copy can
    pass them on or leave them out without parsing them (None without an ``article`` column). A worker
    serialises its own batch, so that the main process of a streamed run only appends text."""
    if not len(frame):
        return "", 0, None, None, ([], [], [])
    frame = frame.sort_values(sort_by, kind="stable") if sort_by else frame
    first = tuple(frame[sort_by].iloc[0]) if sort_by else ()
    last = tuple(frame[sort_by].iloc[-1]) if sort_by else ()
    text, lengths = csv_rows(frame, with_lengths=True)
    if "article" not in frame.columns:
        return text, len(frame), first, last, None
    articles, characters, rows = [], [], []
    for article, length in zip(frame["article"].tolist(), lengths):
        if articles and articles[-1] == article:
            characters[-1] += length
            rows[-1] += 1
        else:
            articles.append(article)
            characters.append(length)
            rows.append(1)
    return text, len(frame), first, last, (articles, characters, rows)


class _Spool:
    """A table written piece by piece to a temporary CSV (header once), then copied to its final file
    (``copy_to``)."""

    def __init__(self, path: Path, columns: list[str], sort_by: list[str]):
        self.path, self.columns, self.sort_by = path, columns, sort_by
        self.rows = 0
        self.in_order = True  # every piece started at or after the previous one's last sort key
        self._last = None
        # Per piece, its runs of one article's rows: (article ordinal or -1, characters, rows), on disk.
        self._runs = SpooledColumns(path.with_suffix(".runs"))
        self._has_runs = True

    def append_rows(self, rows: str, n_rows: int, first, last, runs=None, ordinal: dict[str, int] | None = None) -> None:
        """Add rows already written as CSV text (``serialise_rows``: sorted, no header), whose first and last
        sort keys are ``first`` and ``last``; ``runs`` (from ``serialise_rows``) with the articles'
        ``ordinal`` numbers lets ``copy_to`` copy the text run by run."""
        if n_rows:
            if self._last is not None and first < self._last:
                self.in_order = False
            self._last = last
        if runs is None or ordinal is None:
            self._has_runs = False
        elif self._has_runs:
            articles, characters, counts = runs
            self._runs.append(article=np.array([ordinal.get(article, -1) for article in articles], dtype=np.int32),
                              characters=np.array(characters, dtype=np.int64), rows=np.array(counts, dtype=np.int32))
        new = not self.path.exists()
        with open(self.path, "a", encoding="utf-8", newline="") as handle:
            if new:
                csv.writer(handle, lineterminator="\n").writerow(self.columns)
            handle.write(rows)
        self.rows += n_rows

    def close(self) -> None:
        self._runs.close()

    def read_rows(self):
        """The header, then the rows back as lists of strings ("" for empty cells), in the table's order."""
        if not self.path.exists():
            yield list(self.columns)
            return
        if not self.in_order:  # unusual file names: fall back to one sort in memory
            frame = pd.read_csv(self.path, dtype=str, keep_default_na=False, na_filter=False)
            frame = frame.sort_values(self.sort_by, kind="stable", key=_typed)
            yield list(frame.columns)
            yield from (list(row) for row in frame.itertuples(index=False, name=None))
            return
        with open(self.path, encoding="utf-8", newline="") as handle:
            yield from csv.reader(handle)

    def copy_to(self, target: Path, edit: "_RowEdit | None" = None, ids: dict[int, str] | None = None) -> tuple[int, object]:
        """Write the spooled table to ``target`` through ``edit``; returns (rows written, what ``edit``
        gathered). With ``ids``, {ordinal: article id} of the articles ``edit`` may act on (to the others its
        ``action(None)`` applies), and every piece's runs known, the text is copied run by run, and only the
        runs ``edit`` changes are parsed; otherwise every row is read and written with the csv module.
        Either way a row left alone is copied as it was written."""
        edit = edit or _RowEdit()
        if ids is not None and self._has_runs and self.in_order and self.path.exists():
            return self._copy_runs(target, edit, ids)
        written = 0
        with open(target, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            rows = self.read_rows()
            header = next(rows)
            edit.start(header)
            writer.writerow(header + edit.extra_columns)
            for row in rows:
                row = edit(row)
                if row is not None:
                    writer.writerow(row)
                    written += 1
        return written, edit.result()

    def _copy_runs(self, target: Path, edit: "_RowEdit", ids: dict[int, str]) -> tuple[int, object]:
        written = 0
        with open(self.path, encoding="utf-8", newline="") as source, \
                open(target, "w", encoding="utf-8", newline="") as handle:
            header = next(csv.reader([source.readline()]))
            edit.start(header)
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header + edit.extra_columns)
            # Piece by piece: the runs of a whole corpus as Python ints would cost ~100 bytes an article.
            pieces = zip(*(self._runs.pieces(name) for name in ("article", "characters", "rows")))
            runs = (run for piece in pieces for run in zip(*(part.tolist() for part in piece)))
            for ordinal, n_characters, n_rows in runs:
                text = source.read(n_characters)
                article = ids.get(ordinal)
                action = edit.action(article)
                if action == "drop":
                    continue
                if action == "keep":
                    handle.write(text)
                elif action == "append" and n_rows == 1:
                    handle.write(text[:-1] + edit.suffix(article))
                else:
                    for row in csv.reader(io.StringIO(text, newline="")):
                        row = edit(row)
                        if row is not None:
                            writer.writerow(row)
                            written += 1
                    continue
                written += n_rows
            if source.read(1):
                raise RuntimeError(f"{self.path}: text beyond the recorded runs")
        return written, edit.result()


def _copy_spool(spool: _Spool, target: Path, edit: "_RowEdit", ids: dict[int, str] | None = None) -> tuple[int, object]:
    """``spool.copy_to(target, edit, ids)`` as a task a process pool can run (the tables are copied side by
    side)."""
    return spool.copy_to(target, edit, ids)


class _RowEdit:
    """What the final copy does to the rows of a spooled table: ``action(article)`` says, for a run of one
    article's rows, "keep" (copied as they are), "drop", "append" (``suffix(article)``, the extra cells as
    CSV text from the comma on, ends each row) or "edit" (each row, a list of strings, goes through the
    call, which returns the row to write or None). Plain data, so that a process pool can run the copies."""

    extra_columns: list[str] = []

    def start(self, header: list[str]) -> None:
        self.column = {name: i for i, name in enumerate(header)}

    def action(self, article: str | None) -> str:
        return "edit"

    def __call__(self, row: list[str]) -> list[str] | None:
        return row

    def result(self):
        return None


class _MarkManifest(_RowEdit):
    """Duplicates get status "duplicate", their representative and the reason."""

    def __init__(self, representative_of: dict[str, str], reasons: dict[str, str]):
        self.representative_of, self.reasons = representative_of, reasons

    def action(self, article):
        return "edit" if article in self.representative_of else "keep"

    def __call__(self, row):
        article = row[self.column["article"]]
        if article in self.representative_of:
            row[self.column["status"]] = "duplicate"
            row[self.column["duplicate_of"]] = self.representative_of[article]
            row[self.column["reason"]] = self.reasons[article]
        return row


class _MarkArticles(_RowEdit):
    """Every article gets ``duplicates.ARTICLE_EXTRA_COLUMNS``: its representative, copies and their outlets."""

    def __init__(self, representative_of: dict[str, str], copies: dict[str, tuple[int, str]]):
        from .duplicates import ARTICLE_EXTRA_COLUMNS

        self.representative_of, self.copies = representative_of, copies
        self.extra_columns = list(ARTICLE_EXTRA_COLUMNS)

    def _extra(self, article: str) -> list[str]:
        n_copies, outlets = self.copies.get(article, (0, ""))
        return [self.representative_of.get(article, ""), str(n_copies), outlets]

    def action(self, article):
        return "append"

    def suffix(self, article):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(["", *self._extra(article)])  # "," + the extra cells
        return buffer.getvalue()

    def __call__(self, row):
        return row + self._extra(row[self.column["article"]])


class _Keep(_RowEdit):
    """Rows of articles that are not excluded (duplicates)."""

    def __init__(self, excluded: set[str]):
        self.excluded = excluded

    def action(self, article):
        return "drop" if article in self.excluded else "keep"

    def __call__(self, row):
        return None if row[self.column["article"]] in self.excluded else row


class _KeepWithEvidence(_Keep):
    """``_Keep`` for the cells, gathering the evidence of the ``wanted`` (article, nation) cells."""

    def __init__(self, excluded: set[str], wanted: set[tuple[str, str]]):
        super().__init__(excluded)
        self.wanted = wanted
        self.wanted_articles = {article for article, _ in wanted}
        self.evidence: dict[tuple[str, str], str] = {}

    def action(self, article):
        kept = super().action(article)
        return "edit" if kept == "keep" and article in self.wanted_articles else kept

    def __call__(self, row):
        row = super().__call__(row)
        if row is not None:
            cell = (row[self.column["article"]], row[self.column["nation"]])
            if cell in self.wanted:
                self.evidence[cell] = row[self.column["evidence"]]
        return row

    def result(self):
        return self.evidence


def _typed(column: pd.Series) -> pd.Series:
    """A column read back as strings, compared as the numbers it holds when it holds numbers."""
    try:
        return pd.to_numeric(column)
    except (ValueError, TypeError):
        return column


def _statement_hashes(claims: pd.DataFrame) -> pd.DataFrame:
    """(article, nation, 64-bit hash of ``tables.statement_key``) of the voting claims."""
    import hashlib

    from .tables import statement_keys, voting_claims

    votes = voting_claims(claims)
    keys = [int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little", signed=True)
            for key in statement_keys(votes)]
    return pd.DataFrame({"article": votes["article"].astype(str).to_numpy(),
                         "nation": votes["nation"].astype(str).to_numpy(),
                         "key": pd.array(keys, dtype="int64")})


def read_items(items: list[tuple], base: str, columns: dict[str, str] | None = None) -> list[dict]:
    """The records of a batch's files (``ingest.read_files``), in the order of ``items``. An item is (path
    relative to ``base``, its ``PROVENANCE.csv`` row or None), or (path, row, records) for a file read
    already (``run_study`` reads the first files while it warms up): its records are taken as they are."""
    records: list[dict] = []
    unread: list[tuple] = []  # consecutive files still to read, read together

    def read_unread() -> None:
        if unread:
            records.extend(read_files([name for name, *_ in unread], base, columns=columns,
                                      provenance={name: row for name, row, *_ in unread if row}))
            unread.clear()

    for item in items:
        if len(item) > 2:
            read_unread()
            records.extend(item[2])
        else:
            unread.append(item)
    read_unread()
    return records


def read_each(items: list[tuple], base: str, columns: dict[str, str] | None = None) -> list[list[dict]]:
    """``read_items`` file by file: each item's records (what ``run_study`` reads early)."""
    return [read_items([item], base, columns=columns) for item in items]


def process_files(items: list[tuple], base: str, columns: dict[str, str] | None = None,
                  method: str = "default") -> dict[str, object]:
    """What a worker does with a batch of files: read, clean, analyse, tabulate, fingerprint.

    In: ``items``, (path relative to ``base``, its ``PROVENANCE.csv`` row or None) per file, or (path, row,
    records) for a file read already (``read_items``); ``base``, the corpus folder. Out: a dict of the
    batch's ``manifest``, ``articles``, ``claims`` (scored), ``voices``, ``cells`` (``tables.by_article``),
    ``statements`` (``_statement_hashes``) and ``fingerprints`` (``duplicates.fingerprints``).
    """
    from .duplicates import fingerprints

    articles, manifest = records_to_frames(read_items(items, base, columns=columns))
    claims, voices = analyse_articles(articles[["article", "date", "text"]], method=method)
    return {"manifest": manifest, "articles": articles, "claims": claims, "voices": voices,
            "cells": by_article(claims, names=nation_names()), "statements": _statement_hashes(claims),
            "fingerprints": fingerprints(articles)}


# The tables a streamed run spools (written piece by piece, then copied out) and the order of their rows.
SPOOL_ORDER = {"manifest": ["source_file", "article"], "articles": ["article"], "claims": CLAIM_SORT,
               "voices": VOICE_SORT, "cells": CELL_SORT}
# What the main process keeps of each article-nation cell (``_NationTally``).
TALLY_COLUMNS = ["article", "nation", "stance", "score", "n_claims", "n_statements"]


def process_files_for_run(items: list[tuple], base: str, columns: dict[str, str] | None = None,
                          method: str = "default") -> dict[str, object]:
    """``process_files`` as a streamed run's task: its tables already written as CSV rows
    (``serialise_rows``, under ``rows``), so that the main process only appends text; besides them the
    files' ``status_counts``, the ``fingerprints``, the ``statements``, the cells' numbers (``tally``,
    ``TALLY_COLUMNS``) and, per article, its number of claims with a stance (``with_stance``)."""
    result = process_files(items, base, columns=columns, method=method)
    claims = result["claims"]
    return {"rows": {name: serialise_rows(result[name], sort_by) for name, sort_by in SPOOL_ORDER.items()},
            "status_counts": result["manifest"]["status"].value_counts().to_dict(),
            "fingerprints": result["fingerprints"], "statements": result["statements"],
            "tally": result["cells"][TALLY_COLUMNS],
            "with_stance": claims.loc[claims["stance"].fillna("") != "", "article"].value_counts().to_dict()}


STANCE_CODES = {"": 0, "oppose": 1, "support": 2, "neutral": 3}


class _NationTally:
    """What the nation table needs of every article-nation cell, as numbers: article ordinal, nation,
    stance, score, claim and statement counts; per voting claim the statement-key hash; per article its
    claims with a stance. Written to a temporary file as they come (``io.SpooledColumns``: 29 bytes a
    cell, 16 a vote, on disk) and read back at the end, a pass over the pieces per table: in memory, of the
    kept articles' cells and votes only the numbers asked for, by nation (~21 bytes a cell, 8 a vote),
    never a table of them. The evidence of the few strongest cells is read back from the cells table."""

    def __init__(self):
        self.nations: dict[str, int] = {}
        self._spool = SpooledColumns()

    def _codes(self, values) -> np.ndarray:
        return np.array([self.nations.setdefault(value, len(self.nations)) for value in values.tolist()],
                        dtype=np.int32)

    def add(self, cells: pd.DataFrame, statements: pd.DataFrame, with_stance: dict[str, int],
            ordinal: dict[str, int]) -> None:
        # Columns as lists first: iterating a pyarrow-backed str column goes element by element.
        self._spool.append(
            cell_ordinal=np.array([ordinal[a] for a in cells["article"].tolist()], dtype=np.int32),
            cell_nation=self._codes(cells["nation"]),
            cell_stance=np.array([STANCE_CODES[s] for s in cells["stance"].tolist()], dtype=np.int8),
            cell_score=cells["score"].to_numpy(dtype=float),
            cell_n_claims=cells["n_claims"].to_numpy(dtype=np.int32),
            cell_n_statements=cells["n_statements"].to_numpy(dtype=np.int32),
            vote_ordinal=np.array([ordinal[a] for a in statements["article"].tolist()], dtype=np.int32),
            vote_nation=self._codes(statements["nation"]),
            vote_key=statements["key"].to_numpy(dtype=np.int64),
            stance_ordinal=np.array([ordinal[a] for a in with_stance], dtype=np.int32),
            stance_claims=np.array(list(with_stance.values()), dtype=np.int64))

    def _by_nation(self, prefix: str, names: list[str], excluded: set[int]) -> dict[int, dict[str, np.ndarray]]:
        """{nation code: {name: array}}: the columns ``names`` of the spooled rows (``prefix``: "cell" or
        "vote") of the articles not ``excluded`` (ordinals), by nation, in the order added. One pass over the
        pieces; only the columns asked for are held (a few bytes a row, against ~100 as a table)."""
        read = ["ordinal", "nation"] + [name for name in names if name != "ordinal"]
        dropped = _dropped(excluded)
        parts: dict[int, dict[str, list[np.ndarray]]] = {}
        for piece in zip(*(self._spool.pieces(f"{prefix}_{name}") for name in read)):
            piece = dict(zip(read, piece))
            kept = np.flatnonzero(~_lookup(dropped, piece["ordinal"]))
            nation = piece["nation"][kept]
            order = kept[np.argsort(nation, kind="stable")]  # the kept rows grouped by nation, in order
            codes = piece["nation"][order]
            starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(codes) else codes
            for start, end in zip(starts.tolist(), starts[1:].tolist() + [len(codes)]):
                columns = parts.setdefault(int(codes[start]), {name: [] for name in names})
                for name in names:
                    columns[name].append(piece[name][order[start:end]])
        return {code: {name: np.concatenate(values) for name, values in parts.pop(code).items()}
                for code in sorted(parts)}

    def _nations(self, excluded: set[int], rank: np.ndarray | None):
        """(nation, its cells of the kept articles) for each nation with any, in string order; the cells
        (ordinal, stance code, score, n_claims, n_statements, and ``key``: the article's place in id order,
        the ordinal itself without a ``rank`` of ordinals) sorted by article."""
        by_code = self._by_nation("cell", ["ordinal", "stance", "score", "n_claims", "n_statements"], excluded)
        for nation in sorted(self.nations):
            cells = by_code.pop(self.nations[nation], None)  # let each nation's arrays go once done
            if cells is None:
                continue
            ordinal = cells["ordinal"].astype(np.int64)
            key = ordinal if rank is None else rank[ordinal]
            order = np.argsort(key, kind="stable")
            yield nation, {"key": key[order], **{name: values[order] for name, values in cells.items()}}

    def strongest(self, excluded: set[int], rank: np.ndarray | None = None) -> pd.DataFrame:
        """The cells whose evidence each nation's row quotes (``tables.strongest_cells``: the largest
        absolute scores, the first article on ties), as columns ``ordinal``, ``nation``, ``score``.
        ``rank``: each ordinal's place in id order, when articles were not added in id order."""
        rows = []
        for nation, cells in self._nations(excluded, rank):
            top = np.lexsort((cells["key"], -np.abs(cells["score"])))[:NATION_EVIDENCE_CELLS]
            rows += [(ordinal, nation, score) for ordinal, score
                     in zip(cells["ordinal"][top].tolist(), cells["score"][top].tolist())]
        return pd.DataFrame(rows, columns=["ordinal", "nation", "score"])

    def nation_table(self, excluded: set[int], names: dict[str, str], rank: np.ndarray | None = None) -> pd.DataFrame:
        """``tables.by_nation``'s table of the articles not ``excluded`` (ordinals), its evidence empty, with
        ``n_statements`` the distinct statement keys of the nation's votes (the sum of its cells' counts if
        it has none). ``rank`` as in ``strongest``."""
        # Distinct statements first (their keys then go), then the cells.
        distinct = {code: len(distinct_sorted(votes["key"]))
                    for code, votes in self._by_nation("vote", ["key"], excluded).items()}
        rows = []
        for nation, cells in self._nations(excluded, rank):
            counts = np.bincount(cells["stance"].astype(np.int64), minlength=len(STANCE_CODES))
            n_statements = distinct.get(self.nations[nation], int(cells["n_statements"].sum()))
            rows.append(nation_row(
                nation, names.get(nation, nation), cells["score"].astype(float),
                n_oppose=int(counts[STANCE_CODES["oppose"]]), n_support=int(counts[STANCE_CODES["support"]]),
                n_neutral=int(counts[STANCE_CODES["neutral"]]), n_claims=int(cells["n_claims"].sum()),
                n_statements=n_statements))
        return nation_table_of(rows)

    def with_stance(self, excluded: set[int]) -> int:
        """Claims with a stance in the kept articles."""
        dropped = _dropped(excluded)
        return int(sum(claims[~_lookup(dropped, ordinals)].sum() for ordinals, claims
                       in zip(self._spool.pieces("stance_ordinal"), self._spool.pieces("stance_claims"))))

    def close(self) -> None:
        self._spool.close()


def _dropped(ordinals: set[int]) -> np.ndarray:
    """A lookup of ``ordinals``: True at each (1 byte an article up to the largest)."""
    dropped = np.zeros(max(ordinals) + 1 if ordinals else 0, dtype=bool)
    dropped[list(ordinals)] = True
    return dropped


def _lookup(dropped: np.ndarray, ordinals: np.ndarray) -> np.ndarray:
    """``dropped`` at each of ``ordinals`` (False past its end)."""
    inside = ordinals < len(dropped)
    found = np.zeros(len(ordinals), dtype=bool)
    found[inside] = dropped[ordinals[inside]]
    return found


def _id_ranks(ids: list[str]) -> np.ndarray:
    """Each position's place in the string order of ``ids``."""
    rank = np.empty(len(ids), dtype=np.int64)
    rank[sorted(range(len(ids)), key=ids.__getitem__)] = np.arange(len(ids))
    return rank


def run_study(raw: str | Path, out: str | Path, columns: dict[str, str] | None = None, keep_duplicates: bool = False,
              engine: str = "local", scheduler: str | None = None, workers: int | None = None,
              parquet: bool = False, progress: bool = True, batch_size: int = DEFAULT_BATCH_SIZE,
              chunk_size: int | None = None) -> str:
    """Run every step on the corpus at ``raw`` and write the tables into ``out``; returns a summary.

    Streams the corpus (see the module's docstring): ``chunk_size`` files are read, analysed and written at
    a time (default ``batch_size * workers * 2``), in batches of ``batch_size`` files per task; the
    outputs do not depend on either, or on the engine.
    """
    import tempfile
    from functools import partial

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    root, base = corpus_base(raw)
    provenance = read_provenance(base)
    # The files are counted, then listed again as they are handed out (never all held: ~400 bytes a file
    # as a list); a file added meanwhile is still read, the count only sizes the last chunk and the bar.
    n_files = sum(1 for _ in corpus_names(root))
    items = ((name, provenance.get(name)) for name in corpus_names(root))
    n_workers = workers or os.cpu_count() or 1
    chunk_size = chunk_size or batch_size * n_workers * 2
    # Compile the dictionaries once, before worker processes are forked (a cluster elsewhere: its own).
    # That keeps one core busy for a second or two: with more than one worker, the first chunk's files are
    # read meanwhile in a forked process, taken once the workers are up, and handed out already read.
    warm_up_here = engine == "local" or (engine == "dask" and not scheduler)
    early = None
    if warm_up_here and n_workers > 1:
        first = [(name, provenance.get(name)) for name in itertools.islice(corpus_names(root), chunk_size)]
        early = EarlyStart(partial(read_each, base=str(base), columns=columns), first)
    try:
        if warm_up_here:
            warm_up()
        from .duplicates import DuplicateIndex, _reason

        names = nation_names()
        empty = process_files([], str(base))
        index = DuplicateIndex()
        tally = _NationTally()
    except BaseException:
        if early is not None:
            early.close()
        raise
    status_counts: dict[str, int] = {}
    task = partial(process_files_for_run, base=str(base), columns=columns)
    read_early: dict[str, list[dict]] = {}
    items = ((name, row, read_early.pop(name)) if name in read_early else (name, row) for name, row in items)

    from tqdm import tqdm

    bar = tqdm(total=n_files, desc="read and analyse", unit="file", disable=not progress or n_files < 50)
    with (early or contextlib.nullcontext()), frozen_heap(), \
            tempfile.TemporaryDirectory(dir=out, prefix=".run-") as scratch, \
            Engine(engine, scheduler=scheduler, workers=workers) as runner:
        if early is not None:
            if n_files > batch_size:
                runner.start()  # workers forked before the early files' records arrive, so as not to inherit them
            read_early.update((name, records) for batch, found in early.take()
                              for (name, _), records in zip(batch, found))
        scratch = Path(scratch)
        spools = {name: _Spool(scratch / f"{name}.csv", list(empty[name].columns), sort_by)
                  for name, sort_by in SPOOL_ORDER.items()}

        def collect(pending, n_files: int) -> None:
            results = pending()
            for result in results:  # in file order
                for state, count in result["status_counts"].items():
                    status_counts[state] = status_counts.get(state, 0) + int(count)
                first = len(index)
                index.add_fingerprints(result["fingerprints"])
                ordinal = {article: first + i for i, article in enumerate(result["fingerprints"]["article"])}
                for name, spool in spools.items():
                    spool.append_rows(*result["rows"][name], ordinal=ordinal)
                tally.add(result["tally"], result["statements"], result["with_stance"], ordinal)
            bar.update(n_files)
            bar.set_postfix(articles=len(index), refresh=False)

        pending = None
        for start in itertools.count(0, chunk_size):
            chunk = list(itertools.islice(items, chunk_size))
            if not chunk:
                break
            size = batch_size
            if start + chunk_size >= n_files:  # the last chunk: shrinking batches, so the workers finish together
                size = tapering_sizes(len(chunk), batch_size, n_workers)
            submitted = (runner.submit(task, chunk, batch_size=size), len(chunk))
            if pending is not None:
                collect(*pending)  # the previous chunk's results, gathered while this chunk is processed
            pending = submitted
        if pending is not None:
            collect(*pending)
        # What the end of the run no longer needs, before it needs the memory: the last chunk's results, and
        # (once the duplicates are found) the duplicate index.
        pending = submitted = chunk = items = None
        bar.close()

        # Duplicates, now that every article has been seen.
        found = index.duplicates()
        copies = index.copy_outlets()
        position_of = index.positions()  # {id: ordinal} of the groups' members
        n_articles = len(index)
        # Articles added in id order (the usual case): the cells key articles by ordinal, which sorts as
        # the ids do, and only the ids quoted are read back; otherwise every id is read, to rank them.
        ids = None if index.in_id_order else list(index.ids_at(range(n_articles)).values())
        rank = None if ids is None else _id_ranks(ids)
        representative_of = dict(zip(found["article"], found["duplicate_of"]))
        reasons = {row.article: _reason(row.kind, row.duplicate_of, float(row.similarity))
                   for row in found.itertuples()}
        excluded = set() if keep_duplicates else set(representative_of)
        if representative_of:
            status_counts["duplicate"] = len(representative_of)
            status_counts["ok"] -= len(representative_of)

        # The nation table's numbers are read back from disk, a nation at a time; its evidence is read
        # while the cells are copied: only that of the cells a nation's row quotes.
        excluded_ordinals = {position_of[article] for article in excluded}
        strongest = tally.strongest(excluded_ordinals, rank)
        ordinals = strongest["ordinal"].tolist()
        quoted = index.ids_at(ordinals) if ids is None else {ordinal: ids[ordinal] for ordinal in ordinals}
        strongest = strongest.assign(article=[quoted[ordinal] for ordinal in ordinals])
        # The articles the copies act on, by ordinal (the rows of all others are copied as they are).
        acting = {ordinal: article for article, ordinal in position_of.items()}
        acting.update(quoted)
        wanted = set(zip(strongest["article"], strongest["nation"]))
        index.close()
        index = ids = None
        copies_to_make = [
            (spools["claims"], out / "claims.csv", _Keep(excluded), acting),
            (spools["articles"], out / "articles.csv", _MarkArticles(representative_of, copies), acting),
            (spools["cells"], out / "stance_by_article.csv", _KeepWithEvidence(excluded, wanted), acting),
            (spools["voices"], out / "voices.csv", _Keep(excluded), acting),
            (spools["manifest"], out / "manifest.csv", _MarkManifest(representative_of, reasons), acting),
        ]
        counts = {}
        # The biggest tables first: a local run copies them side by side in its worker processes, while
        # this process works out the nation table's numbers (bootstrap intervals); its evidence comes after.
        copied = runner.start_each(_copy_spool, copies_to_make)
        nation_table = tally.nation_table(excluded_ordinals, names, rank)
        (counts["claims"], _), _, (counts["cells"], evidence), _, _ = copied()
        n_voting = tally.with_stance(excluded_ordinals)
        tally.close()
        for spool in spools.values():
            spool.close()  # its runs file, before the scratch folder goes

    if wanted:
        strongest = strongest.assign(evidence=[evidence.get(cell, "").split(" | ")[0]
                                               for cell in zip(strongest["article"], strongest["nation"])])
    quoted = ({nation: nation_evidence(group) for nation, group in strongest.groupby("nation", sort=False)}
              if len(strongest) else {})
    nation_table["evidence"] = nation_table["nation"].map(quoted).fillna("")
    write_table(nation_table, out / "stance_by_nation.csv")
    if parquet:  # from the written CSVs, in chunks
        from .io import csv_to_parquet

        for name in ("manifest", "articles", "claims", "voices", "stance_by_article", "stance_by_nation"):
            csv_to_parquet(out / f"{name}.csv")

    n_inputs = sum(status_counts.values())
    status = ", ".join(f"{count} {state}" for state, count in sorted(status_counts.items()) if count)
    n_analysed = n_articles - len(excluded)
    return (f"{n_inputs} inputs ({status}); {n_analysed} articles analysed; {counts['claims']} claims "
            f"({n_voting} with a stance); {counts['cells']} article-nation cells; "
            f"{len(nation_table)} nations -> {out}")
