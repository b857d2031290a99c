"""Actors and claims on real sentences: who speaks for which nation, and who does not."""

from __future__ import annotations

import pandas as pd
import pytest

from hkpolicy.actors import actor_dictionary, find_actors
from hkpolicy.claims import extract_claims, extract_voices
from hkpolicy.text import sentence_spans, sentences

from .conftest import BLOOMBERG, LONDON


def claims_of(text: str, date: str = "2020-07-01", article: str = "t") -> pd.DataFrame:
    return extract_claims(pd.DataFrame({"article": [article], "text": [text], "date": [date]}))


def nations_of(text: str, date: str = "2020-07-01") -> set[str]:
    return set(claims_of(text, date)["nation"])


@pytest.fixture(scope="module")
def corpus_claims(articles):
    return extract_claims(articles)


def claim_rows(corpus_claims, article, fragment):
    rows = corpus_claims[(corpus_claims["article"] == article) & corpus_claims["text"].str.contains(fragment, regex=False)]
    return rows


# ---------------------------------------------------------------------------------------------
# Sentences
# ---------------------------------------------------------------------------------------------


def test_sentences_respect_abbreviations():
    text = ("The U.S. and the U.K. met on Jan. 5 with Mr. Raab in London. He said the law was a breach. "
            "Sen. Marco Rubio (R-Fla.) agreed.")
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == [
        "The U.S. and the U.K. met on Jan. 5 with Mr. Raab in London.", "He said the law was a breach.",
        "Sen. Marco Rubio (R-Fla.) agreed."]


def _ugly_paragraphs(count: int, seed: int = 1) -> list[str]:
    """Short random strings of what tells Punkt's engines apart: control and format characters,
    combining marks, odd spaces and digits, curly quotes, abbreviations, ellipses."""
    import random

    pieces = list("abcXYZ .,;:!?\"'()[]{}-–—…1234567890\t") + [
        "Mr.", "U.S.", "e.g.", "\u0301", "\u00a0", "\u2019", "\u201c", "\u201d", "\x1c", "\x1f", "\u2028",
        "\u200b", "\u180e", "\u3000", "é", "İ", "ß", "\u0663", "_", "\u203f", "\u200d", "...", "--", "  "]
    rng = random.Random(seed)
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 40))) for _ in range(count)]


def test_sentences_are_nltk_punkts_own(articles):
    # The tokenizer runs Punkt's patterns without nltk's ReDoS wrapper; the spans must be what nltk's
    # own Punkt gives with the same parameters, on the corpus and on strings built to tell engines apart
    # (the stdlib ``re`` differs from nltk's ``regex`` on about one in twenty of these).
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    from hkpolicy.text import sentence_tokenizer

    ours = sentence_tokenizer()
    nltks = PunktSentenceTokenizer(ours._params)
    assert type(ours._lang_vars) is not type(nltks._lang_vars)  # the unguarded classes are in use
    paragraphs = [p for text in articles["text"] for p in text.split("\n") if p.strip()]
    paragraphs += _ugly_paragraphs(5000)
    assert len(paragraphs) > 5100
    differing = [p for p in paragraphs if list(ours.span_tokenize(p)) != list(nltks.span_tokenize(p))]
    assert differing == []
    # Sentences are found at all: a boundary inside most corpus paragraphs of some length.
    assert sum(len(list(ours.span_tokenize(p))) > 1 for p in paragraphs[:300] if len(p) > 300) > 20


def test_sentences_offsets_point_into_the_text(articles):
    table = sentences(articles)
    for row in table.sample(40, random_state=0).itertuples():
        text = articles.set_index("article").loc[row.article, "text"]
        assert text[row.start:row.end] == row.text


