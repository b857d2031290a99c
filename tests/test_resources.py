"""The keyed alternation gives exactly what the plain alternation gives, on every table and on ugly text."""

from __future__ import annotations

import random
import re

import pytest

from hkpolicy.resources import (KeyedAlternation, compile_alternation, compile_literals, load_table, literal_regex,
                                 prefiltered, required_literals, split_alternatives)
from hkpolicy.text import sentence_spans

TABLES = [("speech", re.IGNORECASE), ("target", re.IGNORECASE), ("stance_cues", re.IGNORECASE),
          ("anaphora", 0), ("traps", 0), ("non_state", 0), ("non_state", re.IGNORECASE)]


def plain(patterns, flags):
    body = "|".join(f"(?P<p{i}>{pattern})" for i, pattern in enumerate(patterns))
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", flags)


def spans(matches):
    return [(m.start(), m.end(), m.group(), m.lastgroup) for m in matches]


@pytest.fixture(scope="module")
def sentences(articles):
    found = []
    for text in articles["text"]:
        found += [text[start:end] for start, end in sentence_spans(text)]
    # Splices of two sentences put one table's phrases next to another's; case and Unicode folding.
    rng = random.Random(7)
    for _ in range(300):
        first, second = rng.sample(found, 2)
        cut_first, cut_second = rng.randrange(len(first) + 1), rng.randrange(len(second) + 1)
        spliced = first[:cut_first] + second[cut_second:]
        found.append(rng.choice([spliced, spliced.upper(), spliced.lower()]))
    found += ["ſaid the SPOKESMAN", "İstanbul SAİD", "the KREMLIN", "σ ς Σ said", "", "  ", "-signed",
              "Britain signed a joint statement condemning the threat to freedoms; China said it opposes it.",
              "A 27-nation statement criticising Beijing, the threat to one country, two systems."]
    return found


@pytest.mark.parametrize("name,flags", TABLES)
def test_keyed_alternation_equals_plain_alternation_on_every_table(sentences, name, flags):
    patterns = load_table(name)["pattern"].tolist()
    keyed, reference = KeyedAlternation(patterns, flags), plain(patterns, flags)
    assert keyed.keyed  # the packaged tables all take the fast path
    for sentence in sentences:
        assert spans(keyed.finditer(sentence)) == spans(reference.finditer(sentence)), sentence


def test_keyed_alternation_on_awkward_patterns():
    """Patterns that begin with any word, inline flags, optional prefixes, repeats and prefixes of
    one another, in an order where an earlier pattern must win over a longer later one."""
    patterns = [r"\w+-nation statements?", r"(?:[a-z]\w*\s+){0,2}statement", r"(?-i:US)", r"U\.S\.", r"(?:firmly\s+)?oppos\w*", r"oppose the",
                r"sai", r"said(?: that)?", r"s[a-c]{2,4}d", r"[xyz]+ ?ray", r"(?:to )?be? clear", r"the",
                r"them", r"[^a]b", r"a(?=b)\w", r"(?i:we) said"]
    rng = random.Random(11)
    words = ["US", "us", "U.S.", "firmly", "opposed", "oppose", "the", "them", "said", "sad", "sabcd", "that",
             "27-nation", "statement", "xyzz", "ray", "to", "be", "clear", "b", "ab", "We", "we", "-", ",", "."]
    # The second set's unkeyed patterns all need a literal ("-nation statement"): texts without it skip them.
    for table, flags in [(patterns[:-1], 0), (patterns, re.IGNORECASE), ([patterns[0], r"\w+ said", "said"], 0),
                         ([patterns[0], "said", r"(?:\w+ )?statements?"], re.IGNORECASE)]:
        keyed, reference = KeyedAlternation(table, flags), plain(table, flags)
        for _ in range(2000):
            text = "".join(rng.choice(words) + rng.choice([" ", "", "  ", "-"]) for _ in range(rng.randrange(12)))
            assert spans(keyed.finditer(text)) == spans(reference.finditer(text)), (flags, text)


def test_key_scan_finds_keys_at_every_word_start_whatever_comes_before():
    """The key scan looks for a key after each non-word character (and at the start of the text): a
    pattern must match at the very start, after any separator (no-break space, dash, quote, bracket,
    another match) and never after a word character (letter, digit, underscore, accented letter)."""
    table = [r"\(AFP\)", r"\"anti", "China", r"Beijing(?:'s)?", "Hong Kong", "Kong said"]
    texts = ["China", "(AFP) China", "x(AFP)", "China(AFP) Beijing's", "\u00a0China—Beijing", "_China 1China éChina",
             '"anti-China"', "«China»", "Hong Kong said", "Hong Kong Kong said", "ChinaChina", " China", "China "]
    for flags in (0, re.IGNORECASE):
        keyed, reference = KeyedAlternation(table, flags), plain(table, flags)
        assert keyed.keyed
        for text in texts + [text.upper() for text in texts]:
            assert spans(keyed.finditer(text)) == spans(reference.finditer(text)), (flags, text)
    keyed = KeyedAlternation(table)
    assert [m[2] for m in spans(keyed.finditer("China (AFP) \u00a0Beijing's _China éChina—China"))] == [
        "China", "(AFP)", "Beijing's", "China"]


