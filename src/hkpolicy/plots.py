"""Figures: where each nation stands, built from the pipeline's tables, one function per figure.

Every ``plot_*`` function takes the tables (pandas DataFrames, as written by ``pipeline.run_study`` or read
back with ``io.read_table``) and returns a ``matplotlib.figure.Figure``; nothing here touches pyplot, so
no window opens and no global backend is chosen (each figure gets its own Agg canvas).

    plot_net_stance(stance_by_nation)       net stance score per nation, 95% bootstrap interval, counts
    plot_stance_heatmap(stance_by_article)  nation x article (articles in date order), score per cell
    plot_timeline(claims, freq="W")         voting claims per week, stacked by stance
    plot_coalitions(stance_by_article)      nation x nation agreement in the articles both appear in
    plot_tone_vs_stance(claims)             VADER tone against stance score: sentiment is not stance
    save_figure(fig, path)                  PNG (150 dpi) + SVG, byte-identical on re-runs (the layout is
                                            frozen first: ``freeze_layout``)
    make_all_figures(tables, out_dir)       all five, saved under their names

Colours (colour-blind safe, Okabe-Ito): oppose = vermillion ``#D55E00``, support = blue ``#0072B2``,
neutral = grey ``#999999``. Scores in [-1, 1] use ``STANCE_CMAP``, a diverging map from vermillion (-1,
opposes the law) through near-white (0) to blue (+1, supports it); the coalition matrix uses the
sequential ``Purples`` map (share of shared articles where two nations take the same stance).

Labels always show nation names (the tables' ``name`` column, or a ``names`` {code: name} mapping for
the claims table), never codes unless no name is known. Every figure carries a title, a line saying how
to read it, and a source line at the bottom (``source_line(articles)`` builds the usual one). An empty
table gives a figure saying "No data" rather than an exception.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.layout_engine import ConstrainedLayoutEngine, PlaceHolderLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Bbox

OPPOSE_COLOUR = "#D55E00"   # Okabe-Ito vermillion
SUPPORT_COLOUR = "#0072B2"  # Okabe-Ito blue
NEUTRAL_COLOUR = "#999999"  # grey
HIGHLIGHT_COLOUR = "#F0E442"  # Okabe-Ito yellow, for the "sentiment is not stance" quadrant
TEXT_GREY = "#4D4D4D"
STANCES = ("oppose", "neutral", "support")
STANCE_COLOURS = {"oppose": OPPOSE_COLOUR, "support": SUPPORT_COLOUR, "neutral": NEUTRAL_COLOUR, "": "#DDDDDD"}
STANCE_SHORT = {"oppose": "opp", "support": "sup", "neutral": "neu"}
STANCE_WORDS = {"oppose": "opposes", "support": "supports", "neutral": "neutral"}
STANCE_CMAP = LinearSegmentedColormap.from_list("hkpolicy_stance", [OPPOSE_COLOUR, "#F7F7F7", SUPPORT_COLOUR])
AGREEMENT_CMAP = "Purples"
NEVER_TOGETHER = "#D4D4D4"  # coalition cells of two nations never quoted in the same article
LAW_DATE = ("2020-06-30", "Law in force\n30 Jun 2020")
FIGURE_NAMES = ("net_stance", "stance_heatmap", "timeline", "coalitions", "tone_vs_stance")
SOURCE_FONTSIZE = 8
PERIOD_WORDS = {"D": "day", "W": "week", "M": "month", "ME": "month", "MS": "month", "Q": "quarter",
                "QE": "quarter", "QS": "quarter", "Y": "year", "YE": "year", "YS": "year", "A": "year"}

MINUS = "\u2212"


# ---------------------------------------------------------------------------------------------
# Table helpers: tables may come straight from the pipeline or back from CSV (strings, pd.NA)
# ---------------------------------------------------------------------------------------------


def _text(series: pd.Series) -> pd.Series:
    """Strings, missing values as ""."""
    values = series.astype(object)
    return values.where(series.notna(), "").astype(str).str.strip()


def _num(series: pd.Series) -> pd.Series:
    """Floats, unparsable or missing values as NaN (CSV round trips turn numbers with gaps into strings)."""
    values = pd.to_numeric(series.astype(object).where(series.notna(), np.nan), errors="coerce")
    return pd.Series(np.asarray(values, dtype=float), index=series.index)


def _truthy(series: pd.Series) -> pd.Series:
    return series.map(lambda value: str(value).strip().lower() in {"true", "1", "1.0", "yes", "t", "y"})


def _dates(series: pd.Series) -> pd.Series:
    """Timestamps (NaT when empty or unparsable); ISO dates first, then anything dateutil reads."""
    text = _text(series)
    dates = pd.to_datetime(text.where(text != ""), errors="coerce", format="ISO8601")
    missing = dates.isna() & (text != "")
    if missing.any():
        dates[missing] = pd.to_datetime(text[missing], errors="coerce", format="mixed")
    return dates


def _column(frame: pd.DataFrame, name: str, default="") -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series([default] * len(frame), index=frame.index, dtype=object)


def _is_empty(frame) -> bool:
    return frame is None or not isinstance(frame, pd.DataFrame) or len(frame) == 0


def _display_names(frame: pd.DataFrame, names: dict[str, str] | None = None) -> pd.Series:
    """A display name per row: the ``names`` mapping, then the table's ``name`` column, then the code."""
    codes = _text(_column(frame, "nation"))
    table_names = _text(_column(frame, "name"))
    names = names or {}
    return pd.Series([names.get(code) or table_name or code for code, table_name in zip(codes, table_names)],
                     index=frame.index, dtype=object)


