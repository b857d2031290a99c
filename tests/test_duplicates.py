"""Duplicates: the same story counted once, on real articles from data/raw.

Each test builds a small corpus in ``tmp_path`` from real texts (an export ``export.csv`` with columns
id,date,title,text, plus .txt files where the format matters), reads it with the ingest step, and checks
what ``find_duplicates`` / ``mark_duplicates`` make of it.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest

from hkpolicy.duplicates import (DUPLICATE_COLUMNS, duplicate_ids, find_duplicates, mark_duplicates,
                                 normalise_for_duplicates)
from hkpolicy.ingest import load_corpus, read_corpus

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"
BBC_10 = "real/bbc_10.csv#bbc_10"
BBC_13 = "real/bbc_13.csv#bbc_13"
HKGOVT_15 = "real/hkgovt_15.csv#hkgovt_15"
XINHUA_12 = "real/xinhua_12.csv#xinhua_12"
BLOOMBERG = "seeds/bloomberg_pompeo_raab_coalition.txt"


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    """The shipped corpus's articles, indexed by id."""
    return load_corpus(RAW).set_index("article", drop=False)


def text_of(real: pd.DataFrame, article: str) -> str:
    return real.loc[article, "text"]


def write_export(folder: Path, rows: list[dict], name: str = "export.csv", extra: tuple[str, ...] = ()) -> Path:
    """An export as a news database would give it: id,date,title,text (+ extra columns)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    columns = ["id", "date", "title", "text", *extra]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({column: row.get(column, "") for column in columns})
    return path


def shingles(text: str, size: int = 5) -> set[tuple[str, ...]]:
    """Word shingles computed independently of the module (plain Python sets)."""
    words = normalise_for_duplicates(text).split()
    return {tuple(words[i:i + size]) for i in range(len(words) - size + 1)}


def jaccard(a: str, b: str) -> float:
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb)


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"the real text no longer contains {old!r} exactly once"
    return text.replace(old, new)


def syndicated_copy(original: str) -> str:
    """bbc_10 as a syndicating outlet would run it: one paragraph reworded, one sentence dropped, a tagline."""
    copy = replace_once(original, "Hong Kong's leader Carrie Lam defended the law, saying it filled a \"gaping hole\" "
                                  "in national security.",
                        "Carrie Lam, the city's chief executive, defended the new legislation on Tuesday, arguing that "
                        "it plugged a \"gaping hole\" in the territory's national security.")
    copy = replace_once(copy, "Police plan to have 4,000 riot officers on standby. ",
                        "Police said they plan to keep some 4,000 riot officers on standby across the city. ")
    copy = replace_once(copy, "It took effect from 2300 local time (1500 GMT) on Tuesday. ", "")
    return copy + " This story was first published by BBC News and is republished with permission."


# ----------------------------------------------------------------------------------------------
# normalise_for_duplicates
# ----------------------------------------------------------------------------------------------


def test_normalise_folds_case_punctuation_and_whitespace():
    assert normalise_for_duplicates("  Hong Kong’s  LAW,\n\n\tpassed!  ") == "hong kongs law passed"
    assert (normalise_for_duplicates("U.S. and China's \"law\"")
            == normalise_for_duplicates("US and China’s “law”") == "us and chinas law")
    assert normalise_for_duplicates("the law—and the city") == "the law and the city"
    assert normalise_for_duplicates(None) == ""
    assert normalise_for_duplicates("?!...") == ""


# ----------------------------------------------------------------------------------------------
# find_duplicates
# ----------------------------------------------------------------------------------------------


def test_edited_copy_with_new_headline_is_a_near_duplicate_of_the_earlier_original(tmp_path, real):
    original = text_of(real, BBC_10)
    copy = syndicated_copy(original)
    assert len(copy) > len(original)  # so only the date can make the original the representative
    assert 0.8 <= jaccard(original, copy) < 1.0
    # ids chosen so that the copy has the smaller id: the rule must still keep the original
    write_export(tmp_path, [
        {"id": "b_original", "date": "2020-06-30",
         "title": "Hong Kong security law: Anger as China's Xi signs legislation", "text": original},
        {"id": "a_syndicated", "date": "2020-07-01", "title": "West voices alarm as Beijing imposes Hong Kong law",
         "text": copy},
        {"id": "c_other", "date": "2020-07-05", "title": "Books pulled", "text": text_of(real, BBC_13)},
    ])
    articles, _ = read_corpus(tmp_path)
    assert len(articles) == 3
    found = find_duplicates(articles)
    assert list(found.columns) == DUPLICATE_COLUMNS
    assert found[["article", "duplicate_of", "kind"]].values.tolist() == [
        ["export.csv#a_syndicated", "export.csv#b_original", "near"]]
    assert 0.8 <= found["similarity"].iloc[0] < 1.0
    # the reported similarity is the true Jaccard of the shingle sets, not a rough estimate
    assert found["similarity"].iloc[0] == pytest.approx(jaccard(original, copy), abs=0.002)


def test_close_calls_are_decided_on_the_true_similarity(tmp_path, real):
    """A site that cut the story short: just above the threshold it is a copy, just below it is not."""
    original = text_of(real, BBC_10)
    sentences = re.split(r"(?<=[.!?])\s+", original)
    cuts = {cut: " ".join(sentences[:-cut]) for cut in range(1, 20)}
    last_copy = max(cut for cut, text in cuts.items() if jaccard(original, text) >= 0.8)
    above, below = cuts[last_copy], cuts[last_copy + 1]
    assert 0.8 <= jaccard(original, above) < 0.83 and 0.77 < jaccard(original, below) < 0.8
    for name, text, expected in (("above", above, 1), ("below", below, 0)):
        folder = tmp_path / name
        write_export(folder, [{"id": "full", "date": "2020-06-30", "text": original},
                              {"id": "cut", "date": "2020-07-01", "text": text}])
        articles, _ = read_corpus(folder)
        found = find_duplicates(articles, threshold=0.8)
        assert len(found) == expected, name
        if expected:
            assert found["article"].tolist() == ["export.csv#cut"] and found["similarity"].iloc[0] >= 0.8


def test_heavier_rewrite_is_not_a_duplicate_at_the_default_but_is_at_a_lower_threshold(tmp_path, real):
    original = text_of(real, BBC_13)
    sentences = re.split(r"(?<=[.!?])\s+", original)
    rewritten = " ".join(sentence if i % 4 else "Officials in Beijing and Hong Kong declined to comment further."
                         for i, sentence in enumerate(sentences))  # every fourth sentence replaced
    true_similarity = jaccard(original, rewritten)
    assert 0.55 < true_similarity < 0.75
    write_export(tmp_path, [{"id": "first", "date": "2020-07-05", "text": original},
                            {"id": "second", "date": "2020-07-06", "text": rewritten}])
    articles, _ = read_corpus(tmp_path)
    assert find_duplicates(articles).empty
    lowered = find_duplicates(articles, threshold=0.5)
    assert lowered[["article", "duplicate_of", "kind"]].values.tolist() == [
        ["export.csv#second", "export.csv#first", "near"]]


def test_exact_duplicate_under_other_case_spacing_and_punctuation(tmp_path, real):
    original = text_of(real, BBC_13)
    mangled = original.upper().replace(". ", ".   \t").replace(",", "").replace("'", "’").replace('"', "“")
    assert mangled != original and normalise_for_duplicates(mangled) == normalise_for_duplicates(original)
    write_export(tmp_path, [{"id": "copy", "date": "2020-07-05", "text": mangled},
                            {"id": "first", "date": "2020-07-05", "text": original},
                            {"id": "other", "date": "2020-06-30", "text": text_of(real, BBC_10)}])
    articles, _ = read_corpus(tmp_path)
    found = find_duplicates(articles)
    assert len(found) == 1
    row = found.iloc[0]
    assert row["kind"] == "exact" and row["similarity"] == 1.0
    assert {row["article"], row["duplicate_of"]} == {"export.csv#copy", "export.csv#first"}


@pytest.mark.parametrize("other", [HKGOVT_15, XINHUA_12])
def test_different_stories_on_the_same_statement_are_not_duplicates(tmp_path, real, other):
    """bbc_10 (BBC) and hkgovt_15 (the Chief Executive's statement) both report the law's passage on
    2020-06-30; xinhua_12 reports the same adoption and quotes the same official wording as hkgovt_15."""
    first = HKGOVT_15 if other == XINHUA_12 else BBC_10
    a, b = text_of(real, first), text_of(real, other)
    for text in (a, b):
        assert "national security" in text.lower() and "law" in text.lower()
    assert jaccard(a, b) < 0.1  # they really are different stories
    assert abs(pd.Timestamp(real.loc[first, "date"]) - pd.Timestamp(real.loc[other, "date"])).days <= 1
    write_export(tmp_path, [{"id": "one", "date": real.loc[first, "date"], "text": a},
                            {"id": "two", "date": real.loc[other, "date"], "text": b}])
    articles, _ = read_corpus(tmp_path)
    assert len(articles) == 2
    assert find_duplicates(articles).empty


def test_the_shipped_corpus_has_no_duplicates_but_a_copied_article_is_caught(real):
    articles = real.reset_index(drop=True)
    assert find_duplicates(articles).empty
    copy = articles[articles["article"] == BLOOMBERG].assign(article="seeds/zz_repost.txt", date="2020-07-22")
    found = find_duplicates(pd.concat([articles, copy], ignore_index=True))
    assert found[["article", "duplicate_of", "kind"]].values.tolist() == [["seeds/zz_repost.txt", BLOOMBERG, "exact"]]


def test_a_csv_record_repeating_a_txt_file_is_caught_across_formats(tmp_path, real):
    text = text_of(real, BBC_10)
    (tmp_path / "bbc_story.txt").write_text(text + "\n", encoding="utf-8")
    write_export(tmp_path, [{"id": "77", "date": "2020-06-30", "title": "Anger as China's Xi signs legislation",
                             "text": text},
                            {"id": "78", "date": "2020-07-05", "title": "Books pulled", "text": text_of(real, BBC_13)}],
                 name="database_export.csv")
    articles, manifest = read_corpus(tmp_path)
    assert set(articles["article"]) == {"bbc_story.txt", "database_export.csv#77", "database_export.csv#78"}
    found = find_duplicates(articles)
    # the dated CSV record is the earlier one (the .txt carries no date), so it is kept
    assert found[["article", "duplicate_of", "kind"]].values.tolist() == [
        ["bbc_story.txt", "database_export.csv#77", "exact"]]
    _, marked = mark_duplicates(articles, manifest, found)
    txt_row = marked.set_index("article").loc["bbc_story.txt"]
    assert txt_row["status"] == "duplicate" and txt_row["format"] == "txt"
    assert txt_row["duplicate_of"] == "database_export.csv#77"


def test_texts_too_short_to_shingle_only_match_exactly(real):
    # (ingest drops a four-word "article", so the table is built directly from the first words of bbc_10)
    words = normalise_for_duplicates(text_of(real, BBC_10)).split()[:4]  # "the uk eu and"
    short = " ".join(words)
    assert len(short.split()) == 4
    articles = pd.DataFrame({"article": ["a", "b", "c", "d"], "date": ["2020-06-30"] * 4, "outlet": ["BBC"] * 4,
                             "text": [short, short.upper() + "!", " ".join(words[:3] + ["nato"]),
                                      text_of(real, BBC_10)]})
    articles["n_chars"] = articles["text"].str.len()
    found = find_duplicates(articles, threshold=0.01)
    # "b" is the longer text (the "!"), so it is kept; "c" shares 3 of 4 words but has no shingle at all
    assert found[["article", "duplicate_of", "kind"]].values.tolist() == [["a", "b", "exact"]]
    # six words make two shingles: "c" then shares one of three with "a" (same length, so the smaller id is kept)
    longer = articles.assign(text=[short + " nato said", short.upper() + "!", short + " nato says",
                                   text_of(real, BBC_10)])
    found = find_duplicates(longer, threshold=0.3)
    assert found[["article", "duplicate_of", "kind"]].values.tolist() == [["c", "a", "near"]]


# ----------------------------------------------------------------------------------------------
# The representative rule: earliest date, then longest text, then smallest id
# ----------------------------------------------------------------------------------------------


def three_versions(real) -> dict[str, str]:
    """Three versions of bbc_13: the text, a shorter one (last sentence dropped), a longer one (a tagline)."""
    text = text_of(real, BBC_13)
    shorter = replace_once(text, " There are also concerns over online freedom as internet providers might have to "
                                 "hand over data if requested by police.", "")
    longer = text + " Reporting by BBC News in Hong Kong."
    assert len(shorter) < len(text) < len(longer)
    return {"short": shorter, "medium": text, "long": longer}


@pytest.mark.parametrize("dates, texts, expected", [
    # earliest date wins although it is the shortest and has the largest id
    ({"x1": "2020-07-06", "x2": "2020-07-07", "x3": "2020-07-05"}, {"x1": "long", "x2": "medium", "x3": "short"}, "x3"),
    # an undated article never wins over a dated one, however long
    ({"x1": "", "x2": "2020-07-07", "x3": "2020-07-07"}, {"x1": "long", "x2": "short", "x3": "medium"}, "x3"),
    # same date: the longest text wins
    ({"x1": "2020-07-05", "x2": "2020-07-05", "x3": "2020-07-05"}, {"x1": "short", "x2": "long", "x3": "medium"}, "x2"),
    # nobody dated: still the longest
    ({"x1": "", "x2": "", "x3": ""}, {"x1": "medium", "x2": "short", "x3": "long"}, "x3"),
    # same date, same length: the smallest id
    ({"x1": "2020-07-05", "x2": "2020-07-05", "x3": "2020-07-05"},
     {"x1": "medium", "x2": "medium", "x3": "medium"}, "x1"),
])
def test_representative_rule_in_a_three_member_group(tmp_path, real, dates, texts, expected):
    versions = three_versions(real)
    rows = [{"id": key, "date": dates[key], "text": versions[texts[key]]} for key in ("x3", "x1", "x2")]
    write_export(tmp_path, rows)
    articles, _ = read_corpus(tmp_path)
    assert len(articles) == 3
    found = find_duplicates(articles)
    assert len(found) == 2
    assert set(found["duplicate_of"]) == {f"export.csv#{expected}"}
    assert set(found["article"]) == {f"export.csv#{key}" for key in ("x1", "x2", "x3")} - {f"export.csv#{expected}"}
    for _, row in found.iterrows():
        same_text = texts[row["article"].split("#")[1]] == texts[expected]
        assert row["kind"] == ("exact" if same_text else "near")


# ----------------------------------------------------------------------------------------------
# Determinism
# ----------------------------------------------------------------------------------------------


def test_two_calls_give_identical_frames_whatever_the_row_order(tmp_path, real):
    original = text_of(real, BBC_10)
    versions = three_versions(real)
    write_export(tmp_path, [
        {"id": "p1", "date": "2020-06-30", "text": original},
        {"id": "p2", "date": "2020-07-01", "text": syndicated_copy(original)},
        {"id": "p3", "date": "2020-07-01", "text": original.lower()},
        {"id": "q1", "date": "2020-07-05", "text": versions["medium"]},
        {"id": "q2", "date": "2020-07-06", "text": versions["long"]},
        {"id": "r1", "date": "2020-07-01", "text": text_of(real, XINHUA_12)},
    ])
    articles, _ = read_corpus(tmp_path)
    first = find_duplicates(articles)
    second = find_duplicates(articles)
    shuffled = find_duplicates(articles.sample(frac=1.0, random_state=3).reset_index(drop=True))
    assert len(first) == 3  # p2, p3 -> p1; q2 -> q1
    pd.testing.assert_frame_equal(first, second)
    pd.testing.assert_frame_equal(first, shuffled)
    assert dict(zip(first["article"], first["kind"])) == {"export.csv#p2": "near", "export.csv#p3": "exact",
                                                          "export.csv#q2": "near"}


# ----------------------------------------------------------------------------------------------
# mark_duplicates and duplicate_ids
# ----------------------------------------------------------------------------------------------


def test_mark_duplicates_sets_manifest_and_article_columns(tmp_path, real):
    original = text_of(real, BBC_10)
    write_export(tmp_path, [
        {"id": "bbc", "date": "2020-06-30", "text": original, "source": "BBC"},
        {"id": "copy1", "date": "2020-07-01", "text": syndicated_copy(original), "source": "Yahoo News"},
        {"id": "copy2", "date": "2020-07-01", "text": original.upper(), "source": "MSN"},
        {"id": "copy3", "date": "2020-07-02", "text": original, "source": "Yahoo News"},
        {"id": "books", "date": "2020-07-05", "text": text_of(real, BBC_13), "source": "BBC"},
    ], extra=("source",))
    (tmp_path / "notes.docx").write_bytes(b"not an article")  # a skipped input: untouched by marking
    articles, manifest = read_corpus(tmp_path)
    found = find_duplicates(articles)
    assert sorted(found["article"]) == ["export.csv#copy1", "export.csv#copy2", "export.csv#copy3"]
    new_articles, new_manifest = mark_duplicates(articles, manifest, found)

    # inputs untouched
    assert "n_copies" not in articles.columns and "duplicate" not in set(manifest["status"])
    # manifest
    assert list(new_manifest.columns) == ["source_file", "article", "status", "reason", "format", "encoding",
                                          "language", "n_chars", "duplicate_of"]
    assert len(new_manifest) == len(manifest)
    rows = new_manifest.set_index("article")
    for copy in ("copy1", "copy2", "copy3"):
        assert rows.loc[f"export.csv#{copy}", "status"] == "duplicate"
        assert rows.loc[f"export.csv#{copy}", "duplicate_of"] == "export.csv#bbc"
    similarity = found.set_index("article").loc["export.csv#copy1", "similarity"]
    assert rows.loc["export.csv#copy1", "reason"] == f"near-duplicate of export.csv#bbc (similarity {similarity:.2f})"
    assert rows.loc["export.csv#copy2", "reason"].startswith("exact duplicate of export.csv#bbc")
    assert rows.loc["export.csv#bbc", "status"] == "ok" and rows.loc["export.csv#bbc", "duplicate_of"] == ""
    assert rows.loc["export.csv#books", "status"] == "ok"
    assert rows.loc["notes.docx", "status"] == "skipped"
    # articles: all kept, with the three columns
    assert len(new_articles) == len(articles) == 5
    table = new_articles.set_index("article")
    assert table.loc["export.csv#bbc", "duplicate_of"] == ""
    assert table.loc["export.csv#bbc", "n_copies"] == 3
    assert table.loc["export.csv#bbc", "copy_outlets"] == "MSN; Yahoo News"
    assert table.loc["export.csv#books", "n_copies"] == 0 and table.loc["export.csv#books", "copy_outlets"] == ""
    for copy in ("copy1", "copy2", "copy3"):
        assert table.loc[f"export.csv#{copy}", "duplicate_of"] == "export.csv#bbc"
        assert table.loc[f"export.csv#{copy}", "n_copies"] == 0
        assert table.loc[f"export.csv#{copy}", "copy_outlets"] == ""
    assert duplicate_ids(new_articles) == {"export.csv#copy1", "export.csv#copy2", "export.csv#copy3"}


def test_repeated_article_ids_are_refused(real):
    text = text_of(real, BBC_13)
    articles = pd.DataFrame({"article": ["e.csv#1", "e.csv#1", "e.csv#2"], "date": ["", "", ""],
                             "text": [text, text.upper(), text_of(real, BBC_10)]})
    with pytest.raises(ValueError, match="unique"):
        find_duplicates(articles)


def test_duplicate_ids_needs_marked_articles(real):
    with pytest.raises(ValueError):
        duplicate_ids(real.reset_index(drop=True))
    articles, manifest = read_corpus(RAW)
    marked, _ = mark_duplicates(articles, manifest, find_duplicates(articles))
    assert duplicate_ids(marked) == set()
    assert (marked["n_copies"] == 0).all() and (marked["duplicate_of"] == "").all()


def test_band_pairs_are_exactly_the_pairs_that_share_a_band():
    """Each band's candidate pairs, found by sorting its hashes (runs of two and longer runs, a crowded
    band among them), are every pair of rows with that band equal, and no other, as a brute-force
    comparison finds them."""
    import itertools

    import numpy as np

    from hkpolicy.duplicates import band_hashes, pairs_sharing_a_band

    rng = np.random.default_rng(3)
    bands, rows = 5, 3
    signatures = rng.integers(0, 4, size=(300, bands * rows + 2), dtype=np.uint32)  # small values: many collisions
    signatures[rng.integers(0, 300, 40), :rows] = 7  # and a crowded band
    row_ids = np.arange(1000, 1300)  # rows are labels, not positions
    hashes = band_hashes(signatures, bands, rows)
    found = set()
    for band in range(bands):
        pairs = pairs_sharing_a_band(hashes[band], row_ids)
        assert (pairs[:, 0] > pairs[:, 1]).all() and len(np.unique(pairs, axis=0)) == len(pairs)
        found |= {tuple(pair) for pair in pairs.tolist()}
    blocks = signatures[:, :bands * rows].reshape(len(signatures), bands, rows)
    expected = {(1000 + b, 1000 + a) for a, b in itertools.combinations(range(len(signatures)), 2)
                if (blocks[a] == blocks[b]).all(axis=1).any()}
    assert found == expected and len(expected) > 300
    assert pairs_sharing_a_band(np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)).shape == (0, 2)


def test_index_fed_in_pieces_in_any_order_finds_what_one_piece_finds(real):
    """The index writes what it needs to disk as it is fed and works the groups out when asked: pieces
    in increasing id order, in shuffled order (the repeated-id check then keeps a set), and one piece
    give the same table; a repeat across out-of-order pieces is still refused; adding after a result
    works the groups out anew."""
    import pandas as pd

    from hkpolicy.duplicates import DuplicateIndex, find_duplicates

    texts = real["text"].tolist()
    rows = []
    for i, text in enumerate(texts):
        rows.append({"article": f"a{i:03d}", "date": "2020-07-01", "outlet": f"o{i}", "text": text})
        rows.append({"article": f"b{i:03d}", "date": "2020-07-02", "outlet": "copier", "text": text.upper()})
        rows.append({"article": f"c{i:03d}", "date": "", "outlet": "editor",
                     "text": text.replace(" the ", " a ", 3) + " Reporting by staff."})
    articles = pd.DataFrame(rows).sort_values("article").reset_index(drop=True)
    whole = find_duplicates(articles)
    assert len(whole) == 2 * len(texts) and set(whole["kind"]) == {"exact", "near"}
    for pieces in (articles.groupby(articles.index // 5), articles.sample(frac=1, random_state=2).groupby(
            lambda i: i % 4)):
        index = DuplicateIndex()
        for _, piece in pieces:
            index.add(piece)
        assert index.duplicates().equals(whole) and len(index) == len(articles)
        with pytest.raises(ValueError, match="unique"):
            index.add(articles.iloc[[3]])
        index.close()
    index = DuplicateIndex()
    index.add(articles[articles["article"] < "b"])
    assert index.duplicates().empty
    index.add(articles[articles["article"] >= "b"])
    assert index.duplicates().equals(whole)
    index.close()


def test_minhash_signature_equals_datasketch_update_batch():
    import numpy as np
    from datasketch import MinHash

    from hkpolicy.duplicates import _identity, minhash_signature

    rng = np.random.default_rng(5)
    template = MinHash(num_perm=128, seed=1, hashfunc=_identity)
    for size in (1, 2, 7, 500):
        hashes = rng.integers(0, 2**32, size, dtype=np.uint64).astype(np.uint32)
        reference = template.copy()
        reference.update_batch(hashes.tolist())
        assert np.array_equal(minhash_signature(hashes, template), reference.hashvalues.astype(np.uint32))


@pytest.mark.parametrize("positional_reads", [True, False])
def test_spilled_rows_read_back_what_was_appended_written_or_pending(monkeypatch, positional_reads):
    """The on-disk rows (signatures, shingle sets): every row reads back as appended, whether already
    written or still pending, of any length; ``stack`` gathers rows of a fixed-width store in the order asked,
    repeats and runs of consecutive rows included, with ``os.preadv`` and (systems without it) without."""
    import os

    import numpy as np

    from hkpolicy.duplicates import _SpilledRows

    if not positional_reads:
        monkeypatch.delattr(os, "preadv", raising=False)
    rng = np.random.default_rng(3)
    store = _SpilledRows(cache=4)
    rows = [rng.integers(0, 2**32, size=int(rng.integers(0, 40)), dtype=np.uint32) for _ in range(600)]
    for i, values in enumerate(rows):
        store.append(values)
        if i % 97 == 0:  # read while later rows are pending
            assert np.array_equal(store.read(i), values) and np.array_equal(store.read(i // 2), rows[i // 2])
    assert len(store) == 600
    assert all(np.array_equal(store.read(i), values) for i, values in enumerate(rows))
    signatures = rng.integers(0, 2**32, size=(300, 8), dtype=np.uint32)
    asked = np.array([5, 299, 5, 0, 257, 256, 6, 7, 8, 298])  # rows 256-299 pending when first asked for
    fixed = _SpilledRows(width=8)
    for signature in signatures:
        fixed.append(signature)
    assert np.array_equal(fixed.stack(asked), signatures[asked]) and len(fixed) == 300
    assert np.array_equal(fixed.read(299), signatures[299]) and fixed.stack(asked[:0]).shape == (0, 8)
    many = rng.integers(0, 300, size=5000)
    assert np.array_equal(fixed.stack(many), signatures[many])
    assert np.array_equal(fixed.stack(np.arange(300)), signatures)  # one run: a single read
    fixed.append(signatures[0])  # appending after reads: the file's position is the store's business
    assert np.array_equal(fixed.stack([300, 3]), signatures[[0, 3]]) and np.array_equal(fixed.read(300), signatures[0])
    with pytest.raises(IndexError):
        fixed.stack([301])
    fixed.close()
    with pytest.raises(ValueError, match="width"):
        _SpilledRows(width=8).append(signatures[0][:7])
    with pytest.raises(ValueError, match="width"):
        store.stack(asked)
    store.close()


def test_index_keeps_what_it_is_fed_on_disk_not_in_memory():
    """While fed, the index writes what it needs of each article to disk: Python memory grows by the
    spilled shingle sets' offsets (16 bytes an article) and a little per piece, not by the ids, keys, band
    hashes or metadata (an in-memory index kept ~600 bytes an article). Measured with tracemalloc over
    5,120 articles in pieces of 256, after a first piece has set everything up; the groups are still found."""
    import tracemalloc

    import numpy as np

    from hkpolicy.duplicates import DuplicateIndex

    rng = np.random.default_rng(7)

    def piece(start: int, size: int) -> dict[str, list]:
        shingles = [rng.integers(0, 2**32, 300, dtype=np.uint64).astype(np.uint32) for _ in range(size)]
        return {"article": [f"wire/{start + i:07d}.txt" for i in range(size)],
                "date": ["2020-07-01"] * size, "outlet": ["Wire"] * size, "length": [2000] * size,
                "key": [rng.bytes(16) for _ in range(size)], "shingles": shingles,
                "signature": [rng.integers(0, 2**32, 128, dtype=np.uint64).astype(np.uint32) for _ in range(size)]}

    pieces = [piece(256 * k, 256) for k in range(21)]
    pieces[-1]["signature"][5] = pieces[0]["signature"][5]  # a near copy across pieces, for the groups
    pieces[-1]["shingles"][5] = pieces[0]["shingles"][5]
    index = DuplicateIndex()
    index.add_fingerprints(pieces.pop(0))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        while pieces:
            index.add_fingerprints(pieces.pop(0))
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept / (20 * 256) < 48, f"{kept / (20 * 256):.0f} bytes an article kept in memory"
    found = index.duplicates()
    assert found[["article", "duplicate_of", "kind"]].values.tolist() == [["wire/0005125.txt", "wire/0000005.txt", "near"]]
    index.close()


def traced_duplicates(index) -> tuple:
    """``index.duplicates()`` under tracemalloc: (its table, the traced peak above the start, what the
    call left allocated, in bytes)."""
    import tracemalloc

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        found = index.duplicates()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return found, peak - before, current - before


def test_index_decides_one_bands_candidates_at_a_time(monkeypatch):
    """Candidate pairs are decided band by band: the index never holds every band's pairs at once (at
    100k articles of the benchmark corpus, 1.4 million; a merged list of them was the end-of-run peak).
    Signatures are built so that each band pairs the rows differently (groups of 8 in a new random
    order per band, ~7,000 candidate pairs a band, ~150,000 in all, all chance pairs below the threshold)
    plus one true near copy; the traced peak while the groups are worked out stays below what the
    merged pairs alone would take (8 bytes a pair), and the near copy is still found. Estimates are
    worked out 256 pairs at a time here (their signatures, 2 MiB at the default 2,048, would hide the rest)."""
    import numpy as np

    from hkpolicy import duplicates
    from hkpolicy.duplicates import DuplicateIndex

    monkeypatch.setattr(duplicates, "PAIR_CHUNK", 256)
    rng = np.random.default_rng(3)
    index = DuplicateIndex()
    n, group = 2000, 8
    signatures = rng.integers(0, 2**32, (n, index.num_perm), dtype=np.uint64).astype(np.uint32)
    buckets = []
    for band in range(index.bands):
        bucket = np.empty(n, dtype=np.int64)
        bucket[rng.permutation(n)] = np.arange(n) // group  # the rows of each bucket share this band's values
        buckets.append(bucket)
        columns = slice(band * index.band_rows, (band + 1) * index.band_rows)
        signatures[:, columns] = (bucket * index.bands + band)[:, None].astype(np.uint32)
    signatures[n - 1] = signatures[7]  # one near copy (its shingles too)
    shingles = [rng.integers(0, 2**32, 300, dtype=np.uint64).astype(np.uint32) for _ in range(n)]
    shingles[n - 1] = shingles[7]
    index.add_fingerprints({"article": [f"wire/{i:05d}.txt" for i in range(n)], "date": ["2020-07-01"] * n,
                            "outlet": ["Wire"] * n, "length": [2000] * n, "key": [rng.bytes(16) for _ in range(n)],
                            "signature": list(signatures), "shingles": shingles})
    pairs = set()
    for bucket in buckets:
        order = np.argsort(bucket, kind="stable").reshape(-1, group)
        pairs.update((int(a), int(b)) for members in order for k, a in enumerate(members) for b in members[k + 1:])
    assert len(pairs) > 100_000
    found, peak, _ = traced_duplicates(index)
    assert peak < 8 * len(pairs), f"peak {peak} bytes for {len(pairs)} candidate pairs"
    assert found[["article", "duplicate_of", "kind"]].values.tolist() == [["wire/01999.txt", "wire/00007.txt", "near"]]
    index.close()


def test_index_holds_little_per_group_member_once_groups_are_found():
    """Once ``duplicates()`` has worked out the groups, the index keeps for each member of a group what
    the tables still need (id, date, outlet, length, unit, signature row), compactly, and only a few
    recently read shingle sets: at 100k articles ~17,000 members, whose per-member dicts and a 2,048-row
    shingle cache had held ~10 MiB more to the end of the run (16.7 against 6.5 MiB). Here 600 articles, each
    with two near copies (1,800 members), measured with tracemalloc from before ``duplicates()`` to after it
    (the returned table included): ~550 bytes a member; 2,140 with the old dicts and cache, 720 with the
    old dicts alone."""
    import numpy as np

    from hkpolicy.duplicates import DuplicateIndex

    rng = np.random.default_rng(11)
    articles, shingles, signatures = [], [], []
    for k in range(600):
        original = rng.integers(0, 2**32, 300, dtype=np.uint64).astype(np.uint32)
        signature = rng.integers(0, 2**32, 128, dtype=np.uint64).astype(np.uint32)
        for copy in range(3):
            edited = original.copy()
            if copy:  # a near copy: a few shingles changed
                edited[rng.choice(300, 6, replace=False)] = rng.integers(0, 2**32, 6, dtype=np.uint64)
            articles.append(f"wire/{k:04d}-{copy}.txt")
            shingles.append(edited)
            signatures.append(signature)
    n = len(articles)
    index = DuplicateIndex()
    index.add_fingerprints({"article": articles, "date": ["2020-07-01"] * n, "outlet": ["Wire"] * n,
                            "length": [2000 + i % 3 for i in range(n)], "key": [rng.bytes(16) for _ in range(n)],
                            "shingles": shingles, "signature": signatures})
    found, _, kept = traced_duplicates(index)
    assert len(found) == 1200 and set(found["kind"]) == {"near"}
    assert found["similarity"].between(0.9, 1.0, inclusive="neither").all()
    assert kept / 1800 < 650, f"{kept / 1800:.0f} bytes a group member kept"
    index.close()