# ---------------------------------------------------------------------------------------------
# Actors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("phrase, nation", [
    ("Britain", "GBR"), ("the U.K.", "GBR"), ("the U.S.", "USA"), ("America", "USA"), ("Russia", "RUS"),
    ("North Korea", "PRK"), ("the Democratic People's Republic of Korea", "PRK"), ("Ivory Coast", "CIV"),
    ("Laos", "LAO"), ("Syria", "SYR"), ("Iran", "IRN"), ("Palestine", "PSE"), ("Taiwan", "TWN"),
    ("the European Union", "EUU"), ("Guinea-Bissau", "GNB"), ("Equatorial Guinea", "GNQ"),
    ("Papua New Guinea", "PNG"), ("Guinea", "GIN"), ("Nigeria", "NGA"), ("Niger", "NER"), ("South Sudan", "SSD"),
    ("Sudan", "SDN"), ("the Dominican Republic", "DOM"), ("Dominica", "DMA"), ("Turkey", "TUR"),
])
def test_country_names_resolve(phrase, nation):
    hits = actor_dictionary().hits(f"Officials from {phrase} spoke.")
    nations = {entry.nation for hit in hits for entry in hit.entries if entry.source == "country"}
    assert nations == {nation}


@pytest.mark.parametrize("sentence", [
    "The Washington Post reported the decision on Tuesday.",
    "China Daily said the law was needed.",
    "The New York Times spoke to residents.",
    "Protests spread to Atlanta, Georgia, on Friday.",
    "Chad Bown, a trade economist at the Peterson Institute, spoke about tariffs.",
    "Michael Jordan said nothing about it.",
    "Let us say it plainly.",
])
def test_traps_are_not_states(sentence):
    assert nations_of(sentence + " He said the national security law was wrong.") == set()


@pytest.mark.parametrize("sentence, nation, kind", [
    ("Chinese foreign ministry spokesman Zhao Lijian said the law was necessary.", "CHN", "minister"),
    ("Japan's foreign minister said the law was regrettable.", "JPN", "minister"),
    ("The State Department said the law was a mistake.", "USA", "minister"),
    ("Downing Street said the law was a serious breach.", "GBR", "metonym"),
    ("The Kremlin said the law was China's internal affair.", "RUS", "metonym"),
    ("Hong Kong police said they had arrested ten people under the national security law.", "HKG", "government"),
    ("Australian Foreign Minister Marise Payne said Canberra was deeply concerned about the law.", "AUS", "minister"),
])
def test_state_actors_with_their_nation(sentence, nation, kind):
    claims = claims_of(sentence)
    assert nation in set(claims["nation"])
    assert claims.set_index("nation").loc[nation, "actor_kind"] in {kind, "metonym", "minister", "government", "head"}


def test_office_holders_resolve_by_article_date():
    # Jeremy Hunt was foreign secretary until July 2019; by 2020 "the foreign secretary" was Raab.
    assert nations_of("Raab said the law was a clear and serious breach of the Joint Declaration.") == {"GBR"}
    assert nations_of("Pompeo said the national security law was a death knell for Hong Kong.") == {"USA"}
    assert nations_of("Mr Raab told MPs the security law breached the Joint Declaration.", "2020-07-01") == {"GBR"}


def test_typo_of_an_official_surname_resolves():
    text = ("State Department spokeswoman Morgan Ortagus spoke on Thursday. "
            "Ortegus said the US obviously disagrees with the national security law.")
    claims = claims_of(text, "2020-05-28")
    assert set(claims[claims["sentence_id"] == 1]["nation"]) == {"USA"}


def test_find_actors_marks_non_state(articles):
    london = articles[articles["article"] == LONDON]
    mentions = find_actors(sentences(london), dates={LONDON: ""})
    scholar = mentions[mentions["actor"].str.contains("Columbia University")]
    assert not scholar.empty and not scholar["state"].any()


# ---------------------------------------------------------------------------------------------
# Claims: speech, acts, joint statements, carry-over
# ---------------------------------------------------------------------------------------------


def test_direct_quote_with_attribution_after(corpus_claims):
    rows = claim_rows(corpus_claims, BLOOMBERG, "We support those sovereign choices")
    assert rows["nation"].tolist() == ["USA"] and rows["speech"].tolist() == ["direct"]
    assert "We support those sovereign choices" in rows["quote"].iloc[0]


def test_indirect_speech(corpus_claims):
    rows = claim_rows(corpus_claims, "real/bbc_10.csv#bbc_10", "Japan called the law")
    assert "JPN" in set(rows["nation"])


