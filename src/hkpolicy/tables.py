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

import re

import numpy as np
import pandas as pd

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
    """Stance per (article, nation) from scored claims (``stance.score_stance`` output)."""
    names = names or {}
    votes = voting_claims(claims, duplicates).copy()
    if votes.empty:
        return pd.DataFrame(columns=ARTICLE_TABLE_COLUMNS)
    if "date" not in votes:
        votes["date"] = ""
    votes["key"] = statement_keys(votes)
    for label in ("oppose", "support", "neutral"):
        votes[f"n_{label}"] = (votes["stance"] == label).astype(int)
    cells = votes.groupby(["article", "nation"], sort=True).agg(
        date=("date", "first"), total=("score", "sum"), score=("score", "mean"), n_claims=("score", "size"),
        n_oppose=("n_oppose", "sum"), n_support=("n_support", "sum"), n_neutral=("n_neutral", "sum"),
        n_statements=("key", "nunique")).reset_index()
    cells["stance"] = [net_stance(total, oppose + support, neutral) for total, oppose, support, neutral
                       in zip(cells["total"], cells["n_oppose"], cells["n_support"], cells["n_neutral"])]
    # Evidence: the claims that agree with the cell's stance, strongest first, in text order on ties.
    ranked = votes.merge(cells[["article", "nation", "stance"]].rename(columns={"stance": "cell"}),
                         on=["article", "nation"])
    ranked = ranked[(ranked["stance"] == ranked["cell"]) | (ranked["cell"] == "")]
    ranked = ranked.assign(strength=ranked["score"].abs()).sort_values(
        ["article", "nation", "strength", "sentence_id"], ascending=[True, True, False, True], kind="stable")
    top = ranked.groupby(["article", "nation"], sort=False).head(EVIDENCE_SENTENCES)
    # Joined in one pass over the ranked rows (a cell's rows are consecutive): pandas' string
    # aggregation runs Python per group and was a third of this function's time.
    joined: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    for article, nation, start, end, text in zip(top["article"].tolist(), top["nation"].tolist(),
                                                 top["start"].tolist(), top["end"].tolist(), top["text"].tolist()):
        sentences, offsets = joined.setdefault((article, nation), ([], []))
        sentences.append(text.strip())
        offsets.append(f"{start}-{end}")
    evidence = pd.DataFrame([(article, nation, " | ".join(sentences), ";".join(offsets))
                             for (article, nation), (sentences, offsets) in joined.items()],
                            columns=["article", "nation", "evidence", "evidence_offsets"])
    cells = cells.merge(evidence, on=["article", "nation"], how="left")
    cells["name"] = [names.get(nation, nation) for nation in cells["nation"]]
    cells["score"] = cells["score"].round(4)
    table = cells[ARTICLE_TABLE_COLUMNS].fillna({"evidence": "", "evidence_offsets": ""})
    return table.sort_values(["article", "nation"], kind="stable").reset_index(drop=True)


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