def _stance_of(score: float) -> str:
    """The label of a net score (same rule as ``tables.net_stance``)."""
    if not np.isfinite(score):
        return ""
    if score > 1e-9:
        return "support"
    if score < -1e-9:
        return "oppose"
    return "neutral"


def _signed(value: float, digits: int = 2) -> str:
    """``+0.85`` / ``−0.60`` with a real minus sign."""
    text = f"{value:+.{digits}f}"
    return text.replace("-", MINUS)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _shorten(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    if len(text) <= width:
        return text
    cut = text[:width - 1]
    if " " in cut[width // 2:]:  # end on a whole word when that keeps at least half
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip(" ,;:-") + "\u2026"


def _voting(claims: pd.DataFrame) -> pd.DataFrame:
    """Claims that vote: on target with an oppose / support / neutral stance."""
    if _is_empty(claims):
        return pd.DataFrame(columns=list(claims.columns) if isinstance(claims, pd.DataFrame) else [])
    stance = _text(_column(claims, "stance")).str.lower()
    on_target = _truthy(_column(claims, "on_target", True))
    votes = claims[on_target & stance.isin(STANCES)].copy()
    votes["stance"] = stance[votes.index]
    return votes


# ---------------------------------------------------------------------------------------------
# Figure scaffolding: a figure with room for the source line, a title, a subtitle, "no data"
# ---------------------------------------------------------------------------------------------


def source_line(articles: pd.DataFrame | None, label: str = "hkpolicy") -> str:
    """"Source: hkpolicy, 14 articles, 2020-06-28 to 2021-04-19" from the articles table.

    Articles marked as duplicates of another (``duplicate_of`` non-empty) are not counted: they do not
    vote in the tables. Undated articles are counted and said so.
    """
    if _is_empty(articles):
        return f"Source: {label}, 0 articles"
    frame = articles
    if "duplicate_of" in frame.columns:
        frame = frame[_text(frame["duplicate_of"]) == ""]
    dates = _dates(_column(frame, "date")).dropna()
    n_undated = len(frame) - len(dates)
    text = f"Source: {label}, {_plural(len(frame), 'article')}"
    if n_undated:
        text += f" ({n_undated} undated)"
    if len(dates):
        first, last = dates.min().strftime("%Y-%m-%d"), dates.max().strftime("%Y-%m-%d")
        text += f", {first}" if first == last else f", {first} to {last}"
    return text


def _figure(width: float, height: float, source: str) -> Figure:
    """A figure with constrained layout, leaving a band at the bottom for the (wrapped) source line."""
    chars = max(40, int(width * 72 / (SOURCE_FONTSIZE * 0.56)))
    lines = textwrap.wrap(source, chars) if source else []
    band = (0.2 + 0.15 * len(lines)) if lines else 0.05
    fig = Figure(figsize=(width, height), layout=ConstrainedLayoutEngine(rect=(0, band / height, 1, 1 - band / height)))
    FigureCanvasAgg(fig)
    if lines:
        fig.text(0.01, 0.06 / height, "\n".join(lines), ha="left", va="bottom", fontsize=SOURCE_FONTSIZE,
                 color=TEXT_GREY, gid="source")
    return fig


def _legend_top(ax, handles: list, **kwargs):
    """A one-row legend between the subtitle and the axes, where it hides no data."""
    return ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1.01), borderaxespad=0, frameon=False,
                     fontsize=8.5, handlelength=1.6, columnspacing=1.4, **kwargs)