def test_reported_act_without_speech(corpus_claims):
    rows = claim_rows(corpus_claims, "real/forbes_4.csv#forbes_4", "Authorities in Hong Kong made the first arrests")
    assert rows["nation"].tolist() == ["HKG"] and rows["speech"].iloc[0] == "act"


def test_reported_act_canada():
    claims = claims_of("Canada suspended its extradition treaty with Hong Kong over the national security law.")
    assert claims["nation"].tolist() == ["CAN"] and claims["speech"].tolist() == ["act"]


def test_joint_statement_signatories_named_by_their_ministers(corpus_claims):
    rows = claim_rows(corpus_claims, LONDON, "which was also signed by UK Foreign Secretary Dominic Raab")
    assert {"USA", "GBR", "AUS", "CAN"} <= set(rows["nation"])
    assert "CHN" not in set(rows["nation"])


def test_joint_statement_listed_nations_and_later_reference(corpus_claims):
    first = claim_rows(corpus_claims, LONDON, "The US, Britain, Australia and Canada call on China")
    assert set(first["nation"]) == {"USA", "GBR", "AUS", "CAN"}
    later = claim_rows(corpus_claims, LONDON, "The four foreign ministers said Thursday")
    assert set(later["nation"]) == {"USA", "GBR", "AUS", "CAN"}
    they = claim_rows(corpus_claims, LONDON, "It also raises the prospect of prosecution")
    assert set(they["nation"]) == {"USA", "GBR", "AUS", "CAN"}


def test_joint_statement_list_on_behalf_of():
    text = ("Cuba delivered a joint statement at the UN Human Rights Council on behalf of 53 countries backing "
            "the national security law, among them Pakistan, Egypt and Venezuela.")
    assert {"CUB", "PAK", "EGY", "VEN"} <= nations_of(text)


def test_explicit_non_acts(corpus_claims):
    nzl = claim_rows(corpus_claims, LONDON, "did not join the statement")
    assert nzl["nation"].tolist() == ["NZL"] and nzl["speech"].iloc[0] == "non_act"
    eu = claim_rows(corpus_claims, LONDON, "which is not part of the four-country statement")
    assert "EUU" in set(eu["nation"])


def test_carry_over_she_said_to_the_last_state_actor(corpus_claims):
    rows = claim_rows(corpus_claims, LONDON, "We will continue to look for ways")
    assert rows["nation"].tolist() == ["USA"]


def test_analyst_breaks_the_chain_and_is_not_a_state(corpus_claims):
    for fragment in ["The challenge is to lay out steps to a solution", "The joint statement does not suggest any consequence",
                     "We’re posturing", "What I’m hoping is that our policymakers"]:
        assert claim_rows(corpus_claims, LONDON, fragment).empty, fragment


def test_analyst_quoted_in_a_country_is_not_that_country(corpus_claims):
    # "said Fen Hampson, an international affairs expert at Ottawa's Carleton University": not Canada.
    rows = claim_rows(corpus_claims, LONDON, "said Fen Hampson")
    assert "CAN" not in set(rows["nation"])


def test_non_state_voices_are_kept_apart(articles):
    voices = extract_voices(articles[articles["article"] == LONDON])
    assert voices["actor"].str.contains("Michael Davis|Davis").any()
    assert voices["actor"].str.contains("Hampson").any()


def test_claim_offsets_point_at_the_sentence(corpus_claims, articles):
    texts = articles.set_index("article")["text"]
    for row in corpus_claims.itertuples():
        assert texts[row.article][row.start:row.end] == row.text


# ---------------------------------------------------------------------------------------------
# Target
# ---------------------------------------------------------------------------------------------


def test_on_and_off_target(corpus_claims):
    huawei = claim_rows(corpus_claims, BLOOMBERG, "banned China’s Huawei Technologies")
    assert not huawei["on_target"].any()
    law = claim_rows(corpus_claims, "real/bbc_10.csv#bbc_10", "Japan called the law")
    assert law["on_target"].all() and law["target_terms"].str.contains("law").all()


