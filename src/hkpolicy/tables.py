"""Tables: stance per (article, nation) and per nation, each cell with the sentences behind it.

Only claims that vote count: on target, with a stance (oppose / support / neutral), from articles that
are not duplicates of another. A nation that is only mentioned gets no row.

``by_article(claims)`` -> ``ARTICLE_TABLE_COLUMNS``:
    article, nation, name      the cell (name: the nation's display name)
    date                       the article's date
    stance                     the net position: sign of the summed claim scores; neutral when only
                               neutral claims (or an exact tie) stand behind it
    score                      mean signed claim score in [-1, 1]
    n_claims, n_oppose, n_support, n_neutral   voting claims behind the cell, by label
    n_statements               distinct statements (the same quote repeated in one article counts once;
                               in the nation table, the same quote on the same day in several articles too)
    evidence                   the deciding sentence(s), strongest first, " | "-joined
    evidence_offsets           "start-end" of each evidence sentence in the article's clean text

``by_nation(article_table)`` -> ``NATION_TABLE_COLUMNS``:
    nation, name, stance, score (mean of article scores), ci_low, ci_high (95% bootstrap over articles,
    seeded), n_articles, n_claims, n_statements, n_oppose, n_support, n_neutral (articles by stance),
    evidence (the strongest sentences, each with its article)
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from .io import is_missing

ARTICLE_TABLE_COLUMNS = ["article", "nation", "name", "date", "stance", "score", "n_claims", "n_oppose", "n_support",
                         "n_neutral", "n_statements", "evidence", "evidence_offsets"]
NATION_TABLE_COLUMNS = ["nation", "name", "stance", "score", "ci_low", "ci_high", "n_articles", "n_claims",
                        "n_statements", "n_oppose", "n_support", "n_neutral", "evidence"]
EVIDENCE_SENTENCES = 2
BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 20200630
BOOTSTRAP_BLOCK = 500_000  # resampled values drawn at once (16 bytes each while a block is averaged)


def voting_claims(claims: pd.DataFrame, duplicates: set[str] | None = None) -> pd.DataFrame:
    """The claims that vote: on target, with a stance, and not from a duplicate article."""
    mask = claims["on_target"].astype(bool) & claims["stance"].isin(["oppose", "support", "neutral"])
    if duplicates:
        mask &= ~claims["article"].isin(duplicates)
    return claims[mask]


def net_stance(score_sum: float, n_polar: int, n_neutral: int) -> str:
    """The label of a cell from its summed score: the sign decides; neutral when nothing polar remains."""
    if score_sum > 1e-9:
        return "support"
    if score_sum < -1e-9:
        return "oppose"
    return "neutral" if (n_neutral or n_polar) else ""


def statement_key(row) -> str:
    """One statement, however many articles report it: a quotation is the same statement on the same
    day (its first 12 words, normalised); an unquoted claim is its own sentence."""
    return _statement_key(row.quote, row.date, row.article, row.sentence_id)


def statement_keys(claims: pd.DataFrame) -> list[str]:
    """``statement_key`` of every row of ``claims`` (columns quote, date, article, sentence_id)."""
    dates = claims["date"].tolist() if "date" in claims else [""] * len(claims)
    return [_statement_key(quote, date, article, sentence_id) for quote, date, article, sentence_id
            in zip(claims["quote"].tolist(), dates, claims["article"].tolist(), claims["sentence_id"].tolist())]


_WORDS = re.compile(r"\w+")


def _statement_key(quote, date, article, sentence_id) -> str:
    if quote:
        words = _WORDS.findall(quote.lower())
        return f"{date}|{' '.join(words[:12])}"
    return f"{article}|{sentence_id}"


def by_article(claims: pd.DataFrame, names: dict[str, str] | None = None,
               duplicates: set[str] | None = None) -> pd.DataFrame:
    """Stance per (article, nation) from scored claims (``stance.score_stance`` output).

    One pass over the voting claims in plain Python: a worker builds this table for every batch, and
    pandas' grouped aggregations cost ~18 ms a call however few the rows (a run's smallest batches).
    A cell's sum of scores is exact (``math.fsum``, correctly rounded) and its mean that sum over its
    scores (missing ones skipped), rounded as ``Series.round`` rounds: so a cell's numbers depend on its
    claims alone. (Pandas' grouped sums, used before, are off by a bit now and then, and not the same bit
    for a group whatever the rows around it: a cell's mean could round its fourth decimal one way alone
    and the other way beside another nation's claims in the same article.)"""
    names = names or {}
    # Only the columns read here are filtered (a batch's claims have twenty).
    needed = [column for column in ("article", "nation", "stance", "score", "on_target", "date", "quote",
                                    "sentence_id", "start", "end", "text") if column in claims]
    votes = voting_claims(claims[needed], duplicates)
    if votes.empty:
        return pd.DataFrame(columns=ARTICLE_TABLE_COLUMNS)
    n = len(votes)
    dates = votes["date"].tolist() if "date" in votes else [""] * n
    keys = statement_keys(votes)
    articles, nations, stances = votes["article"].tolist(), votes["nation"].tolist(), votes["stance"].tolist()
    scores = votes["score"].astype(float).tolist()
    cells: dict[tuple, _Cell] = {}
    for row, cell_key in enumerate(zip(articles, nations)):
        cell = cells.get(cell_key)
        if cell is None:
            cell = cells[cell_key] = _Cell()
        cell.add(row, dates[row], scores[row], stances[row], keys[row])
    ordered = sorted(cells)  # (article, nation), as the grouping sorts its keys
    sentence_ids, starts, ends = votes["sentence_id"].tolist(), votes["start"].tolist(), votes["end"].tolist()
    texts = votes["text"].tolist()
    columns: dict[str, list] = {name: [] for name in ARTICLE_TABLE_COLUMNS}
    for article, nation in ordered:
        cell = cells[article, nation]
        total = math.fsum(cell.scores)
        stance = net_stance(total, cell.counts["oppose"] + cell.counts["support"], cell.counts["neutral"])
        # Evidence: the claims that agree with the cell's stance, strongest first, in text order on ties.
        agreeing = [row for row in cell.rows if stances[row] == stance or stance == ""]
        agreeing.sort(key=lambda row: (_strength_order(scores[row]), sentence_ids[row]))
        top = agreeing[:EVIDENCE_SENTENCES]
        for name, value in (("article", article), ("nation", nation), ("name", names.get(nation, nation)),
                            ("date", cell.date), ("stance", stance),
                            ("score", total / len(cell.scores) if cell.scores else float("nan")),
                            ("n_claims", len(cell.rows)), ("n_oppose", cell.counts["oppose"]),
                            ("n_support", cell.counts["support"]), ("n_neutral", cell.counts["neutral"]),
                            ("n_statements", len(cell.keys)),
                            ("evidence", " | ".join(texts[row].strip() for row in top)),
                            ("evidence_offsets", ";".join(f"{starts[row]}-{ends[row]}" for row in top))):
            columns[name].append(value)
    columns["score"] = np.round(np.array(columns["score"], dtype=float), 4)  # as Series.round does
    for name in ("n_claims", "n_oppose", "n_support", "n_neutral", "n_statements"):
        columns[name] = np.array(columns[name], dtype=np.int64)
    return pd.DataFrame(columns, columns=ARTICLE_TABLE_COLUMNS)


class _Cell:
    """One (article, nation) cell of ``by_article`` while its claims are added in table order."""

    __slots__ = ("rows", "date", "scores", "counts", "keys")

    def __init__(self):
        self.rows: list[int] = []
        self.date = None
        self.scores: list[float] = []
        self.counts = {"oppose": 0, "support": 0, "neutral": 0}
        self.keys: set[str] = set()

    def add(self, row: int, date, score: float, stance: str, key: str) -> None:
        self.rows.append(row)
        if self.date is None and not is_missing(date):
            self.date = date  # the first date given, as ``first`` takes it
        if score == score:  # a missing score is skipped, as pandas' sum and mean skip it
            self.scores.append(score)
        self.counts[stance] += 1
        self.keys.add(key)


def _strength_order(score: float) -> float:
    """Sort key for "strongest first": minus the score's size; a missing score last, as pandas sorts NaN."""
    return -abs(score) if score == score else float("inf")


def bootstrap_interval(values: np.ndarray, samples: int = BOOTSTRAP_SAMPLES,
                       seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean (seeded: the same input gives the same interval)."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return float("nan"), float("nan")
    if len(values) == 1:
        return float(values[0]), float(values[0])
    rng = np.random.default_rng(seed)
    # All resamples at once while small; in blocks of BOOTSTRAP_BLOCK draws past that, so that a nation
    # quoted in 100,000 articles needs megabytes, not gigabytes. The generator gives the same draws in
    # blocks as in one call, so the interval does not depend on the block size (tested).
    rows = max(1, BOOTSTRAP_BLOCK // len(values))
    means = np.concatenate([values[rng.integers(0, len(values), size=(min(rows, samples - done), len(values)))].mean(axis=1)
                            for done in range(0, samples, rows)])
    low, high = np.percentile(means, [2.5, 97.5])
    return round(float(low), 4), round(float(high), 4)


NATION_EVIDENCE_CELLS = 3


def strongest_cells(article_table: pd.DataFrame) -> pd.DataFrame:
    """The cells whose evidence a nation's row quotes: per nation, the ``NATION_EVIDENCE_CELLS`` cells
    with the largest absolute score (the smaller article id first on ties)."""
    ranked = article_table.assign(strength=article_table["score"].abs()).sort_values(
        ["nation", "strength", "article"], ascending=[True, False, True], kind="stable")
    return ranked.groupby("nation", sort=False).head(NATION_EVIDENCE_CELLS)


def nation_evidence(cells: pd.DataFrame) -> str:
    """A nation's evidence in ``by_nation``: the first sentence of each of its ``strongest_cells``, with
    the article, " | "-joined. In: that nation's rows of ``by_article``'s table."""
    return " | ".join(f"[{row.article}] {row.evidence.split(' | ')[0]}" for row in strongest_cells(cells).itertuples())


def by_nation(article_table: pd.DataFrame, names: dict[str, str] | None = None,
              claims: pd.DataFrame | None = None, duplicates: set[str] | None = None,
              statements: dict[str, int] | None = None) -> pd.DataFrame:
    """Stance per nation from ``by_article``'s table: mean article score with a bootstrap interval.

    With ``claims`` (scored), ``n_statements`` counts distinct statements across articles (the same
    quotation reported by several stories counts once); without, it sums the per-article counts.
    ``statements`` ({nation: distinct statements}, counted elsewhere, e.g. by a streamed run) replaces both.
    """
    names = names or {}
    statements = dict(statements) if statements is not None else {}
    if claims is not None and not statements:
        votes = voting_claims(claims, duplicates)
        statements = {nation: len(set(statement_keys(group)))
                      for nation, group in votes.groupby("nation")}
    rows = []
    for nation, group in article_table.groupby("nation", sort=True):
        counts = group["stance"].value_counts()
        rows.append(nation_row(
            nation, names.get(nation, group["name"].iloc[0]), group["score"].to_numpy(dtype=float),
            n_oppose=int(counts.get("oppose", 0)), n_support=int(counts.get("support", 0)),
            n_neutral=int(counts.get("neutral", 0)), n_claims=int(group["n_claims"].sum()),
            n_statements=statements.get(nation, int(group["n_statements"].sum())), evidence=nation_evidence(group)))
    return nation_table_of(rows)


def nation_row(nation: str, name: str, scores: np.ndarray, n_oppose: int, n_support: int, n_neutral: int,
               n_claims: int, n_statements: int, evidence: str = "") -> dict:
    """One nation's row of ``by_nation``'s table (``NATION_TABLE_COLUMNS``) from its cells' numbers:
    ``scores``, its article-nation scores in article order (the bootstrap resamples them in that order),
    the counts of its cells by stance, its claims and distinct statements, and its evidence."""
    low, high = bootstrap_interval(scores)
    mean = float(scores.mean())
    return {"nation": nation, "name": name, "stance": net_stance(mean, n_oppose + n_support, n_neutral),
            "score": round(mean, 4), "ci_low": low, "ci_high": high, "n_articles": len(scores),
            "n_claims": n_claims, "n_statements": n_statements, "n_oppose": n_oppose, "n_support": n_support,
            "n_neutral": n_neutral, "evidence": evidence}


def nation_table_of(rows: list[dict]) -> pd.DataFrame:
    """``nation_row`` rows as ``by_nation``'s table: sorted by score, then nation."""
    table = pd.DataFrame(rows, columns=NATION_TABLE_COLUMNS)
    return table.sort_values(["score", "nation"], kind="stable").reset_index(drop=True)