def _wrap(fig: Figure, text: str, fontsize: float, width_inches: float) -> str:
    """``text`` in as few balanced lines as fit ``width_inches`` (measured with the figure's renderer)."""
    renderer = fig.canvas.get_renderer()
    props = FontProperties(size=fontsize)

    def width(line: str) -> float:
        return renderer.get_text_width_height_descent(line, props, ismath=False)[0] / fig.dpi

    if width(text) <= width_inches:
        return text
    for n_lines in range(2, 8):
        lines = textwrap.wrap(text, -(-len(text) // n_lines) + 2)
        if all(width(line) <= width_inches for line in lines):
            return "\n".join(lines)
    return "\n".join(textwrap.wrap(text, max(20, int(width_inches * 72 / (fontsize * 0.6)))))


def _titles(fig: Figure, ax, title: str, subtitle: str = "", legend=None) -> None:
    """The title (what the figure shows) top left; under it the subtitle (how to read it), wrapped to the
    room right of the axes' left edge, and above the axes the ``legend`` if one was put there."""
    fig.suptitle(title, x=0.01, ha="left", fontsize=13, fontweight="bold")
    pad = 6.0
    if legend is not None:
        pad += legend.get_window_extent(fig.canvas.get_renderer()).height * 72 / fig.dpi + 4
    if not subtitle:
        if legend is not None:
            ax.set_title(" ", loc="left", fontsize=9, pad=pad)
        return
    # The subtitle starts where the axes do, which the layout decides: lay out once with a short
    # placeholder, then wrap to the room left.
    ax.set_title("x", loc="left", fontsize=9, color=TEXT_GREY, pad=pad)
    fig.draw_without_rendering()
    room = fig.get_figwidth() * (1 - ax.get_position().x0) - 0.15
    ax.set_title(_wrap(fig, subtitle, 9, room), loc="left", fontsize=9, color=TEXT_GREY, pad=pad)


def _no_data(title: str, source: str, message: str = "No data") -> Figure:
    fig = _figure(8, 3, source)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=12, color=TEXT_GREY, transform=ax.transAxes)
    _titles(fig, ax, title)
    return fig


def _stance_legend_handles(stances=STANCES, words=None) -> list:
    words = words or {"oppose": "Opposes the law", "neutral": "Neutral", "support": "Supports the law"}
    return [Patch(facecolor=STANCE_COLOURS[stance], label=words[stance]) for stance in stances]


# ---------------------------------------------------------------------------------------------
# 1. Net stance per nation
# ---------------------------------------------------------------------------------------------


def plot_net_stance(stance_by_nation: pd.DataFrame, source: str = "") -> Figure:
    """Diverging bars: each nation's net stance score with its 95% bootstrap interval over articles."""
    title = "Where each nation stands on the Hong Kong national security law"
    if _is_empty(stance_by_nation):
        return _no_data(title, source, "No data: no nation took a position in these articles")
    table = stance_by_nation.copy()
    table["label"] = _display_names(table)
    for column in ("score", "ci_low", "ci_high", "n_claims", "n_articles"):
        table[column] = _num(_column(table, column, np.nan))
    table = table[np.isfinite(table["score"])]
    if table.empty:
        return _no_data(title, source, "No data: no nation has a score")
    table["stance"] = _text(_column(table, "stance")).str.lower()
    table.loc[~table["stance"].isin(STANCES), "stance"] = [_stance_of(s) for s in
                                                           table.loc[~table["stance"].isin(STANCES), "score"]]
    table = table.sort_values(["score", "label"], kind="stable").reset_index(drop=True)

    n = len(table)
    fig = _figure(9.0, 1.9 + 0.42 * n, source)
    ax = fig.add_subplot()
    y = np.arange(n)
    colours = [STANCE_COLOURS.get(stance, NEUTRAL_COLOUR) for stance in table["stance"]]
    ax.barh(y, table["score"], height=0.62, color=colours, zorder=2)
    # Neutral nations with a score of exactly 0 have no visible bar: mark them with a dot.
    zero = table["score"].abs() < 0.01
    ax.scatter(table.loc[zero, "score"], y[zero.to_numpy()], s=28, color=[colours[i] for i in np.flatnonzero(zero)],
               zorder=3, edgecolor="white", linewidth=0.6)

    low, high = table["ci_low"].to_numpy(), table["ci_high"].to_numpy()
    score = table["score"].to_numpy()
    has_interval = np.isfinite(low) & np.isfinite(high) & (high - low > 1e-9)
    if has_interval.any():
        xerr = np.vstack([np.clip(score - low, 0, None), np.clip(high - score, 0, None)])[:, has_interval]
        ax.errorbar(score[has_interval], y[has_interval], xerr=xerr, fmt="none", ecolor="#222222",
                    elinewidth=1.1, capsize=3, zorder=4)
    ax.axvline(0, color="#222222", linewidth=0.9, zorder=3)

    for i, row in table.iterrows():
        counts = [_plural(int(row[column]), word) for column, word in (("n_claims", "claim"),
                                                                        ("n_articles", "article"))
                  if np.isfinite(row[column])]
        note = f"{_signed(row['score'])}   n={', '.join(counts)}" if counts else _signed(row["score"])
        ax.annotate(note, xy=(1.0, i), xycoords=("axes fraction", "data"), xytext=(8, 0),
                    textcoords="offset points", ha="left", va="center", fontsize=8.5, color=TEXT_GREY)

    ax.set_yticks(y, table["label"].tolist(), fontsize=10)
    ax.set_ylim(n - 0.4, -0.6)
    ax.set_xlim(-1.05, 1.05)
    ax.set_xticks([-1, -0.5, 0, 0.5, 1], [f"{MINUS}1\nopposes", f"{MINUS}0.5", "0", "+0.5", "+1\nsupports"])
    ax.set_xlabel("Net stance score (mean over the articles quoting the nation)")
    ax.grid(axis="x", color="#E5E5E5", zorder=0)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(axis="y", length=0)

    handles = _stance_legend_handles([stance for stance in STANCES if stance in set(table["stance"])])
    if has_interval.any():
        handles.append(Line2D([], [], color="#222222", marker="|", markersize=8, linewidth=1.1,
                              label="95% bootstrap interval over articles"))
    legend = _legend_top(ax, handles, ncols=len(handles))
    _titles(fig, ax, title, "Bars: mean stance score of each nation's statements across articles "
                            f"({MINUS}1 = opposes the law, +1 = supports it)", legend)
    return fig


# ---------------------------------------------------------------------------------------------
# 2. Nation x article heatmap
# ---------------------------------------------------------------------------------------------


def _article_label(article: str, titles: dict[str, str], width: int = 34) -> str:
    title = titles.get(article, "")
    if not title:
        stem = article.split("#")[-1] if "#" in article else Path(article).stem
        title = stem.replace("_", " ").replace("-", " ")
    return _shorten(title, width)


def _nation_order(table: pd.DataFrame) -> list[str]:
    """Nation codes from most opposed to most supportive (mean article score), ties by name."""
    means = table.groupby("nation")["score"].mean()
    labels = table.groupby("nation")["label"].first()
    order = pd.DataFrame({"score": means, "label": labels}).sort_values(["score", "label"], kind="stable")
    return order.index.tolist()


def _article_cells(stance_by_article: pd.DataFrame) -> pd.DataFrame:
    """The article table with clean types: text ids, display labels, numeric scores, lower-case stances."""
    table = stance_by_article.copy()
    table["article"] = _text(table["article"])
    table["nation"] = _text(table["nation"])
    table["label"] = _display_names(table)
    table["score"] = _num(_column(table, "score", np.nan))
    table["stance"] = _text(_column(table, "stance")).str.lower()
    return table


def plot_stance_heatmap(stance_by_article: pd.DataFrame, articles: pd.DataFrame | None = None,
                        source: str = "") -> Figure:
    """Nation x article grid (articles in date order, undated last): colour = score, text = stance."""
    title = "Stance of each nation, article by article"
    if _is_empty(stance_by_article):
        return _no_data(title, source, "No data: no nation took a position in these articles")
    table = _article_cells(stance_by_article)
    table["when"] = _dates(_column(table, "date"))

    titles: dict[str, str] = {}
    if not _is_empty(articles) and "article" in articles.columns:
        titles = dict(zip(_text(articles["article"]), _text(_column(articles, "title"))))
    dates = table.groupby("article")["when"].min()
    dated = dates.dropna().sort_values(kind="stable")
    dated = sorted(dated.index, key=lambda a: (dated[a], a))
    undated = sorted(a for a in dates.index if pd.isna(dates[a]))
    article_order = dated + undated
    nation_order = _nation_order(table)
    names = table.groupby("nation")["label"].first()

    grid = np.full((len(nation_order), len(article_order)), np.nan)
    stances = np.full(grid.shape, "", dtype=object)
    row_of = {code: i for i, code in enumerate(nation_order)}
    col_of = {article: j for j, article in enumerate(article_order)}
    for row in table.itertuples():
        i, j = row_of[row.nation], col_of[row.article]
        grid[i, j] = row.score if np.isfinite(row.score) else 0.0
        stances[i, j] = row.stance

    n_rows, n_cols = grid.shape
    fig = _figure(min(26.0, max(7.5, 3.6 + 0.62 * n_cols)), min(20.0, max(4.2, 3.3 + 0.42 * n_rows)), source)
    ax = fig.add_subplot()
    cmap = STANCE_CMAP.with_extremes(bad="white")
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=-1, vmax=1, aspect="auto",
                      interpolation="nearest")
    for i in range(n_rows):
        for j in range(n_cols):
            if np.isfinite(grid[i, j]):
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="#BBBBBB", linewidth=0.6))
                word = STANCE_SHORT.get(stances[i, j], "")
                if word and n_cols <= 60:
                    ax.text(j, i, word, ha="center", va="center", fontsize=8,
                            color="white" if abs(grid[i, j]) > 0.7 else "#111111")

    labels = []
    for article in article_order:
        when = dates[article]
        labels.append(f"{_article_label(article, titles)}\n{when.strftime('%Y-%m-%d') if pd.notna(when) else 'undated'}")
    ax.set_xticks(np.arange(n_cols), labels, rotation=50, ha="right", rotation_mode="anchor", fontsize=7.5)
    ax.set_yticks(np.arange(n_rows), [names[code] for code in nation_order], fontsize=9.5)
    ax.set_xticks(np.arange(-0.5, n_cols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, n_rows, 1), minor=True)
    ax.grid(which="minor", color="#EEEEEE", linewidth=0.6)
    ax.tick_params(which="minor", length=0)
    ax.tick_params(which="major", length=2)
    ax.set_xlabel("Article (in date order; undated last)")
    colourbar = fig.colorbar(image, ax=ax, shrink=0.8 if n_rows >= 4 else 1.0, aspect=15, pad=0.02)
    colourbar.set_ticks([-1, -0.5, 0, 0.5, 1], labels=[f"{MINUS}1 opposes", f"{MINUS}0.5", "0 neutral", "+0.5",
                                                       "+1 supports"])
    colourbar.set_label("Stance score", fontsize=9)
    colourbar.ax.tick_params(labelsize=8)
    _titles(fig, ax, title, "Cells: opp = opposes, sup = supports, neu = neutral; colour = mean score of the "
                            "nation's statements in that article; blank = not quoted there")
    return fig


