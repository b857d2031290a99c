"""Shared fixtures: the shipped corpus and its articles, read once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"
SEEDS = RAW / "seeds"
LONDON = "seeds/london_daily_four_nation_statement.txt"
BLOOMBERG = "seeds/bloomberg_pompeo_raab_coalition.txt"


@pytest.fixture(scope="session")
def corpus():
    """(articles, manifest) of the shipped corpus."""
    from hkpolicy.ingest import read_corpus

    return read_corpus(RAW)


@pytest.fixture(scope="session")
def articles(corpus):
    return corpus[0]


@pytest.fixture(scope="session")
def article_text(articles):
    def text_of(article_id: str) -> str:
        return articles.loc[articles["article"] == article_id, "text"].iloc[0]

    return text_of


@pytest.fixture(scope="session")
def study_out(tmp_path_factory):
    """The whole study run once on the shipped corpus, into a temporary folder."""
    from hkpolicy.pipeline import run_study

    out = tmp_path_factory.mktemp("study")
    run_study(RAW, out, progress=False, workers=1)
    return out
