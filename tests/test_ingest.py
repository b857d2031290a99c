"""Ingest and cleaning: formats, encodings, page chrome, bad input, determinism, the command line."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from hkpolicy.ingest import read_corpus
from hkpolicy.text import clean_page, decode_bytes, repair_unicode

from .conftest import BLOOMBERG, LONDON, RAW, ROOT, SEEDS

LONDON_RAW = (SEEDS / "london_daily_four_nation_statement.txt").read_text(encoding="utf-8")
BLOOMBERG_RAW = (SEEDS / "bloomberg_pompeo_raab_coalition.txt").read_text(encoding="utf-8")


def read_one(tmp_path: Path, name: str, content: bytes | str) -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = tmp_path / "corpus"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return read_corpus(folder)


# ---------------------------------------------------------------------------------------------
# The seeds: page chrome, title, dates
# ---------------------------------------------------------------------------------------------


def test_provenance_lists_every_raw_file_with_its_checksum():
    provenance = pd.read_csv(RAW / "PROVENANCE.csv", keep_default_na=False)
    files = sorted(p.relative_to(RAW).as_posix() for p in RAW.rglob("*") if p.is_file() and p.name != "PROVENANCE.csv"
                   and p.name != "README.md")
    assert sorted(provenance["file"]) == files
    for row in provenance.itertuples():
        assert hashlib.sha256((RAW / row.file).read_bytes()).hexdigest() == row.sha256
        assert row.outlet


def test_london_daily_chrome_is_removed(article_text):
    text = article_text(LONDON)
    for chrome in ["London Daily", "Focus on the big picture.", "Newsletter", "Related Articles", "0:00", "×",
                   "Close", "UK Upholds Firm Rules on Stablecoins", "Dick Cheney, Former U.S. Vice President",
                   "Wednesday, Nov 12, 2025"]:
        assert chrome not in text, chrome
    # The article itself is intact from its standfirst to its last paragraph.
    assert text.startswith("The US, Britain, Australia and Canada call on China")
    assert text.rstrip().endswith("completely antithetical to Canadian values”, he added.")
    assert "New Zealand, the other country of the Five Eyes security alliance, did not join the statement." in text


def test_london_daily_title_and_banner_date(articles):
    row = articles.set_index("article").loc[LONDON]
    assert row["title"] == "US taps allies to pressure China over Hong Kong national security law"
    # The banner date is the page's (2025), not the 2020 article's: kept apart, never the article date.
    assert row["date"] == ""
    assert row["page_date"] == "2025-11-12"
    assert "page banner" in row["date_source"]


def test_bloomberg_dateline_gives_date_and_outlet(articles, article_text):
    row = articles.set_index("article").loc[BLOOMBERG]
    assert (row["date"], row["date_source"], row["outlet"]) == ("2020-07-21", "dateline", "Bloomberg")
    assert article_text(BLOOMBERG).startswith("U.S. Secretary of State Michael Pompeo praised")
    assert "(Bloomberg) --" not in article_text(BLOOMBERG)


def test_short_quote_paragraph_and_subhead_stay():
    page = clean_page(BLOOMBERG_RAW)
    assert "“We support those sovereign choices. We think, well done,” Pompeo said." in page.text
    assert "‘Well Done’" in page.text


def test_scrape_without_paragraph_breaks_gets_glued_sentences_split(article_text):
    text = article_text("real/bbc_10.csv#bbc_10")
    assert "Why is Hong Kong worried? The city of two masks" in text
    assert "worried?The" not in text


def test_wire_dateline_after_a_caption_is_removed(articles, article_text):
    text = article_text("real/xinhua_12.csv#xinhua_12")
    assert "BEIJING, June 30 (Xinhua) --" not in text
    assert "Chinese lawmakers Tuesday voted to adopt" in text
    assert "Video Player" not in text and "1 2 3 Next" not in text


def test_real_export_has_its_columns(articles):
    row = articles.set_index("article").loc["real/bbc_10.csv#bbc_10"]
    assert row["title"] == "Hong Kong security law: Anger as China's Xi signs legislation"
    assert (row["date"], row["date_source"], row["outlet"]) == ("2020-06-30", "export column", "BBC")


def test_menu_share_and_copyright_lines_are_chrome():
    raw = ("Home | World | Business | Politics\nSign in\nSubscribe\n\nChina passes the law\n\n"
           "Share this article\n" + "The law was passed on Tuesday by the Standing Committee in Beijing, officials said. " * 2
           + "\n\nAdvertisement\n\n“It is regrettable,” the minister said in Tokyo on Wednesday afternoon.\n"
           "© 2020 Bloomberg L.P. All rights reserved.\n12 comments\n")
    page = clean_page(raw)
    for chrome in ["Home | World", "Sign in", "Subscribe", "Share this article", "Advertisement", "© 2020",
                   "12 comments"]:
        assert chrome not in page.text, chrome
    assert page.title == "China passes the law"
    assert "“It is regrettable,” the minister said" in page.text


# ---------------------------------------------------------------------------------------------
# Encodings
# ---------------------------------------------------------------------------------------------


def test_cp1252_curly_quotes_and_dashes_come_out_right(tmp_path):
    body = "“We deplore this decision,” the EU said – and Japan called it ‘regrettable’. " * 3
    articles, manifest = read_one(tmp_path, "cp1252.txt", body.encode("cp1252"))
    assert manifest["encoding"].iloc[0] == "cp1252"
    assert "“We deplore this decision,” the EU said – and Japan called it ‘regrettable’." in articles["text"].iloc[0]


def test_utf16_with_bom(tmp_path):
    body = "Japan called the law “regrettable”, its foreign minister said on Wednesday in Tokyo. " * 2
    articles, manifest = read_one(tmp_path, "utf16.txt", body.encode("utf-16"))
    assert manifest["status"].iloc[0] == "ok"
    assert articles["text"].iloc[0].startswith("Japan called the law “regrettable”")


def test_mojibake_is_repaired():
    broken = "China’s decision".encode("utf-8").decode("cp1252")
    assert broken != "China’s decision"
    fixed, fixes = repair_unicode(broken)
    assert fixed == "China’s decision" and fixes


def test_unicode_repair_by_lines_equals_ftfy_on_the_whole_text():
    """Plain-ASCII lines skip ftfy; the result must be what ftfy gives for the whole text, whatever the mix
    of clean lines, mojibake, carriage returns, control characters and terminal escapes."""
    import random

    import ftfy

    from hkpolicy.text import _fix_lines

    config = ftfy.TextFixerConfig(uncurl_quotes=False, fix_character_width=False, fix_latin_ligatures=False,
                                  explain=False, normalization="NFC", unescape_html=False)
    pieces = ["The minister said the law was regrettable.", "China’s decision".encode("utf-8").decode("cp1252"),
              "“Quoted”", "tab\there", "line\r", "bell\x07 ring", "\x1b[31mred\x1b[0m", "e\u0301", "",
              "DEL\x7f", "caf\xc3\xa9", "plain words, numbers 1-2-3 & symbols {}[]~", "\x0cform feed", "ｗｉｄｅ"]
    rng = random.Random(7)
    for _ in range(400):
        text = "\n".join(rng.choice(pieces) + rng.choice(["", " ", "\r"]) for _ in range(rng.randint(1, 8)))
        text += rng.choice(["", "\n", "\n\n"])
        assert _fix_lines(text, lambda chunk: ftfy.fix_text(chunk, config=config)) == ftfy.fix_text(text, config=config)


def test_binary_check_counts_control_bytes():
    from hkpolicy.text import _looks_binary

    text = b"Plain text with tabs\tand lines\n" * 10
    assert not _looks_binary(text)
    assert _looks_binary(text + b"\x01\x02\x03" * 40)  # 120 control bytes of 440: over 5%
    assert not _looks_binary(text + b"\x01" * 10)  # 10 of 330: under 5%


def test_glued_boundaries_are_found_as_before():
    """The glued-sentence and glued-word patterns are written for speed (the mark first); they must find
    what the plain formulations find."""
    import random
    import re

    from hkpolicy.text import _GLUED_SENTENCE, _GLUED_WORDS

    plain_sentence = re.compile(r"(?<=[a-z\d”’\"')]{2})([?!]|(?<=[a-z]{2})\.)(?=[A-Z][a-z])")
    plain_words = re.compile(r"(?<=[a-z]{3})(?=[A-Z][a-z]+[ ,])")
    rng = random.Random(3)
    alphabet = "abcxyzABCQ19.?!”’\"') ,\n"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(3000)]
    texts += ["the law.China said", "was it?Yes", "officialsSaid the", "abcDef ghiJkl,", "ab.Cd", "1a!Bc", "’’?Ab"]
    for text in texts:
        assert _GLUED_SENTENCE.subn(r"\1 ", text) == plain_sentence.subn(r"\1 ", text), text
        assert _GLUED_WORDS.subn(r"\g<0> ", text) == plain_words.subn(" ", text), text


def test_binary_content_is_detected():
    with pytest.raises(ValueError, match="binary content"):
        decode_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))


# ---------------------------------------------------------------------------------------------
# Formats
# ---------------------------------------------------------------------------------------------


def test_markdown_front_matter_and_markup(tmp_path):
    source = """---
