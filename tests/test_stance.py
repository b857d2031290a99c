"""Stance is not sentiment: cue frames, critics of critics, acts, abstention, negation; tone offline."""

from __future__ import annotations

import pandas as pd
import pytest

from hkpolicy.stance import score_stance, stance_rules, tone, tone_analyzer, vader_analyzer


def rule_stance(sentence: str, speech: str = "indirect") -> str:
    return stance_rules().score(sentence, speech)[0]


@pytest.mark.parametrize("sentence", [
    "China's foreign ministry called the sanctions gross interference in China's internal affairs.",
    "Beijing firmly opposes the move and urged Washington to stop meddling in Hong Kong affairs.",
    "No foreign country has the right to interfere in Hong Kong affairs, the spokesman said.",
    "China rejected the criticism, saying the law was purely an internal matter.",
    "Beijing has dismissed criticism of the law.",
    "The law will restore stability and safeguard national security in Hong Kong.",
    "She said the law would plug a loophole and had no impact on Hong Kong's high degree of autonomy.",
    "It would fill a \"gaping hole\" and not undermine Hong Kong's autonomy or its independent judiciary.",
    "The HKSAR Government welcomes the passage of the National Security Law by the NPCSC today.",
])
def test_critics_of_critics_and_defences_are_support(sentence):
    assert rule_stance(sentence) == "support"


@pytest.mark.parametrize("sentence", [
    "Canada suspended its extradition treaty with Hong Kong.",
    "Britain offered a path to citizenship to nearly three million BN(O) passport holders.",
    "The US will impose visa restrictions on Chinese officials over the law.",
    "Australia banned exports of defence equipment to Hong Kong.",
    "Japan called the law \"regrettable\".",
    "\"We deplore this decision,\" the EU said.",
    "The UK said it was deeply concerned by the law.",
    "The law is a clear and serious breach of the Sino-British Joint Declaration.",
    "The statement said the law undermines the one country, two systems framework.",
    "UK Foreign Secretary Dominic Raab urged China to \"step back from the brink\".",
])
def test_acts_and_criticism_are_oppose(sentence):
    assert rule_stance(sentence) == "oppose"


@pytest.mark.parametrize("sentence, speech", [
    ("New Zealand, the other country of the Five Eyes security alliance, did not join the statement.", "non_act"),
    ("India signed neither statement.", "non_act"),
    ("It is not for us to comment on the internal affairs of other countries, the ministry said.", "indirect"),
    ("Singapore said it was following developments closely.", "indirect"),
    ("Seoul hopes the relevant parties can resolve the matter through dialogue.", "indirect"),
])
def test_explicit_abstention_is_neutral(sentence, speech):
    assert rule_stance(sentence, speech) == "neutral"


def test_negation_flips_a_cue():
    assert rule_stance("The minister said the law does not undermine the city's autonomy.") == "support"
    assert rule_stance("The minister said the law undermines the city's autonomy.") == "oppose"


def test_cues_say_what_decided():
    stance, score, cues = stance_rules().score("China firmly opposes the sanctions imposed by Washington.")
    assert stance == "support" and score > 0
    assert "sanction" in cues and "critic" in cues


def test_tone_is_offline_vader_and_differs_from_stance():
    analyzer = tone_analyzer()
    assert len(analyzer.lexicon) > 7000  # the vaderSentiment lexicon, read from the package, no download
    sentence = "China's foreign ministry called the sanctions gross interference in China's internal affairs."
    assert tone([sentence])[0] < -0.05      # negative tone ...
    assert rule_stance(sentence) == "support"  # ... supporting the law


def test_quick_tone_equals_nltk_vader_on_every_sentence(articles):
    """The pipeline's VADER (words split from punctuation directly) scores exactly as nltk's does."""
    from hkpolicy.text import sentence_spans

    quick, stock = tone_analyzer(), vader_analyzer()
    sentences = [text[start:end] for text in articles["text"] for start, end in sentence_spans(text)]
    sentences += ["GREAT!!! but... it's BAD?!?", "'bad' \"good\" ,nice. :) :( ;-) -- !?!?! kind of good",
                  "Not bad, not bad at all!!", "\"Gross interference\", he said.", "", "a b c", "U.S.-led.", "??good??",
                  "'tis good'", "good!?!? bad!!!! .bad ..bad -bad- \"\"bad\"\"",
                  "“good” — ‘bad’, «nice» (great) [awful] good’s bad… ¡bueno! x,y good,bad"]
    for sentence in sentences:
        assert quick.polarity_scores(sentence) == stock.polarity_scores(sentence), sentence


def test_score_stance_columns_and_off_target_does_not_vote():
    claims = pd.DataFrame({
        "article": ["a", "a"], "sentence_id": [0, 1], "start": [0, 50], "end": [49, 120], "date": ["", ""],
        "nation": ["GBR", "GBR"], "actor": ["the UK", "the UK"], "actor_kind": ["metonym", "metonym"],
        "speech": ["act", "act"], "quote": ["", ""], "target_terms": ["", ""],
        "text": ["The UK suspended its extradition treaty with Hong Kong.",
                 "The UK banned Huawei from its 5G networks."], "on_target": [True, False]})
    scored = score_stance(claims, method="rules")
    assert scored["stance"].tolist() == ["oppose", ""]
    assert scored["score"].iloc[0] < 0 and scored["score"].iloc[1] == 0
    assert {"stance", "score", "cues", "tone", "method"} <= set(scored.columns)


def test_scored_corpus_sentiment_vs_stance(study_out):
    from hkpolicy.io import read_table

    claims = read_table(study_out / "claims.csv")
    china = claims[(claims["nation"] == "CHN") & (claims["stance"] == "support")]
    assert (china["tone"] < 0).any(), "some of China's support is voiced in negative tone"
    assert claims["score"].between(-1, 1).all()