# ---------------------------------------------------------------------------------------------
# 3. Timeline
# ---------------------------------------------------------------------------------------------


def _period_word(freq: str) -> str:
    """"week" for "W", "2 weeks" for "2W", "month" for "M" / "ME" ..."""
    head = str(freq).split("-")[0]
    digits = "".join(ch for ch in head if ch.isdigit())
    code = "".join(ch for ch in head if ch.isalpha()).upper()
    word = PERIOD_WORDS.get(code, PERIOD_WORDS.get(code[:1], "period"))
    return f"{int(digits)} {word}s" if digits and int(digits) > 1 else word


def _period_freq(freq: str) -> str:
    """A period alias for ``freq``: offset aliases such as "ME", "QS", "YE" become "M", "Q", "Y"."""
    head, _, tail = str(freq).partition("-")
    for offset, period in (("ME", "M"), ("MS", "M"), ("QE", "Q"), ("QS", "Q"), ("YE", "Y"), ("YS", "Y"),
                           ("A", "Y")):
        if head.endswith(offset):
            head = head[:-len(offset)] + period
            break
    return f"{head}-{tail}" if tail else head


def plot_timeline(claims: pd.DataFrame, freq: str = "W", source: str = "",
                  mark: tuple[str, str] | None = LAW_DATE) -> Figure:
    """Voting claims per period (weeks by default), stacked by stance; undated claims left out and counted.

    ``mark`` draws a dashed line at a date with a label (by default the day the law came into force);
    ``None`` for none.
    """
    unit = _period_word(freq)
    title = f"Statements on the Hong Kong national security law, per {unit}"
    votes = _voting(claims)
    when = _dates(_column(votes, "date")) if len(votes) else pd.Series([], dtype="datetime64[ns]")
    n_undated = int(when.isna().sum())
    note = (f"{_plural(len(votes) - n_undated, 'voting claim')} shown; "
            f"{n_undated} without a date left out")
    full_source = f"{source} \u00b7 {note}" if source else note
    if len(votes) == n_undated:
        return _no_data(title, full_source, "No data: no dated claim takes a position")

    votes = votes.assign(when=when)[when.notna()]
    periods = votes["when"].dt.to_period(_period_freq(freq))
    counts = pd.crosstab(periods, votes["stance"]).reindex(columns=list(STANCES), fill_value=0)
    full_range = pd.period_range(periods.min(), periods.max(), freq=periods.dtype.freq)
    counts = counts.reindex(full_range, fill_value=0)

    from matplotlib import dates as mdates

    starts = np.array([mdates.date2num(p.start_time.to_pydatetime()) for p in counts.index])
    ends = np.array([mdates.date2num((p.end_time.floor("D") + pd.Timedelta(days=1)).to_pydatetime())
                     for p in counts.index])
    widths = (ends - starts) * 0.8
    centres = (starts + ends) / 2

    fig = _figure(10.0, 4.8, full_source)
    ax = fig.add_subplot()
    bottom = np.zeros(len(counts))
    words = {"oppose": "Opposes the law", "neutral": "Neutral", "support": "Supports the law"}
    for stance in STANCES:
        heights = counts[stance].to_numpy()
        if heights.sum():
            ax.bar(centres, heights, width=widths, bottom=bottom, color=STANCE_COLOURS[stance],
                   label=words[stance], zorder=2, edgecolor="white", linewidth=0.3)
        bottom += heights

    left, right = starts.min(), ends.max()
    period = float(np.median(ends - starts))
    pad = period * (2.5 if len(counts) <= 3 else 0.6) + 0.02 * (right - left)  # a lone bar stays a bar
    ax.set_xlim(left - pad, right + pad)
    if mark:
        marked = pd.to_datetime(mark[0], errors="coerce")
        if pd.notna(marked):
            x = mdates.date2num(marked.to_pydatetime())
            if left - pad <= x <= right + pad:
                ax.axvline(x, color="#222222", linestyle="--", linewidth=1, zorder=3)
                ax.annotate(mark[1], xy=(x, 1.0), xycoords=("data", "axes fraction"), xytext=(4, -4),
                            textcoords="offset points", ha="left", va="top", fontsize=8, color="#222222")
    locator = mdates.AutoDateLocator(minticks=3, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max(1, bottom.max()) * 1.12)
    ax.set_ylabel(f"Voting claims per {unit}")
    ax.set_xlabel(f"{unit[0].upper() + unit[1:]} of the article's date" if not unit[0].isdigit()
                  else f"Article date, in periods of {unit}")
    ax.grid(axis="y", color="#E5E5E5", zorder=0)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9, title="Stance",
              title_fontsize=9, alignment="left")
    _titles(fig, ax, title, "Claims on target with a stance, counted by the date of the article they appear in")
    return fig


