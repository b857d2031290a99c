"""An article from none of the development outlets: a wire story in the style of a Geneva report on the
two rival statements at the UN Human Rights Council (53 countries for the law, 27 against), with
abstentions, a retaliation frame and an analyst. Not used for writing any rule; it checks that the
mechanisms carry over: statements on behalf of listed countries, a second statement replacing the first
for "the statement said", abstention covering what it abstains on, possessive ministries, surname-first
Chinese names, and an analyst who is not the state."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hkpolicy.pipeline import run_study

ARTICLE = Path(__file__).parent / "data" / "wire_unhrc_two_statements.txt"


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("unseen")
    (corpus / ARTICLE.name).write_bytes(ARTICLE.read_bytes())
    out = tmp_path_factory.mktemp("unseen_out")
    run_study(corpus, out, progress=False, workers=1)
    return {name: pd.read_csv(out / f"{name}.csv", keep_default_na=False)
            for name in ("claims", "voices", "stance_by_article")}


def test_every_nation_gets_its_position(tables):
    cells = tables["stance_by_article"].set_index("nation")["stance"].to_dict()
    assert cells == {
        "CUB": "support", "PAK": "support", "EGY": "support", "VEN": "support",  # on behalf of 53
        "GBR": "oppose", "JPN": "oppose", "FRA": "oppose", "DEU": "oppose", "AUS": "oppose",  # the 27
        "RUS": "support", "CHN": "support", "CAN": "oppose",
        "IND": "neutral", "SGP": "neutral",
    }


def test_the_statement_said_means_the_latest_statement(tables):
    claims = tables["claims"]
    said = claims[claims["text"].str.contains("the statement said", regex=False)]
    assert set(said["nation"]) == {"GBR", "JPN", "FRA", "DEU", "AUS"}


def test_analyst_and_his_he_said_are_not_states(tables):
    claims, voices = tables["claims"], tables["voices"]
    assert claims[claims["text"].str.contains("diplomatic victory", regex=False)].empty
    assert "Steve Tsang" in set(voices["actor"])


def test_the_target_of_criticism_is_not_a_speaker(tables):
    claims = tables["claims"]
    lead = claims[claims["text"].str.contains("Fifty-three countries backed", regex=False)]
    assert lead.empty  # "backed China's law ... urged Beijing": China does not speak there


SECOND = Path(__file__).parent / "data" / "herald_sanctions_retaliation.md"


def test_sanctions_retaliation_and_abstention_in_another_outlet(tmp_path):
    """A Markdown article (front matter) on the August 2020 sanctions round: acts without harsh words,
    retaliation as support, the Kremlin declining to comment, an NGO kept apart."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / SECOND.name).write_bytes(SECOND.read_bytes())
    run_study(corpus, tmp_path / "out", progress=False, workers=1)
    cells = pd.read_csv(tmp_path / "out" / "stance_by_article.csv", keep_default_na=False)
    assert cells.set_index("nation")["stance"].to_dict() == {
        "USA": "oppose", "CHN": "support", "DEU": "oppose", "EUU": "oppose", "HKG": "support",
        "TWN": "oppose", "RUS": "neutral"}
    claims = pd.read_csv(tmp_path / "out" / "claims.csv", keep_default_na=False)
    retaliation = claims[claims["text"].str.contains("Beijing retaliated", regex=False)]
    assert retaliation["nation"].tolist() == ["CHN"]  # the sanctioned senators do not speak
    voices = pd.read_csv(tmp_path / "out" / "voices.csv", keep_default_na=False)
    assert "Amnesty International" in set(voices["actor"])
    assert claims[claims["text"].str.contains("Amnesty", regex=False)].empty