title: Japan calls Hong Kong law regrettable
date: 2020-07-01
author: A. Reporter
url: https://example.org/japan-hk
---

# Japan calls Hong Kong law regrettable

![photo](https://example.org/a.jpg)

Japan's chief cabinet secretary called the **national security law** "regrettable" and said Tokyo would work with
[other countries](https://example.org/others) to respond to the situation in Hong Kong.

> It undermines confidence in one country, two systems, he told reporters in Tokyo.
"""
    articles, manifest = read_one(tmp_path, "japan.md", source)
    row = articles.iloc[0]
    assert (row["title"], row["date"], row["date_source"], row["author"], row["url"]) == (
        "Japan calls Hong Kong law regrettable", "2020-07-01", "front matter", "A. Reporter",
        "https://example.org/japan-hk")
    assert "**" not in row["text"] and "](" not in row["text"] and "![" not in row["text"] and "#" not in row["text"]
    assert "work with other countries to respond" in row["text"].replace("\n", " ")
    assert row["text"].count("Japan calls Hong Kong law regrettable") == 0


def test_html_main_text_and_metadata(tmp_path):
    html = """<html><head><title>EU deplores law | Example News</title>
<meta property="article:published_time" content="2020-06-30T10:00:00Z"></head><body>
<nav><a href="/">Home</a> | <a href="/world">World</a></nav>
<article><h1>EU deplores Hong Kong security law</h1>
<p>The European Union said on Tuesday that it deplored the decision to adopt the national security law,
which it said risked seriously undermining the high degree of autonomy of Hong Kong.</p>
<p>"We deplore this decision," European Council President Charles Michel told a news conference in Brussels,
adding that the bloc was discussing its response with international partners.</p>
<p>China's foreign ministry said the law was purely an internal affair and that no foreign country had the
right to interfere in Hong Kong affairs, which are China's internal affairs.</p></article>
<footer>© 2020 Example News. All rights reserved.</footer></body></html>"""
    articles, manifest = read_one(tmp_path, "eu.html", html)
    row = articles.iloc[0]
    assert manifest["status"].iloc[0] == "ok"
    assert "We deplore this decision" in row["text"]
    assert "Home" not in row["text"] and "All rights reserved" not in row["text"]
    assert row["date"] == "2020-06-30"


def test_export_with_odd_column_names(tmp_path):
    rows = [{"UID": "a/../../etc/x", "Headline": "Canada suspends extradition treaty", "published_at": "2020-07-03",
             "Body": "Canada suspended its extradition treaty with Hong Kong on Friday, Prime Minister Justin "
                     "Trudeau said, citing the new national security law.", "Publisher": "Wire"},
            {"UID": "", "Headline": "Empty one", "published_at": "2020-07-04", "Body": "", "Publisher": "Wire"}]
    folder = tmp_path / "corpus"
    folder.mkdir()
    pd.DataFrame(rows).to_csv(folder / "export.csv", index=False)
    articles, manifest = read_corpus(folder)
    assert len(articles) == 1
    row = articles.iloc[0]
    assert row["article"].startswith("export.csv#") and "/" not in row["article"].split("#", 1)[1]
    assert (row["title"], row["date"], row["outlet"]) == ("Canada suspends extradition treaty", "2020-07-03", "Wire")
    skipped = manifest[manifest["status"] == "skipped"]
    assert skipped["article"].tolist() == ["export.csv#2"] and skipped["reason"].tolist() == ["empty text"]


def test_export_text_column_named_by_the_user(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    pd.DataFrame([{"id": "r1", "story_html_free": "Britain offered a path to citizenship to BN(O) passport "
                   "holders in Hong Kong, Foreign Secretary Dominic Raab told parliament."}]).to_csv(
        folder / "odd.csv", index=False)
    _, manifest = read_corpus(folder)
    assert manifest["status"].tolist() == ["skipped"]
    assert "no text column found" in manifest["reason"].iloc[0]
    articles, _ = read_corpus(folder, columns={"text": "story_html_free"})
    assert articles["article"].tolist() == ["odd.csv#r1"]


def test_jsonl_with_a_broken_line(tmp_path):
    good = {"id": "1", "title": "NZ reviews ties", "date": "2020-07-28",
            "text": "New Zealand suspended its extradition treaty with Hong Kong, Foreign Minister Winston Peters said."}
    content = json.dumps(good) + "\n{not json\n" + json.dumps(dict(good, id="3", text="")) + "\n"
    articles, manifest = read_one(tmp_path, "feed.jsonl", content)
    assert articles["article"].tolist() == ["feed.jsonl#1"]
    reasons = dict(zip(manifest["article"], manifest["reason"]))
    assert reasons["feed.jsonl#2"] == "invalid JSON on line 2"
    assert manifest.set_index("article").loc["feed.jsonl#2", "status"] == "error"
    assert manifest.set_index("article").loc["feed.jsonl#3", "status"] == "skipped"


# ---------------------------------------------------------------------------------------------
# Bad input: every file gets a manifest row with a plain reason
# ---------------------------------------------------------------------------------------------


def test_bad_inputs_are_recorded_not_dropped(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("Beijing said the law would restore stability in Hong Kong, officials told reporters.")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.md").write_text("   \n\n  ")
    (folder / "scan.pdf").write_bytes(b"%PDF-1.4 fake")
    (folder / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)))
    (folder / "chrome_only.txt").write_text("Home | World | Business\nSign in\nSubscribe\nAdvertisement\n")
    (folder / "french.txt").write_text(
        "Le gouvernement chinois a adopté la loi sur la sécurité nationale à Hong Kong, une décision que "
        "l'Union européenne a vivement critiquée dans un communiqué publié mardi soir par ses ministres. " * 3)
    (folder / "link.txt").symlink_to(outside)
    (folder / "broken.json").write_text('{"articles": [ {"id": 1, ')
    (folder / "good.txt").write_text("Japan called the national security law regrettable, the chief cabinet "
                                     "secretary told reporters in Tokyo on Wednesday.")
    articles, manifest = read_corpus(folder)
    reasons = dict(zip(manifest["source_file"], zip(manifest["status"], manifest["reason"])))
    assert reasons["empty.txt"] == ("skipped", "empty file")
    assert reasons["blank.md"] == ("skipped", "empty file")
    assert reasons["scan.pdf"] == ("skipped", "unsupported format .pdf")
    assert reasons["image.txt"] == ("error", "binary content")
    assert reasons["chrome_only.txt"] == ("skipped", "no text after cleaning")
    assert reasons["french.txt"] == ("skipped", "not English (language: fr)")
    assert reasons["link.txt"] == ("skipped", "symbolic link leading outside the corpus")
    assert reasons["broken.json"][0] == "error" and reasons["broken.json"][1].startswith("invalid JSON")
    assert reasons["good.txt"] == ("ok", "")
    assert len(manifest) == 9 and articles["article"].tolist() == ["good.txt"]


def test_huge_single_line_page_is_read(tmp_path):
    sentence = "Beijing said the national security law would restore stability to Hong Kong after a year of unrest. "
    articles, manifest = read_one(tmp_path, "huge.txt", sentence * 50_000)  # about 5 MB on one line
    assert manifest["status"].iloc[0] == "ok"
    assert articles["n_chars"].iloc[0] > 4_900_000


# ---------------------------------------------------------------------------------------------
# Command line and determinism
# ---------------------------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hkpolicy.cli", *args], capture_output=True, text=True, cwd=ROOT)


def test_cli_missing_folder_is_one_line_error(tmp_path):
    result = run_cli("run", str(tmp_path / "nope"), "--out", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("hkpolicy: error: corpus folder not found")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_cli_unwritable_out_is_one_line_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_cli("run", str(SEEDS), "--out", str(blocker / "out"), "--quiet")
    assert result.returncode == 1
    assert "cannot write to" in result.stderr and "Traceback" not in result.stderr


def test_run_twice_gives_byte_identical_files(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        result = run_cli("run", str(SEEDS), "--out", str(out), "--quiet", "--workers", "1")
        assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in first.glob("*.csv"))
    assert {"manifest.csv", "articles.csv", "claims.csv", "stance_by_article.csv", "stance_by_nation.csv"} <= set(names)
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_repeated_export_ids_are_made_unique(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    text = "Australia suspended its extradition treaty with Hong Kong, Prime Minister Scott Morrison said."
    pd.DataFrame([{"id": "7", "text": text}, {"id": "7", "text": text + " He added more."}]).to_csv(
        folder / "e.csv", index=False)
    articles, manifest = read_corpus(folder)
    assert articles["article"].tolist() == ["e.csv#7", "e.csv#7~2"]
    assert manifest["article"].is_unique


def test_corpus_names_walk_in_the_order_of_sorted_relative_paths(tmp_path):
    """The corpus is listed folder by folder (a streamed run never holds every path), yet in the order of
    the sorted relative paths, where "a-b" < "a/..." < "a0" < "a.txt"... as strings: awkward names,
    nested folders, a link to a folder (an entry, not walked) and a broken link."""
    import os

    from hkpolicy.ingest import corpus_files, corpus_names

    names = ["a/z.txt", "a-b.txt", "a.txt", "a0.txt", "a/b/c.txt", "a/b-c.txt", "a/b.txt", "ab/1.txt",
             "b.csv", "a/b/c/d.txt", "A.txt", "_x.txt", "é.txt", "a!.txt", "a/ b.txt"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x", encoding="utf-8")
    os.symlink(tmp_path / "ab", tmp_path / "a/link")
    os.symlink(tmp_path / "missing.txt", tmp_path / "broken.txt")
    expected = sorted(names + ["a/link", "broken.txt"])
    assert list(corpus_names(tmp_path)) == expected
    assert corpus_files(tmp_path) == [tmp_path / name for name in expected]
    assert list(corpus_names(tmp_path / "b.csv")) == ["b.csv"]


def test_missing_cells_of_every_kind_read_as_empty():
    """None, a float NaN and pandas' NA (a nullable column's empty cell) are all missing: no date, no
    text for the duplicate index, an empty CSV cell (``io.is_missing``, shared by all three)."""
    import pandas as pd

    from hkpolicy.duplicates import fingerprints
    from hkpolicy.io import csv_rows
    from hkpolicy.text import parse_date

    assert [parse_date(value) for value in (None, float("nan"), pd.NA)] == ["", "", ""]
    assert parse_date("30 June 2020") == "2020-06-30"
    articles = pd.DataFrame({"article": ["a", "b"], "text": pd.array([pd.NA, "Five words are in here."],
                                                                     dtype="string")})
    assert fingerprints(articles)["length"] == [0, 23]
    assert csv_rows(pd.DataFrame({"x": pd.array(["y", pd.NA], dtype=object)})) == "y\n\"\"\n"