def test_patterns_that_can_match_nothing_use_the_single_alternation():
    keyed = KeyedAlternation([r"(?:the )?", "said"], re.IGNORECASE)
    assert not keyed.keyed
    assert spans(keyed.finditer("they said")) == spans(plain([r"(?:the )?", "said"], re.IGNORECASE).finditer("they said"))


def test_compile_alternation_search_and_lastgroup():
    matcher = compile_alternation(["Foreign Ministry", "Foreign Minister", "Minister"], re.IGNORECASE)
    match = matcher.search("The foreign minister said")
    assert (match.group(), match.lastgroup, match.span()) == ("foreign minister", "p1", (4, 20))
    assert matcher.search("nothing here") is None


def test_literal_regex_prefers_the_longest_entry():
    regex = literal_regex(["Guinea", "Guinea-Bissau", "Papua New Guinea"])
    assert [m.group() for m in regex.finditer("Guinea-Bissau, Papua New Guinea and Guinea.")] == \
        ["Guinea-Bissau", "Papua New Guinea", "Guinea"]


def test_keyed_literals_prefer_the_longest_entry_too():
    literals = ["Guinea", "Guinea-Bissau", "Papua New Guinea", "U.S.", "US", "St. Kitts and Nevis"]
    keyed = compile_literals(literals)
    text = "Guinea-Bissau, Papua New Guinea and Guinea. The U.S. (US) and St. Kitts and Nevis; USA, GuineaX."
    assert [m.group() for m in keyed.finditer(text)] == ["Guinea-Bissau", "Papua New Guinea", "Guinea", "U.S.",
                                                         "US", "St. Kitts and Nevis"]
    assert [m.group() for m in compile_literals([]).finditer(text)] == []
    # Case-insensitive: entries in any case, text in any case, characters that re folds together.
    literals = ["Foreign Minister", "foreign ministry", "SPOKESMAN", "Kremlin", "İstanbul governor"]
    text = "The FOREIGN MINISTER, the Foreign Ministry's ſpokesman, the kremlin and the İSTANBUL Governor."
    expected = literal_spans(literal_regex(literals, re.IGNORECASE).finditer(text))
    assert len(expected) == 5
    assert literal_spans(compile_literals(literals, re.IGNORECASE).finditer(text)) == expected


def literal_spans(matches):
    return [(m.start(), m.end(), m.group()) for m in matches]


@pytest.mark.parametrize("table,flags", [("literals", 0), ("roles", re.IGNORECASE)])
def test_keyed_literals_equal_literal_regex_on_the_actor_dictionary(sentences, table, flags):
    # The actor dictionary's names (countries, capitals, institutions, officials) and roles: the keyed
    # matcher must give literal_regex's matches on every sentence, spliced ones, upper and lower case.
    from hkpolicy.actors import actor_dictionary

    dictionary = actor_dictionary()
    literals = list(dictionary.literals) if table == "literals" else load_table("roles")["role"].tolist()
    keyed, reference = compile_literals(literals, flags), literal_regex(literals, flags)
    assert keyed.keyed and len(literals) > 100
    found = 0
    for sentence in sentences:
        expected = literal_spans(reference.finditer(sentence))
        assert literal_spans(keyed.finditer(sentence)) == expected, sentence
        found += len(expected)
    assert found > 200


@pytest.mark.parametrize("name,flags", TABLES)
def test_keyed_search_is_the_first_match(sentences, name, flags):
    patterns = load_table(name)["pattern"].tolist()
    keyed, reference = KeyedAlternation(patterns, flags), plain(patterns, flags)
    for sentence in sentences:
        assert spans([m for m in [keyed.search(sentence)] if m]) == spans([m for m in [reference.search(sentence)] if m])