# ---------------------------------------------------------------------------------------------
# 4. Coalitions
# ---------------------------------------------------------------------------------------------


def plot_coalitions(stance_by_article: pd.DataFrame, source: str = "") -> Figure:
    """Nation x nation agreement: share of the articles quoting both where they take the same stance.

    Rows and columns run from the most opposed to the most supportive nation (mean article score), so
    blocs show as blocks of dark cells; lines separate the oppose / neutral / support blocs and the
    labels carry each nation's net score in its bloc colour.
    """
    title = "Who stands with whom on the Hong Kong national security law"
    if _is_empty(stance_by_article):
        return _no_data(title, source, "No data: no nation took a position in these articles")
    table = _article_cells(stance_by_article)
    table["score"] = table["score"].fillna(0.0)
    table = table[table["stance"].isin(STANCES)]
    if table.empty:
        return _no_data(title, source, "No data: no nation took a position in these articles")

    order = _nation_order(table)
    if len(order) < 2:
        return _no_data(title, source, "No data: only one nation took a position, there is no one to compare with")
    names = table.groupby("nation")["label"].first()
    means = table.groupby("nation")["score"].mean()
    blocs = [_stance_of(means[code]) or "neutral" for code in order]
    wide = table.pivot_table(index="article", columns="nation", values="stance", aggfunc="first").reindex(
        columns=order)
    n = len(order)
    share = np.full((n, n), np.nan)
    shared = np.zeros((n, n), dtype=int)
    for i, a in enumerate(order):
        for j, b in enumerate(order):
            if i == j:
                continue
            both = wide[a].notna() & wide[b].notna()
            shared[i, j] = int(both.sum())
            if shared[i, j]:
                share[i, j] = float((wide.loc[both, a] == wide.loc[both, b]).mean())

    side = min(18.0, max(5.0, 2.2 + 0.62 * n))
    fig = _figure(side + 2.6, side + 1.2, source)
    ax = fig.add_subplot()
    cmap = matplotlib.colormaps[AGREEMENT_CMAP].with_extremes(bad=NEVER_TOGETHER)
    image = ax.imshow(np.ma.masked_invalid(share), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    for i in range(n):
        ax.add_patch(Rectangle((i - 0.5, i - 0.5), 1, 1, facecolor="white", edgecolor="#C8C8C8", hatch="//",
                               linewidth=0))
    if n <= 30:
        fontsize = 8 if n <= 12 else 6.5
        for i in range(n):
            for j in range(n):
                if np.isfinite(share[i, j]):
                    text = f"{share[i, j] * 100:.0f}%" + (f"\nof {shared[i, j]}" if n <= 15 else "")
                    ax.text(j, i, text, ha="center", va="center", fontsize=fontsize, linespacing=1.0,
                            color="white" if share[i, j] > 0.6 else "#111111")
    # Bloc separators.
    for k in range(1, n):
        if blocs[k] != blocs[k - 1]:
            ax.axhline(k - 0.5, color="#222222", linewidth=1.4)
            ax.axvline(k - 0.5, color="#222222", linewidth=1.4)

    ax.set_yticks(np.arange(n), [f"{names[code]}  {_signed(means[code])}" for code in order], fontsize=9.5)
    ax.set_xticks(np.arange(n), [names[code] for code in order], rotation=45, ha="right",
                  rotation_mode="anchor", fontsize=9.5)
    for labels in (ax.get_yticklabels(), ax.get_xticklabels()):
        for label, bloc in zip(labels, blocs):
            label.set_color(STANCE_COLOURS[bloc] if bloc != "neutral" else "#666666")
    ax.set_xticks(np.arange(-0.5, n, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, n, 1), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.2)
    ax.tick_params(which="minor", length=0)
    ax.tick_params(which="major", length=0)
    colourbar = fig.colorbar(image, ax=ax, shrink=0.6, aspect=18, pad=0.02)
    colourbar.set_ticks([0, 0.25, 0.5, 0.75, 1], labels=["0% (always\ndisagree)", "25%", "50%", "75%",
                                                         "100% (always\nagree)"])
    colourbar.set_label("Same stance in the articles quoting both", fontsize=9)
    colourbar.ax.tick_params(labelsize=8)
    words = {"oppose": "Opposes the law (net)", "neutral": "Neutral (net)", "support": "Supports the law (net)"}
    handles = [Patch(facecolor=STANCE_COLOURS[b], label=words[b]) for b in STANCES if b in blocs]
    handles.append(Patch(facecolor=NEVER_TOGETHER, label="Never quoted together"))
    legend = _legend_top(ax, handles, ncols=len(handles))
    _titles(fig, ax, title, "Cell: share of the articles quoting both nations in which they take the same stance "
                            "(out of how many). Nations run from most opposed to most supportive; the label colour "
                            "is the nation's net bloc.", legend)
    return fig


# ---------------------------------------------------------------------------------------------
# 5. Tone vs stance
# ---------------------------------------------------------------------------------------------


def _overlaps(box, boxes) -> float:
    total = 0.0
    for other in boxes:
        width = min(box.x1, other.x1) - max(box.x0, other.x0)
        height = min(box.y1, other.y1) - max(box.y0, other.y0)
        if width > 0 and height > 0:
            total += width * height
    return total


def _place_labels(fig: Figure, ax, points: list[tuple[float, float, str, float]], obstacles=()) -> None:
    """Label each point (x, y, text, marker radius in points) where it overlaps no marker, no label
    already placed and none of ``obstacles`` (artists); labels pushed away from their point get a leader
    line. Greedy and deterministic: the biggest markers are labelled first."""
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    taken = [artist.get_window_extent(renderer) for artist in obstacles]
    for x, y, _, radius in points:
        centre = ax.transData.transform((x, y))
        r = radius * fig.dpi / 72
        taken.append(Bbox.from_extents(centre[0] - r, centre[1] - r, centre[0] + r, centre[1] + r))
    directions = [(1, 0, "left", "center"), (-1, 0, "right", "center"), (0, 1, "center", "bottom"),
                  (0, -1, "center", "top"), (0.8, 0.8, "left", "bottom"), (-0.8, 0.8, "right", "bottom"),
                  (0.8, -0.8, "left", "top"), (-0.8, -0.8, "right", "top")]
    for x, y, text, radius in sorted(points, key=lambda p: (-p[3], p[2])):
        best, best_cost = None, None
        for step, extra in enumerate((0, 10, 22, 36)):
            gap = radius + 3 + extra
            for dx, dy, ha, va in directions:
                label = ax.annotate(text, xy=(x, y), xytext=(dx * gap, dy * gap), textcoords="offset points",
                                    ha=ha, va=va, fontsize=9, color="#111111", zorder=6,
                                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none",
                                          "alpha": 0.8},
                                    arrowprops={"arrowstyle": "-", "color": "#555555", "linewidth": 0.7,
                                                "shrinkA": 0, "shrinkB": radius} if step else None)
                label.set_in_layout(False)
                label.update_positions(renderer)
                box = Text.get_window_extent(label, renderer)  # the text alone, without its leader line
                outside = (max(0, frame.x0 - box.x0) + max(0, box.x1 - frame.x1) + max(0, frame.y0 - box.y0)
                           + max(0, box.y1 - frame.y1))
                cost = _overlaps(box, taken) + outside * 1000 + step * 5
                if best is None or cost < best_cost:
                    if best is not None:
                        best[0].remove()
                    best, best_cost = (label, box), cost
                else:
                    label.remove()
                if cost == step * 5 and not outside:
                    break
            if best_cost is not None and best_cost <= step * 5:
                break
        taken.append(best[1])


