"""The whole study: tables, evaluation against gold, the trained model, engines, notebooks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import nbformat
import numpy as np
import pandas as pd
import pytest

from hkpolicy.evaluate import compare, naive_vader_by_article, scores
from hkpolicy.io import read_table
from hkpolicy.tables import ARTICLE_TABLE_COLUMNS, NATION_TABLE_COLUMNS, bootstrap_interval

from .conftest import LONDON, RAW, ROOT

GOLD = ROOT / "data" / "gold"


def gold_table(name: str) -> pd.DataFrame:
    return pd.read_csv(GOLD / name, dtype=str, keep_default_na=False)


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------


def test_tables_have_documented_columns_and_evidence(study_out, articles):
    by_article = read_table(study_out / "stance_by_article.csv")
    by_nation = read_table(study_out / "stance_by_nation.csv")
    assert list(by_article.columns) == ARTICLE_TABLE_COLUMNS
    assert list(by_nation.columns) == NATION_TABLE_COLUMNS
    texts = articles.set_index("article")["text"]
    # Every cell traces back to its sentences: the offsets point at the evidence in the clean text.
    for row in by_article.itertuples():
        first = row.evidence_offsets.split(";")[0]
        start, end = map(int, first.split("-"))
        assert texts[row.article][start:end].strip() == row.evidence.split(" | ")[0]


def test_seed_table_is_right(study_out):
    by_article = read_table(study_out / "stance_by_article.csv")
    london = by_article[by_article["article"] == LONDON].set_index("nation")["stance"].to_dict()
    assert london == {"USA": "oppose", "GBR": "oppose", "AUS": "oppose", "CAN": "oppose", "CHN": "support",
                      "EUU": "neutral", "NZL": "neutral"}


def test_mentioned_only_nations_get_no_row(study_out):
    by_article = read_table(study_out / "stance_by_article.csv")
    # Japan is only mentioned in the London page ("in dialogue with US, UK, Australia and Japan").
    assert "JPN" not in set(by_article.loc[by_article["article"] == LONDON, "nation"])


def test_nation_summary_interval_is_seeded_and_contains_the_score(study_out):
    by_nation = read_table(study_out / "stance_by_nation.csv")
    for row in by_nation.itertuples():
        assert row.ci_low - 1e-9 <= row.score <= row.ci_high + 1e-9
    values = np.array([-1.0, -0.5, -1.0, 0.2])
    assert bootstrap_interval(values) == bootstrap_interval(values)
    china = by_nation.set_index("nation").loc["CHN"]
    assert china["stance"] == "support" and china["score"] > 0.5
    assert by_nation.set_index("nation").loc["GBR", "stance"] == "oppose"


# ---------------------------------------------------------------------------------------------
# Evaluation against gold, and the naive baseline
# ---------------------------------------------------------------------------------------------


def test_evaluation_on_gold_beats_naive_vader(study_out):
    ours = read_table(study_out / "stance_by_article.csv")
    articles = read_table(study_out / "articles.csv")
    for name in ("seeds_stance_by_article.csv", "real_stance_by_article.csv"):
        gold = gold_table(name)
        result = scores(compare(ours, gold))
        naive = scores(compare(naive_vader_by_article(articles), gold))
        assert result["accuracy"] >= 0.85, (name, result["accuracy"])
        assert result["macro_f1"] > naive["macro_f1"] + 0.3, name


def test_compare_counts_missing_and_spurious_rows():
    gold = pd.DataFrame({"article": ["a.txt", "a.txt"], "nation": ["USA", "CHN"], "stance": ["oppose", "support"]})
    predicted = pd.DataFrame({"article": ["x/a.txt", "x/a.txt"], "nation": ["USA", "JPN"],
                              "stance": ["oppose", "oppose"], "evidence": ["e1", "e2"]})
    comparison = compare(predicted, gold)
    assert len(comparison) == 3
    assert comparison.set_index("nation")["predicted"].to_dict() == {"CHN": "none", "JPN": "oppose", "USA": "oppose"}
    assert scores(comparison)["accuracy"] == pytest.approx(1 / 3)


def test_cli_evaluate_prints_the_report(study_out):
    result = subprocess.run([sys.executable, "-m", "hkpolicy.cli", "evaluate", str(study_out), "--gold",
                             str(GOLD / "seeds_stance_by_article.csv"), "--baseline"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "accuracy" in result.stdout and "macro-F1" in result.stdout and "naive VADER baseline" in result.stdout
    assert "gold oppose" in result.stdout


# ---------------------------------------------------------------------------------------------
# The trained model: readable JSON, the same predictions as the fitted Pipeline
# ---------------------------------------------------------------------------------------------


def test_model_json_reproduces_the_pipeline(tmp_path):
    from hkpolicy.model import (LinearStanceModel, build_pipeline, claim_features, load_annotations,
                                pipeline_to_json)

    annotations = load_annotations(ROOT / "data" / "annotations" / "claims_gold.csv")
    features = claim_features(annotations)
    pipeline = build_pipeline().fit(features, annotations["stance"])
    params = pipeline_to_json(pipeline, {})
    path = tmp_path / "model.json"
    path.write_text(json.dumps(params))
    model = LinearStanceModel(json.loads(path.read_text()))
    assert model.predict(features) == list(pipeline.predict(features))
    assert np.allclose(model.predict_proba(features), pipeline.predict_proba(features), atol=1e-4)


def test_packaged_model_has_its_evaluation():
    from hkpolicy.model import model_metadata

    metadata = model_metadata()
    assert metadata["default_method"] in {"rules", "model", "rules+model"}
    methods = {row["method"] for row in metadata["cross_validation"]}
    assert methods == {"rules", "model", "rules+model"}
    assert metadata["trained_on"]["n_articles"] >= 12  # articles with at least one state claim


def test_annotations_are_found_in_their_articles(articles):
    annotations = pd.read_csv(ROOT / "data" / "annotations" / "claims_gold.csv", dtype=str, keep_default_na=False)
    raw_texts = {}
    for row in annotations.itertuples():
        assert row.stance in {"oppose", "support", "neutral", "none"}
        if row.article not in raw_texts:
            path, _, record = row.article.partition("#")
            if record:
                raw_texts[row.article] = pd.read_csv(RAW / path)["article"].iloc[0]
            else:
                raw_texts[row.article] = (RAW / path).read_text(encoding="utf-8")
        assert row.sentence in raw_texts[row.article]


# ---------------------------------------------------------------------------------------------
# Engines: the same tables whatever runs them
# ---------------------------------------------------------------------------------------------


def test_batches_and_engines_give_identical_tables(articles, study_out):
    from hkpolicy.engine import map_batches
    from hkpolicy.pipeline import analyse_articles, build_tables

    subset = articles[["article", "date", "text"]]
    single = map_batches(analyse_articles, subset, batch_size=len(subset), workers=1, progress=False)
    many = map_batches(analyse_articles, subset, batch_size=3, workers=2, progress=False)
    dask = map_batches(analyse_articles, subset, batch_size=4, engine="dask", scheduler="synchronous", progress=False)
    tables = []
    for result in (single, many, dask):
        claims = pd.concat([claims for claims, _ in result], ignore_index=True)
        tables.append(build_tables(claims)["stance_by_article"])
    pd.testing.assert_frame_equal(tables[0], tables[1])
    pd.testing.assert_frame_equal(tables[0], tables[2])
    written = read_table(study_out / "stance_by_article.csv")
    assert list(written["stance"]) == list(tables[0]["stance"])


# ---------------------------------------------------------------------------------------------
# Notebooks: paired, stripped, and they run headless on the shipped corpus
# ---------------------------------------------------------------------------------------------

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_notebooks_are_paired_and_stripped():
    import jupytext

    assert [path.stem for path in NOTEBOOKS] == ["01_ingest_articles", "02_find_actors_and_claims",
                                                 "03_score_stance", "04_stance_tables", "05_compare_nations",
                                                 "06_evaluate"]
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        assert notebook.cells[0].cell_type == "markdown" and "What it shows" in notebook.cells[0].source
        assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
        paired = jupytext.read(path.with_suffix(".py"))
        assert [c.source for c in paired.cells] == [c.source for c in notebook.cells], path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_executes(path, study_out, tmp_path):
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    env = {"HKPOLICY_OUT": str(study_out), "HKPOLICY_FIGURES": str(tmp_path / "figures")}
    old = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        NotebookClient(notebook, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    errors = [output for cell in notebook.cells for output in cell.get("outputs", []) if output.output_type == "error"]
    assert not errors
    if path.stem == "05_compare_nations":
        assert sorted(p.name for p in (tmp_path / "figures").glob("*.svg")) == [
            "coalitions.svg", "net_stance.svg", "stance_heatmap.svg", "timeline.svg", "tone_vs_stance.svg"]


def test_the_same_quote_in_two_articles_is_one_statement():
    from hkpolicy.tables import by_article, by_nation

    quote = "We deplore this decision"
    claims = pd.DataFrame({
        "article": ["a", "b", "b"], "sentence_id": [0, 3, 4], "start": [0, 10, 80], "end": [40, 60, 120],
        "date": ["2020-06-30"] * 3, "nation": ["EUU"] * 3, "actor": ["Charles Michel"] * 3,
        "actor_kind": ["head"] * 3, "speech": ["direct"] * 3,
        "text": [f'"{quote}," Michel said.', f'"{quote}," the EU chief said.', "The EU said it deplored the law."],
        "quote": [quote, quote, ""], "on_target": [True] * 3, "stance": ["oppose"] * 3,
        "score": [-1.0] * 3})
    cells = by_article(claims)
    assert cells["n_statements"].tolist() == [1, 2]
    nation = by_nation(cells, claims=claims)
    assert nation["n_statements"].tolist() == [2] and nation["n_claims"].tolist() == [3]


def _by_article_grouped(claims: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """``tables.by_article`` as pandas' grouped aggregations write it (the implementation it replaced)."""
    from hkpolicy.tables import EVIDENCE_SENTENCES, net_stance, statement_keys, voting_claims

    votes = voting_claims(claims).copy()
    votes["key"] = statement_keys(votes)
    for label in ("oppose", "support", "neutral"):
        votes[f"n_{label}"] = (votes["stance"] == label).astype(int)
    cells = votes.groupby(["article", "nation"], sort=True).agg(
        date=("date", "first"), total=("score", "sum"), score=("score", "mean"), n_claims=("score", "size"),
        n_oppose=("n_oppose", "sum"), n_support=("n_support", "sum"), n_neutral=("n_neutral", "sum"),
        n_statements=("key", "nunique")).reset_index()
    cells["stance"] = [net_stance(t, o + s, n) for t, o, s, n
                       in zip(cells["total"], cells["n_oppose"], cells["n_support"], cells["n_neutral"])]
    ranked = votes.merge(cells[["article", "nation", "stance"]].rename(columns={"stance": "cell"}),
                         on=["article", "nation"])
    ranked = ranked[ranked["stance"] == ranked["cell"]]
    ranked = ranked.assign(strength=ranked["score"].abs()).sort_values(
        ["article", "nation", "strength", "sentence_id"], ascending=[True, True, False, True], kind="stable")
    top = ranked.groupby(["article", "nation"], sort=False).head(EVIDENCE_SENTENCES)
    evidence = top.groupby(["article", "nation"], sort=False).agg(
        evidence=("text", lambda texts: " | ".join(text.strip() for text in texts)),
        evidence_offsets=("start", lambda starts: ";".join(
            f"{start}-{end}" for start, end in zip(starts, top.loc[starts.index, "end"])))).reset_index()
    cells = cells.merge(evidence, on=["article", "nation"], how="left")
    cells["name"] = [names.get(nation, nation) for nation in cells["nation"]]
    cells["score"] = cells["score"].round(4)
    return cells[ARTICLE_TABLE_COLUMNS].fillna({"evidence": "", "evidence_offsets": ""})