def test_nations_listed_beside_a_non_state_body_speak(corpus_claims):
    rows = claim_rows(corpus_claims, "real/bbc_10.csv#bbc_10", "The UK, EU and Nato have expressed concern")
    assert {"GBR", "EUU"} <= set(rows["nation"])  # Nato is not a nation: no row, but it does not hide the others


def test_an_act_named_as_a_possessive_noun(corpus_claims):
    rows = claim_rows(corpus_claims, LONDON, "against China’s move to impose a national security law")
    assert "CHN" in set(rows["nation"]) and "USA" in set(rows["nation"])
    china = rows[rows["nation"] == "CHN"].iloc[0]
    assert china["clause"].startswith("China’s move to impose")


def test_a_reference_to_a_move_is_not_a_new_act():
    claims = claims_of("China's foreign ministry spokesman Zhao Lijian said Beijing firmly opposes Canada's move "
                       "and would take countermeasures over the national security law.")
    assert set(claims["nation"]) == {"CHN"}


def test_end_anchored_searches_from_the_last_words_equal_full_searches(articles):
    """``search_tail`` starts an end-anchored search a few words from the end (as many as ``tail_words``
    reads off the pattern): on every 7th prefix of real sentences, and on awkward endings, it finds exactly
    what searching the whole text finds, for the attribution patterns and every end-anchored frame."""
    from hkpolicy import claims
    from hkpolicy.resources import search_tail, tail_words

    frames = claims._frames()
    patterns = [claims._CLOSE_QUOTE_BEFORE, claims._NAME_BEFORE]
    patterns += [frame for frame in frames.values() if tail_words(getattr(frame, "regex", frame))]
    assert [tail_words(pattern) for pattern in patterns[:2]] == [3, 5]
    assert [tail_words(getattr(frames[name], "regex", frames[name])) for name in
            ("coordinated_verb", "new_clause_before", "condition_before", "addressee_before", "preposition_before")
            ] == [4, 4, 3, 2, 3]
    assert len(patterns) >= 9
    texts = [text[start:end] for text in articles["text"] for start, end in sentence_spans(text)]
    endings = ['He said: "It is over," ', "Mr. John Paul Smith\n", "critics, and firmly  ", "(on  the \t",
               "if the", "whereas", "a, and", "Dr Ana O’Brien-Lee ", "urged", "band ", "—“Yes.”  ", "",
               "concerns about the", "his counterparts", "Ministers", "ON THE"]
    prefixes = [text[:cut] for text in texts for cut in range(0, len(text) + 1, 7)] + endings
    prefixes += [ending + ending for ending in endings]
    # Long texts, whose end is read in a slice (cut anywhere, inside a word too).
    long_text = " ".join(texts[:40])
    prefixes += [long_text[:cut] for cut in range(200, len(long_text), 13)]
    prefixes += ["x" * 300 + ending for ending in endings] + ["x" * 300 + " " + "y " * 3 + ending for ending in endings]
    for pattern in patterns:
        for prefix in prefixes:
            got, want = search_tail(pattern, prefix), pattern.search(prefix)
            assert (got and (got.span(), got.groups())) == (want and (want.span(), want.groups())), (pattern, prefix)
    assert sum(bool(search_tail(pattern, prefix)) for pattern in patterns for prefix in prefixes) > 500


def test_tail_words_reads_how_far_back_an_end_anchored_match_reaches():
    import re

    from hkpolicy.resources import tail_words

    assert tail_words(re.compile(r"\b(?:on|in)\s+(?:the\s+)?$")) == 3
    assert tail_words(re.compile(r"(?:\w+ ){0,3}x$")) == 4
    assert tail_words(re.compile(r"said$|told\Z")) == 1
    assert tail_words(re.compile("[a-z]+ [\u4e00-\u9fff]+$")) == 2  # ranges without whitespace
    assert tail_words(re.compile("[\x00-\x7f]+$")) is None  # a range with spaces, repeated
    for unbounded in [r"[^,]+$", r".*said$", r"(?:\w+\s+)+x$", r"a\s+b", r"(?m)said$", r"said$|told", r"(a)\1$"]:
        assert tail_words(re.compile(unbounded)) is None, unbounded