def plot_tone_vs_stance(claims: pd.DataFrame, names: dict[str, str] | None = None, source: str = "") -> Figure:
    """Each nation's mean VADER tone (x) against its mean stance score (y), over its voting claims.

    Small dots are the single claims (coloured by their stance); the upper-left quadrant (negative tone,
    supports the law) is where a sentiment score would get the stance backwards.
    """
    title = "Sentiment is not stance: tone of the words vs position on the law"
    votes = _voting(claims)
    if len(votes):
        votes = votes.assign(tone=_num(_column(votes, "tone", np.nan)), score=_num(_column(votes, "score", np.nan)))
        votes = votes[np.isfinite(votes["tone"]) & np.isfinite(votes["score"])]
    if not len(votes):
        return _no_data(title, source, "No data: no claim with both a tone and a stance")
    votes = votes.assign(label=_display_names(votes, names))

    fig = _figure(9.5, 7.4, source)
    ax = fig.add_subplot()
    lim = 1.08
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.add_patch(Rectangle((-lim, 0), lim, lim, facecolor=HIGHLIGHT_COLOUR, alpha=0.16, edgecolor="none", zorder=0))
    ax.axhline(0, color="#222222", linewidth=0.9, zorder=1)
    ax.axvline(0, color="#222222", linewidth=0.9, zorder=1)

    for stance in STANCES:
        part = votes[votes["stance"] == stance]
        if len(part):
            ax.scatter(part["tone"], part["score"], s=14, color=STANCE_COLOURS[stance], alpha=0.45, linewidth=0,
                       zorder=2)
    per_nation = votes.groupby("nation").agg(tone=("tone", "mean"), score=("score", "mean"),
                                             n=("score", "size"), label=("label", "first"))
    per_nation = per_nation.sort_values(["score", "label"], kind="stable")
    sizes = 40 + 28 * np.sqrt(per_nation["n"].to_numpy())
    colours = [STANCE_COLOURS[_stance_of(score) or "neutral"] for score in per_nation["score"]]
    ax.scatter(per_nation["tone"], per_nation["score"], s=sizes, color=colours, edgecolor="#111111",
               linewidth=0.9, zorder=5)

    backwards = votes[(votes["tone"] < -0.05) & (votes["stance"] == "support")]
    quadrant = ("Negative tone, supports the law\n"
                f"{_plural(len(backwards), 'claim')} here: a sentiment score\nwould read them as opposition")
    corner_box = {"boxstyle": "round,pad=0.25", "facecolor": "white", "edgecolor": "none", "alpha": 0.8}
    corners = [ax.text(-lim + 0.03, lim - 0.03, quadrant, ha="left", va="top", fontsize=8.5, fontweight="bold",
                       color="#333333", zorder=7, bbox={**corner_box, "facecolor": "#FCFAE3"})]
    for x, y, text, ha, va in [(lim - 0.03, lim - 0.03, "Positive tone, supports the law", "right", "top"),
                               (-lim + 0.03, -lim + 0.03, "Negative tone, opposes the law", "left", "bottom"),
                               (lim - 0.03, -lim + 0.03, "Positive tone, opposes the law", "right", "bottom")]:
        corners.append(ax.text(x, y, text, ha=ha, va=va, fontsize=8.5, color="#666666", zorder=7, bbox=corner_box))

    ax.set_xlabel(f"Tone of the sentences (VADER compound: {MINUS}1 negative, +1 positive)")
    ax.set_ylabel(f"Stance score ({MINUS}1 opposes the law, +1 supports it)")
    ax.set_aspect("equal")
    ax.spines[["top", "right"]].set_visible(False)
    handles = [Line2D([], [], linestyle="none", marker="o", markersize=9, markerfacecolor=STANCE_COLOURS[s],
                      markeredgecolor="#111111", label=f"Nation, net {STANCE_WORDS[s]}")
               for s in STANCES if s in {(_stance_of(v) or "neutral") for v in per_nation["score"]}]
    handles += [Line2D([], [], linestyle="none", marker="o", markersize=4.5, alpha=0.6,
                       markerfacecolor=STANCE_COLOURS[s], markeredgecolor="none", label=f"Claim: {STANCE_WORDS[s]}")
                for s in STANCES if (votes["stance"] == s).any()]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=8.5,
              title="Large: nation mean\n(size = claims)\nSmall: single claims", title_fontsize=8.5,
              alignment="left")
    _titles(fig, ax, title, "Each large point: a nation's mean over its statements on the law")
    points = [(row.tone, row.score, row.label, float(np.sqrt(size / np.pi)))
              for row, size in zip(per_nation.itertuples(), sizes)]
    _place_labels(fig, ax, points, obstacles=corners)
    return fig


