"""Figures: each returns a Figure with names (not codes), a title and a source line; empty input gives a
"No data" figure; saving is byte-identical on re-runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from hkpolicy import plots
from hkpolicy.io import read_table, write_table
from hkpolicy.tables import by_article, by_nation

NAMES = {"USA": "United States", "CHN": "China", "HKG": "Hong Kong", "GBR": "United Kingdom",
         "EUU": "European Union", "NZL": "New Zealand"}
CODES = set(NAMES)

FOUR_NATION = "seeds/london_daily_four_nation_statement.txt"
BLOOMBERG = "seeds/bloomberg_pompeo_raab_coalition.txt"
NZ_TREATY = "exports/reuters.csv#r17"
EU_RESPONSE = "exports/reuters.csv#r22"
LAM_INTERVIEW = "seeds/scmp_carrie_lam_interview.html"
LONDON_RALLY = "notes/london_rally.md"

ARTICLES = [
    (FOUR_NATION, "Joint statement on Hong Kong by the UK, US, Australia and Canada", "2020-05-28", "London Daily"),
    (BLOOMBERG, "Pompeo and Raab rally allies against Hong Kong security law", "2020-07-01", "Bloomberg"),
    (NZ_TREATY, "New Zealand suspends extradition treaty with Hong Kong", "2020-07-28", "Reuters"),
    (EU_RESPONSE, "EU agrees coordinated response to Hong Kong security law", "2020-07-24", "Reuters"),
    (LAM_INTERVIEW, "Carrie Lam defends national security law", "", "SCMP"),
    (LONDON_RALLY, "Exiled activists rally in London as trials begin", "2021-04-19", "Guardian"),
]

# article, nation, actor, stance, score, tone, sentence
CLAIMS = [
    (FOUR_NATION, "USA", "Mike Pompeo", "oppose", -0.8, -0.34,
     "The United States said the law would curtail the Hong Kong people's liberties."),
    (FOUR_NATION, "GBR", "Dominic Raab", "oppose", -0.9, -0.42,
     "Britain said the law lies in direct conflict with China's obligations under the Joint Declaration."),
    (FOUR_NATION, "CHN", "Zhao Lijian", "support", 0.7, -0.62,
     "China's foreign ministry said it firmly opposes foreign interference in Hong Kong affairs."),
    (BLOOMBERG, "USA", "Mike Pompeo", "oppose", -0.9, -0.51,
     "Pompeo said the law destroys the territory's autonomy and one of China's greatest achievements."),
    (BLOOMBERG, "USA", "State Department", "oppose", -0.7, -0.2,
     "Washington will end Hong Kong's special trade status in response to the law."),
    (BLOOMBERG, "GBR", "Dominic Raab", "oppose", -0.8, -0.45,
     "Raab called the law a clear and serious breach of the Sino-British Joint Declaration."),
    (BLOOMBERG, "CHN", "Hua Chunying", "support", 0.8, -0.71,
     "Beijing condemned the so-called sanctions as gross interference in China's internal affairs."),
    (BLOOMBERG, "HKG", "Carrie Lam", "support", 0.6, 0.44,
     "Carrie Lam said the law would restore stability and protect the vast majority of residents."),
    (NZ_TREATY, "NZL", "Winston Peters", "oppose", -0.7, -0.23,
     "Winston Peters said the law eroded the rule-of-law principles that underpin the treaty."),
    (NZ_TREATY, "CHN", "Chinese embassy", "support", 0.5, -0.55,
     "The Chinese embassy in Wellington said New Zealand had grossly interfered in China's internal affairs."),
    (EU_RESPONSE, "EUU", "Josep Borrell", "oppose", -0.6, -0.1,
     "Borrell said the law risks seriously undermining the high degree of autonomy of Hong Kong."),
    (EU_RESPONSE, "EUU", "Josep Borrell", "neutral", 0.0, 0.3,
     "The EU said it would continue to engage with China on the matter."),
    (EU_RESPONSE, "HKG", "HKSAR government", "support", 0.5, 0.2,
     "The HKSAR government said the law fills a gap in Hong Kong's security defences."),
    (LAM_INTERVIEW, "HKG", "Carrie Lam", "support", 0.8, 0.52,
     "Lam said the law has brought back peace and calm to the city."),
    (LAM_INTERVIEW, "CHN", "Xinhua", "support", 0.6, 0.12,
     "Xinhua said the law is a guardian of Hong Kong's prosperity."),
    (LAM_INTERVIEW, "NZL", "Jacinda Ardern", "neutral", 0.0, 0.0,
     "Ardern said New Zealand was reviewing its settings with Hong Kong."),
    (LONDON_RALLY, "GBR", "Foreign Office", "oppose", -0.5, -0.3,
     "The Foreign Office said the trials showed the law was being used to silence dissent."),
    (LONDON_RALLY, "EUU", "EU spokesperson", "neutral", 0.0, 0.1,
     "An EU spokesperson said the bloc was following the trials closely."),
    # Mentions that do not vote: off target, or no stance.
    (BLOOMBERG, "EUU", "", "", 0.0, 0.0, "Officials in Brussels were expected to discuss trade on Friday."),
    (NZ_TREATY, "USA", "", "", 0.0, 0.25, "The United States has a similar treaty with Hong Kong."),
]


def make_articles() -> pd.DataFrame:
    return pd.DataFrame([{"article": a, "title": t, "date": d, "outlet": o, "duplicate_of": ""}
                         for a, t, d, o in ARTICLES])


def make_claims() -> pd.DataFrame:
    dates = {a: d for a, _, d, _ in ARTICLES}
    rows, offsets = [], {}
    for article, nation, actor, stance, score, tone, text in CLAIMS:
        start = offsets.get(article, 0)
        offsets[article] = start + len(text) + 1
        rows.append({
            "article": article, "sentence_id": len([r for r in rows if r["article"] == article]), "start": start,
            "end": start + len(text), "date": dates[article], "nation": nation, "actor": actor,
            "actor_kind": "official" if actor else "", "speech": "said", "text": text, "quote": "",
            "on_target": bool(stance), "target_terms": "national security law" if stance else "", "stance": stance,
            "score": score, "cues": "", "tone": tone, "method": "rules"})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    claims = make_claims()
    stance_by_article = by_article(claims, names=NAMES)
    return {"articles": make_articles(), "claims": claims, "stance_by_article": stance_by_article,
            "stance_by_nation": by_nation(stance_by_article, names=NAMES)}


@pytest.fixture(scope="module")
def source(tables) -> str:
    return plots.source_line(tables["articles"])


def figure_texts(fig: Figure) -> list[str]:
    """Every piece of text a reader sees: titles, tick labels, axis labels, texts, legends."""
    texts = [text.get_text() for text in fig.findobj(lambda artist: hasattr(artist, "get_text"))]
    return [text for text in texts if text]


def tick_labels(ax, axis: str) -> list[str]:
    getter = ax.get_yticklabels if axis == "y" else ax.get_xticklabels
    return [label.get_text() for label in getter()]


def assert_readable(fig: Figure, source: str, title_words: str) -> None:
    assert isinstance(fig, Figure)
    assert title_words.lower() in fig.get_suptitle().lower()
    assert source in [text.get_text().replace("\n", " ") for text in fig.texts]
    for text in figure_texts(fig):
        assert not set(text.replace(",", " ").replace("(", " ").replace(")", " ").split()) & CODES, text


# ---------------------------------------------------------------------------------------------
# Source line
# ---------------------------------------------------------------------------------------------


def test_source_line_counts_articles_and_date_range(tables):
    assert plots.source_line(tables["articles"]) == \
        "Source: hkpolicy, 6 articles (1 undated), 2020-05-28 to 2021-04-19"


def test_source_line_leaves_duplicates_out_and_handles_empty():
    articles = make_articles()
    articles.loc[0, "duplicate_of"] = BLOOMBERG
    assert plots.source_line(articles).startswith("Source: hkpolicy, 5 articles (1 undated), 2020-07-01 to")
    assert plots.source_line(articles.head(0)) == "Source: hkpolicy, 0 articles"
    assert plots.source_line(None) == "Source: hkpolicy, 0 articles"
    assert plots.source_line(articles.iloc[[1]]) == "Source: hkpolicy, 1 article, 2020-07-01"


# ---------------------------------------------------------------------------------------------
# 1. Net stance
# ---------------------------------------------------------------------------------------------


def test_net_stance_bars_are_sorted_with_names_counts_and_intervals(tables, source):
    nations = tables["stance_by_nation"]
    fig = plots.plot_net_stance(nations, source=source)
    assert_readable(fig, source, "where each nation stands")
    ax = fig.axes[0]
    expected = nations.sort_values("score", kind="stable")["name"].tolist()
    assert tick_labels(ax, "y") == expected
    assert tick_labels(ax, "y")[0] == "United States" and tick_labels(ax, "y")[-1] in {"China", "Hong Kong"}
    widths = [bar.get_width() for bar in ax.patches]
    assert widths == sorted(widths)
    assert min(widths) < 0 < max(widths)
    # Bar colours follow the stance (Okabe-Ito): the most opposed is vermillion, the most supportive blue.
    assert ax.patches[0].get_facecolor()[:3] == pytest.approx((0xD5 / 255, 0x5E / 255, 0))
    assert ax.patches[-1].get_facecolor()[:3] == pytest.approx((0, 0x72 / 255, 0xB2 / 255))
    texts = figure_texts(fig)
    usa = nations.set_index("nation").loc["USA"]
    assert any(f"n={usa.n_claims} claims, {usa.n_articles} articles" in text for text in texts)
    assert any("n=1 claim, 1 article" in text for text in texts) or (nations["n_claims"] > 1).all()
    # One error bar per nation with a real interval (more than one article).
    with_interval = int((nations["ci_high"] - nations["ci_low"] > 1e-9).sum())
    assert with_interval > 0
    assert len(ax.collections[-1].get_segments()) == with_interval
    assert any(line.get_xdata()[0] == 0 for line in ax.lines)  # the zero line


def test_net_stance_handles_nan_interval_and_csv_round_trip(tables, source, tmp_path):
    nations = tables["stance_by_nation"].copy()
    nations.loc[0, ["ci_low", "ci_high"]] = np.nan
    path = write_table(nations, tmp_path / "stance_by_nation.csv")
    back = read_table(path)  # numbers with gaps come back as strings
    fig = plots.plot_net_stance(back, source=source)
    assert tick_labels(fig.axes[0], "y") == nations.sort_values("score", kind="stable")["name"].tolist()
    fig.draw_without_rendering()


# ---------------------------------------------------------------------------------------------
# 2. Heatmap
# ---------------------------------------------------------------------------------------------


def test_heatmap_orders_articles_by_date_with_undated_last(tables, source):
    cells = tables["stance_by_article"]
    fig = plots.plot_stance_heatmap(cells, articles=tables["articles"], source=source)
    assert_readable(fig, source, "article by article")
    ax = fig.axes[0]
    columns = tick_labels(ax, "x")
    assert [label.split("\n")[-1] for label in columns] == \
        ["2020-05-28", "2020-07-01", "2020-07-24", "2020-07-28", "2021-04-19", "undated"]
    assert columns[0].startswith("Joint statement on Hong")
    assert columns[-1].startswith("Carrie Lam defends")
    assert all(len(label.split("\n")[0]) <= 34 for label in columns)
    assert set(tick_labels(ax, "y")) == set(NAMES.values())
    image = ax.images[0]
    assert image.get_clim() == (-1, 1)
    data = image.get_array()
    assert int((~np.ma.getmaskarray(data)).sum()) == len(cells)  # one coloured cell per row, the rest blank
    words = [text.get_text() for text in ax.texts]
    assert sorted(words) == sorted(plots.STANCE_SHORT[s] for s in cells["stance"])
    # New Zealand is neutral in the undated interview: "neu" in the last column of its row.
    row = tick_labels(ax, "y").index("New Zealand")
    assert any(text.get_text() == "neu" and text.get_position() == (len(columns) - 1, row) for text in ax.texts)


def test_heatmap_without_articles_uses_ids():
    cells = by_article(make_claims(), names=NAMES)
    fig = plots.plot_stance_heatmap(cells)
    columns = tick_labels(fig.axes[0], "x")
    assert any(label.startswith("london daily four nation") for label in columns)
    assert any(label.startswith("r17") for label in columns)


# ---------------------------------------------------------------------------------------------
# 3. Timeline
# ---------------------------------------------------------------------------------------------


def test_timeline_counts_dated_voting_claims_per_week(tables, source):
    claims = tables["claims"]
    fig = plots.plot_timeline(claims, source=source)
    ax = fig.axes[0]
    voting = claims[claims["on_target"] & (claims["stance"] != "")]
    undated = int((voting["date"] == "").sum())
    assert undated == 3
    assert sum(bar.get_height() for bar in ax.patches) == len(voting) - undated
    note = f"{source} \u00b7 {len(voting) - undated} voting claims shown; {undated} without a date left out"
    assert_readable(fig, note, "per week")
    assert ax.get_ylabel() == "Voting claims per week"
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend == ["Opposes the law", "Neutral", "Supports the law"]
    # Weekly bars: the support bars sit in the weeks of 2020-05-28, 2020-07-01, 2020-07-24 and 2020-07-28.
    assert any("Law in force" in text for text in figure_texts(fig))


def test_timeline_monthly_and_all_undated():
    claims = make_claims()
    for freq in ("M", "ME", "MS"):  # period and offset aliases alike
        fig = plots.plot_timeline(claims, freq=freq)
        assert fig.axes[0].get_ylabel() == "Voting claims per month"
        # May 2020 (3), July 2020 (10) and April 2021 (2) have claims; the months between are there, empty.
        heights = {}
        for bar in fig.axes[0].patches:
            heights[bar.get_x()] = heights.get(bar.get_x(), 0) + bar.get_height()
        assert len(heights) == 12  # May 2020 to April 2021
        assert sorted(h for h in heights.values() if h) == [2, 3, 10]
    assert plots.plot_timeline(claims, freq="2W").axes[0].get_ylabel() == "Voting claims per 2 weeks"
    undated = claims.assign(date="")
    fig = plots.plot_timeline(undated, source="Source: test")
    texts = figure_texts(fig)
    assert any(text.startswith("No data") for text in texts)
    assert any("0 voting claims shown; 18 without a date left out" in text for text in texts)


# ---------------------------------------------------------------------------------------------
# 4. Coalitions
# ---------------------------------------------------------------------------------------------


def test_coalitions_show_blocs_and_agreement(tables, source):
    fig = plots.plot_coalitions(tables["stance_by_article"], source=source)
    assert_readable(fig, source, "who stands with whom")
    ax = fig.axes[0]
    rows = [label.split("  ")[0] for label in tick_labels(ax, "y")]
    assert rows == tick_labels(ax, "x")
    assert set(rows) == set(NAMES.values())
    assert rows.index("United States") < rows.index("China")
    share = ax.images[0].get_array()
    usa, gbr, chn, hkg = (rows.index(name) for name in ("United States", "United Kingdom", "China", "Hong Kong"))
    assert share[usa, gbr] == 1.0 and share[gbr, usa] == 1.0  # together in two articles, both opposed
    assert share[usa, chn] == 0.0  # together in two articles, never on the same side
    assert share[chn, hkg] == 1.0
    assert np.ma.getmaskarray(share)[usa, usa]
    cell_texts = {(t.get_position(), t.get_text()) for t in ax.texts}
    assert ((gbr, usa), "100%\nof 2") in cell_texts
    # Labels are coloured by bloc.
    colours = {label.get_text().split("  ")[0]: label.get_color() for label in ax.get_yticklabels()}
    assert colours["United States"] == plots.OPPOSE_COLOUR and colours["China"] == plots.SUPPORT_COLOUR


def test_coalitions_need_two_nations(tables):
    china = tables["stance_by_article"][tables["stance_by_article"]["nation"] == "CHN"]
    fig = plots.plot_coalitions(china, source="Source: test")
    assert any(text.startswith("No data: only one nation") for text in figure_texts(fig))


# ---------------------------------------------------------------------------------------------
# 5. Tone vs stance
# ---------------------------------------------------------------------------------------------


def test_tone_vs_stance_labels_nations_and_the_backwards_quadrant(tables, source):
    fig = plots.plot_tone_vs_stance(tables["claims"], names=NAMES, source=source)
    assert_readable(fig, source, "sentiment is not stance")
    ax = fig.axes[0]
    labels = {text.get_text() for text in ax.texts}
    assert set(NAMES.values()) <= labels
    assert "tone" in ax.get_xlabel().lower() and "stance" in ax.get_ylabel().lower()
    quadrant = [text for text in ax.texts if text.get_text().startswith("Negative tone, supports the law")]
    assert len(quadrant) == 1
    assert "3 claims here: a sentiment score" in quadrant[0].get_text()  # the three Chinese statements condemning interference
    assert ax.get_xlim() == pytest.approx((-1.08, 1.08)) and ax.get_ylim() == pytest.approx((-1.08, 1.08))
    # China: negative mean tone, positive mean stance.
    china = next(t for t in ax.texts if t.get_text() == "China")
    x, y = china.xy
    assert x < 0 < y
    # Labels do not overlap each other.
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts if t.get_text() in NAMES.values()]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b)


def test_tone_vs_stance_labels_of_crowded_nations_do_not_overlap():
    # Six nations whose means fall within a few hundredths of each other.
    claims = make_claims().head(0)
    rows = [dict(article=f"a{i}", sentence_id=0, start=0, end=10, date="2020-07-01", nation=code, actor="",
                 actor_kind="official", speech="said", text="The law erodes freedoms.", quote="", on_target=True,
                 target_terms="law", stance="oppose", score=-0.7 + 0.01 * i, cues="", tone=-0.3 + 0.015 * i,
                 method="rules") for i, code in enumerate(NAMES)]
    fig = plots.plot_tone_vs_stance(pd.DataFrame(rows, columns=claims.columns), names=NAMES)
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    labels = [t for t in fig.axes[0].texts if t.get_text() in NAMES.values()]
    assert len(labels) == len(NAMES)
    boxes = [Text.get_window_extent(t, renderer) for t in labels]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b)


def test_tone_vs_stance_falls_back_to_codes():
    fig = plots.plot_tone_vs_stance(make_claims(), names={"USA": "United States"})
    labels = {text.get_text() for text in fig.axes[0].texts}
    assert "United States" in labels and "CHN" in labels


# ---------------------------------------------------------------------------------------------
# Empty input
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("plot, table", [
    (plots.plot_net_stance, "stance_by_nation"),
    (plots.plot_stance_heatmap, "stance_by_article"),
    (plots.plot_timeline, "claims"),
    (plots.plot_coalitions, "stance_by_article"),
    (plots.plot_tone_vs_stance, "claims"),
])
def test_empty_tables_give_a_no_data_figure(plot, table, tables):
    for empty in (tables[table].head(0), pd.DataFrame()):
        fig = plot(empty, source="Source: hkpolicy, 0 articles")
        assert isinstance(fig, Figure)
        assert fig.get_suptitle()
        texts = figure_texts(fig)
        assert any(text.startswith("No data") for text in texts)
        assert any("Source: hkpolicy, 0 articles" in text for text in texts)
        fig.draw_without_rendering()


def test_claims_without_votes_give_no_data(tables):
    mentions = tables["claims"][tables["claims"]["stance"] == ""]
    assert any(t.startswith("No data") for t in figure_texts(plots.plot_tone_vs_stance(mentions)))
    assert any(t.startswith("No data") for t in figure_texts(plots.plot_timeline(mentions)))


# ---------------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------------


def test_save_figure_is_byte_identical_on_rerun(tables, source, tmp_path):
    first = plots.save_figure(plots.plot_net_stance(tables["stance_by_nation"], source=source),
                              tmp_path / "a" / "deep" / "net_stance")
    second = plots.save_figure(plots.plot_net_stance(tables["stance_by_nation"], source=source),
                               tmp_path / "b" / "net_stance")
    assert [p.name for p in first] == ["net_stance.png", "net_stance.svg"]
    for one, two in zip(first, second):
        assert one.read_bytes() == two.read_bytes()
    assert first[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = first[1].read_text(encoding="utf-8")
    assert "<svg" in svg and "dc:date" not in svg
    # The same figure object saved again is identical too.
    fig = plots.plot_tone_vs_stance(tables["claims"], names=NAMES, source=source)
    again = [plots.save_figure(fig, tmp_path / f"tone{i}") for i in range(2)]
    for one, two in zip(*again):
        assert one.read_bytes() == two.read_bytes()


def test_make_all_figures_writes_ten_files(tables, tmp_path):
    paths = plots.make_all_figures(tables, tmp_path / "figures")
    assert [p.name for p in paths] == [f"{name}.{suffix}" for name in plots.FIGURE_NAMES
                                       for suffix in ("png", "svg")]
    assert all(p.exists() and p.stat().st_size > 1000 for p in paths)
    # Names for the claims figure come from the stance tables when none are given.
    assert plots._names_from_tables(tables, None) == NAMES
    assert plots._names_from_tables(tables, {"CHN": "PRC"})["CHN"] == "PRC"