def test_required_literals_of_patterns():
    assert required_literals(r"\b(?:(?:co-)?signed by|backed by|among them)\b", re.IGNORECASE) == {
        "signed by", "backed by", "among them"}
    assert required_literals(r"(?:joint )?(?:statement|communiqu[ée]|(?<!joint )declaration)s?", re.IGNORECASE) == {
        "statement", "communiqu", "declaration"}
    # Fixed parts in a row are joined: "Hong Kong " with each alternative, "at " with each word.
    assert required_literals(r"Hong Kong (?:government|police)") == {"Hong Kong government", "Hong Kong police"}
    assert required_literals(r"(?:freedoms?|rights|autonomy|democracy) (?:are )?(?:at (?:risk|stake)|eroded)") == {
        "at risk", "at stake", "eroded"}  # as long, and fewer, than the first part's words
    assert required_literals(r"STATEMENT", re.IGNORECASE) == {"statement"}
    assert required_literals(r"(?:the )?\w+") is None  # nothing every match needs
    assert required_literals(r"(?:said)?|told") is None  # one branch needs nothing
    assert required_literals(r"(?!said)\w+ (?:says)?") is None  # a negative look-ahead's words are not needed
    assert required_literals(r"(?i:said) it") == {" it"}  # an inline case rule: its words not taken, the rest is


def test_prefiltered_frames_equal_their_plain_regex(sentences):
    table = load_table("frames")
    texts = sentences + ["Britain CO-SIGNED BY", "a ſtatement", "communiquée", "Joint Declaration", "joint declaration"]
    for pattern, flags in zip(table["pattern"], table["flags"]):
        flags = re.IGNORECASE if "i" in flags else 0
        fast, plain_regex = prefiltered(pattern, flags), re.compile(pattern, flags)
        for text in texts:
            for method in ("search", "match"):
                got, want = getattr(fast, method)(text), getattr(plain_regex, method)(text)
                assert (got and got.span()) == (want and want.span()), (pattern, text)
            assert [m.span() for m in fast.finditer(text)] == [m.span() for m in plain_regex.finditer(text)]


def test_tables_added_later_share_the_key_scan_without_changing_results():
    """Tables are scanned together (one key scan per text for all tables of a case rule); a table whose
    keys extend another's ("the spokesman" after "the") must not hide the shorter key's matches, and a
    table added after others were used must join the scan."""
    first = KeyedAlternation(["the", r"said"], re.IGNORECASE)
    texts = ["The spokesman said the spokeswoman said", "theory: the", "THE SPOKESMAN", "the spo"]
    assert [spans(first.finditer(text)) for text in texts] == [
        spans(plain(["the", "said"], re.IGNORECASE).finditer(text)) for text in texts]
    second = KeyedAlternation([r"the spokes(?:wo)?man", r"spokes\w+"], re.IGNORECASE)
    for text in texts * 2:  # each text asked of both tables in turn
        for table in (first, second):
            assert spans(table.finditer(text)) == spans(plain(table.patterns, re.IGNORECASE).finditer(text)), text
    assert spans(first.finditer(texts[0]))[0][2] == "The"
    assert [m[2] for m in spans(second.finditer(texts[0]))] == ["The spokesman", "the spokeswoman"]


def test_split_alternatives_respects_groups_classes_and_escapes():
    assert split_alternatives("a|b(c|d)") == ["a", "b(c|d)"]
    assert split_alternatives("[|]|x") == ["[|]", "x"]
    assert split_alternatives(r"\|a|b") == [r"\|a", "b"]
    assert split_alternatives("[]|]a|b") == ["[]|]a", "b"]
    assert split_alternatives("[^]|]a|b") == ["[^]|]a", "b"]
    for whole in [r"(a)\1|b", "(?i)a|b", "abc", "(a|b)", "(?P<x>a)(?P=x)|b", "(a)?(?(1)b|c)|d"]:
        assert split_alternatives(whole) == [whole]


def test_unkeyed_pattern_split_into_alternatives_matches_as_a_whole():
    """A pattern that can begin with any word is split into its alternatives (some then keyed): the
    matches, their order, which pattern wins and the group name are those of the plain alternation."""
    patterns = [r"(?:threat|blow) to (?:\w+ )?freedoms?|(?:[\w'-]+ )?freedoms? (?:is |are )?(?:at risk|eroded)",
                r"freedoms? of \w+", r"\w+-nation statement|joint statement", r"at risk"]
    table = KeyedAlternation(patterns, re.IGNORECASE)
    assert len(table.parts) == 6 and len(table.unkeyed) == 2
    texts = ["A threat to press freedom, and freedoms are at risk.", "Press freedoms eroded; freedom of speech",
             "a four-nation statement and a joint statement", "AT RISK: Freedoms at risk", "freedoms",
             "the blow to freedom of assembly", "x-nation statement-y", ""]
    for text in texts:
        assert spans(table.finditer(text)) == spans(plain(patterns, re.IGNORECASE).finditer(text)), text
        first, want = table.search(text), plain(patterns, re.IGNORECASE).search(text)
        assert (first and (first.span(), first.lastgroup)) == (want and (want.span(), want.lastgroup))