# ---------------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------------


def freeze_layout(fig: Figure) -> Figure:
    """Run the figure's layout once and keep it: later draws no longer move anything.

    Constrained layout starts from the axes' current positions, so each draw can shift them by a few
    millionths of an inch, enough to change SVG clip-path ids and PNG pixels. Frozen, the same figure
    saves to the same bytes however often it is saved.
    """
    engine = fig.get_layout_engine()
    if engine is not None and not isinstance(engine, PlaceHolderLayoutEngine):
        fig.draw_without_rendering()
        fig.set_layout_engine("none")
    return fig


def save_figure(fig: Figure, path_without_suffix: str | Path, dpi: int = 150) -> list[Path]:
    """Write ``<path>.png`` (``dpi``) and ``<path>.svg``; the same figure gives byte-identical files.

    The figure's layout is frozen first (``freeze_layout``); no timestamp or software version is
    written, and SVG ids are salted with a fixed string.
    """
    freeze_layout(fig)
    base = Path(path_without_suffix)
    base.parent.mkdir(parents=True, exist_ok=True)
    png, svg = base.with_name(base.name + ".png"), base.with_name(base.name + ".svg")
    with matplotlib.rc_context({"svg.hashsalt": "hkpolicy", "svg.fonttype": "path"}):
        fig.savefig(png, format="png", dpi=dpi, metadata={"Software": None})
        fig.savefig(svg, format="svg", metadata={"Date": None})
    return [png, svg]