def test_by_article_matches_pandas_grouped_aggregations_and_each_cell_depends_on_its_claims_alone(articles):
    """The one-pass ``by_article`` against pandas' grouped version (what it replaced) on the shipped
    corpus's scored claims, on the same claims with other scores, with missing scores, and in small
    pieces: the same table, except that a mean may differ in its fourth decimal where pandas' inexact
    sum rounds it the other way. And each article's rows are the same when it is tabulated alone; a
    cell's numbers depend on its own claims only, which pandas' sums did not guarantee: shown on a cell
    whose mean they round to -0.4055 alone and to -0.4054 beside another nation's claim."""
    import random

    from hkpolicy.actors import nation_names
    from hkpolicy.pipeline import analyse_articles
    from hkpolicy.tables import by_article

    names = nation_names()
    claims, _ = analyse_articles(articles[["article", "date", "text"]])
    rng = random.Random(3)
    other = claims.assign(score=[rng.randint(-99999, 99999) / 100000 for _ in range(len(claims))])
    missing = other.assign(score=other["score"].where(np.arange(len(other)) % 7 != 0))
    for case in (claims, other, missing, claims.iloc[:40], claims.iloc[40:41]):
        expected, table = _by_article_grouped(case, names), by_article(case, names=names)
        assert len(expected) > 0
        pd.testing.assert_frame_equal(table.drop(columns="score"), expected.drop(columns="score"), check_exact=True)
        gap = (table["score"] - expected["score"]).abs().fillna(0)
        assert gap.max() <= 1.00001e-4 and (gap > 0).mean() < 0.01
        for article, rows in table.groupby("article", sort=False):  # alone, the same rows
            alone = by_article(case[case["article"] == article], names=names)
            pd.testing.assert_frame_equal(alone, rows.reset_index(drop=True), check_exact=True)
    assert by_article(claims.iloc[:0]).columns.tolist() == ARTICLE_TABLE_COLUMNS

    # Four scores whose exact sum, correctly rounded, is -1.6218000000000001 (mean -0.40545000000000003).
    scores_ = [-1.0, -1.0, -0.2271, 0.6053]
    cell = pd.DataFrame({"article": ["a"] * 4, "sentence_id": range(4), "start": range(4), "end": range(1, 5),
                         "date": [""] * 4, "nation": ["USA"] * 4, "text": list("wxyz"), "quote": [""] * 4,
                         "on_target": [True] * 4, "stance": ["oppose"] * 3 + ["support"], "score": scores_})
    # The same article with one more sentence, about another nation (it sorts first: GBR).
    beside = pd.concat([cell, cell.iloc[:1].assign(sentence_id=4, nation="GBR", score=0.5, stance="support")])
    assert _by_article_grouped(cell, names)["score"].tolist() == [-0.4055]
    assert _by_article_grouped(beside, names)["score"].tolist() == [0.5, -0.4054]
    assert by_article(cell, names=names)["score"].tolist() == [-0.4055]
    assert by_article(beside, names=names)["score"].tolist() == [0.5, -0.4055]
    # Added up in the reverse order, plain addition gives -1.6218 (mean rounded -0.4054); the exact sum not.
    assert round(sum(scores_[::-1]) / 4, 4) == -0.4054
    assert by_article(cell.iloc[::-1], names=names)["score"].tolist() == [-0.4055]


def test_bootstrap_interval_of_a_large_nation_is_drawn_in_blocks_and_sensible(monkeypatch):
    """100,000 article scores: resampled in blocks (bounded memory), seeded, around the mean; the block
    size changes the memory, not the interval (the same draws, in pieces)."""
    import numpy as np

    from hkpolicy import tables
    from hkpolicy.tables import BOOTSTRAP_BLOCK, bootstrap_interval

    values = np.random.default_rng(5).normal(0.2, 1.0, size=100_000)
    assert values.size * 2000 > BOOTSTRAP_BLOCK  # the blocked path
    low, high = bootstrap_interval(values)
    assert low < values.mean() < high
    assert abs((high - low) - 2 * 1.96 / np.sqrt(values.size)) < 0.002
    assert bootstrap_interval(values) == (low, high)
    some = values[:3_001]  # 166 resamples a block by default
    expected = bootstrap_interval(some)
    for block in (3_001 * 7, 3_001 * 2_000, 3_001 * 2_000 + 1):  # 7 per block; one block
        monkeypatch.setattr(tables, "BOOTSTRAP_BLOCK", block)
        assert bootstrap_interval(some) == expected