def _names_from_tables(tables: dict[str, pd.DataFrame], names: dict[str, str] | None) -> dict[str, str]:
    merged: dict[str, str] = {}
    for key in ("stance_by_article", "stance_by_nation"):
        frame = tables.get(key)
        if not _is_empty(frame) and {"nation", "name"} <= set(frame.columns):
            for code, name in zip(_text(frame["nation"]), _text(frame["name"])):
                if name:
                    merged.setdefault(code, name)
    merged.update(names or {})
    return merged


def make_all_figures(tables: dict[str, pd.DataFrame], out_dir: str | Path,
                     names: dict[str, str] | None = None) -> list[Path]:
    """The five figures from the study's tables, saved as PNG + SVG in ``out_dir``; returns the paths.

    ``tables`` has "articles", "claims", "stance_by_article", "stance_by_nation" (a missing one gives
    that figure's "No data" version). Names for the claims come from ``names``, then the stance tables.
    """
    out_dir = Path(out_dir)
    empty = pd.DataFrame()
    articles = tables.get("articles", empty)
    claims = tables.get("claims", empty)
    by_article = tables.get("stance_by_article", empty)
    by_nation = tables.get("stance_by_nation", empty)
    source = source_line(articles)
    all_names = _names_from_tables(tables, names)
    figures = {
        "net_stance": plot_net_stance(by_nation, source=source),
        "stance_heatmap": plot_stance_heatmap(by_article, articles=articles, source=source),
        "timeline": plot_timeline(claims, source=source),
        "coalitions": plot_coalitions(by_article, source=source),
        "tone_vs_stance": plot_tone_vs_stance(claims, names=all_names, source=source),
    }
    paths: list[Path] = []
    for name in FIGURE_NAMES:
        paths += save_figure(figures[name], out_dir / name)
    return paths
