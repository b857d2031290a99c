"""Evaluation against gold labels, and the naive baseline it is compared with.

Gold: a CSV ``article,nation,stance[,evidence]`` (article level) or ``nation,stance`` (nation level).
Article ids in the gold may be the file name alone ("bbc_10.csv") or our full id
("real/bbc_10.csv#bbc_10"): a gold id matches an article whose id, source file or file name equals it.

At article level every (article, nation) pair in either table counts once: a pair we miss is predicted
"none", a pair we add that the gold lacks is gold "none" - both are errors. Only articles named in the
gold are scored. ``macro_f1`` averages F1 over the stances (oppose / support / neutral) present in the gold
or the predictions; "none" (a missing or spurious row) counts in accuracy and the confusion matrix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .io import read_table

LABELS = ["oppose", "support", "neutral"]
ALL_LABELS = LABELS + ["none"]


def match_article_ids(gold_ids, predicted_ids) -> dict[str, str]:
    """{our article id: gold article id} for ids that refer to the same article."""
    mapping = {}
    gold_set = set(gold_ids)
    for article in predicted_ids:
        path = article.split("#", 1)[0]
        candidates = [article, path, path.rsplit("/", 1)[-1]]
        for candidate in candidates:
            if candidate in gold_set:
                mapping[article] = candidate
                break
    return mapping


def compare(predicted: pd.DataFrame, gold: pd.DataFrame) -> pd.DataFrame:
    """One row per (article, nation) in either table: gold, predicted, evidence, correct."""
    gold = gold.copy()
    if "article" in gold.columns:
        mapping = match_article_ids(gold["article"].unique(), predicted["article"].unique())
        predicted = predicted.assign(article=predicted["article"].map(mapping))
        predicted = predicted[predicted["article"].notna()]
        keys = ["article", "nation"]
    else:
        keys = ["nation"]
    predicted = predicted[predicted["stance"].isin(LABELS)]
    merged = gold[keys + ["stance"]].rename(columns={"stance": "gold"}).merge(
        predicted[keys + ["stance", "evidence"]].rename(columns={"stance": "predicted"}), on=keys, how="outer")
    merged["gold"] = merged["gold"].fillna("none")
    merged["predicted"] = merged["predicted"].fillna("none")
    merged["evidence"] = merged["evidence"].fillna("")
    merged["correct"] = merged["gold"] == merged["predicted"]
    return merged.sort_values(keys, kind="stable").reset_index(drop=True)


def scores(comparison: pd.DataFrame) -> dict:
    """accuracy, macro-F1 over oppose/support/neutral, per-label F1 and the confusion matrix."""
    from sklearn.metrics import confusion_matrix, f1_score

    gold, predicted = comparison["gold"], comparison["predicted"]
    matrix = pd.DataFrame(confusion_matrix(gold, predicted, labels=ALL_LABELS),
                          index=[f"gold {label}" for label in ALL_LABELS],
                          columns=[f"pred {label}" for label in ALL_LABELS])
    # Macro-F1 over the stances that occur in the gold or the predictions (a label absent from both,
    # like "neutral" in a gold set without neutral rows, would count as 0 and say nothing).
    present = [label for label in LABELS if (gold == label).any() or (predicted == label).any()] or LABELS
    per_label = f1_score(gold, predicted, labels=present, average=None, zero_division=0)
    return {
        "n": int(len(comparison)),
        "accuracy": float(np.mean(comparison["correct"])) if len(comparison) else float("nan"),
        "macro_f1": float(np.mean(per_label)),
        "f1": dict(zip(present, map(float, per_label))),
        "confusion": matrix,
    }


def format_report(name: str, comparison: pd.DataFrame) -> str:
    result = scores(comparison)
    lines = [f"== {name}: {result['n']} pairs, accuracy {result['accuracy']:.3f}, macro-F1 {result['macro_f1']:.3f}",
             "F1 " + ", ".join(f"{label} {value:.3f}" for label, value in result["f1"].items()),
             result["confusion"].to_string(), "", "wrong rows:"]
    wrong = comparison[~comparison["correct"]]
    for row in wrong.itertuples():
        where = f"{row.article} " if "article" in comparison.columns else ""
        lines.append(f"  {where}{row.nation}: gold {row.gold}, predicted {row.predicted}"
                     + (f" <- {row.evidence[:200]}" if row.evidence else ""))
    if wrong.empty:
        lines.append("  (none)")
    return "\n".join(lines)


def evaluate_folder(out: str | Path, gold_path: str | Path, baseline: bool = False) -> str:
    """The report ``hkpolicy evaluate OUT --gold GOLD`` prints."""
    out = Path(out)
    gold = pd.read_csv(gold_path, dtype=str, keep_default_na=False)
    article_level = "article" in gold.columns
    table = read_table(out / ("stance_by_article.csv" if article_level else "stance_by_nation.csv"))
    report = [format_report("hkpolicy", compare(table, gold))]
    if baseline:
        articles = read_table(out / "articles.csv")
        naive = naive_vader_by_article(articles)
        if not article_level:
            naive = naive.groupby("nation", as_index=False).agg(score=("score", "mean"))
            naive["stance"] = naive["score"].map(vader_label)
            naive["evidence"] = ""
        report.append(format_report("naive VADER baseline", compare(naive, gold)))
    return "\n\n".join(report)


# ----------------------------------------------------------------------------------------------
# The naive approach: VADER compound of every sentence naming a country, averaged per nation
# ----------------------------------------------------------------------------------------------


def vader_label(compound: float) -> str:
    """VADER's usual thresholds: >= 0.05 positive (support), <= -0.05 negative (oppose), else neutral."""
    if compound >= 0.05:
        return "support"
    if compound <= -0.05:
        return "oppose"
    return "neutral"


def naive_vader_by_article(articles: pd.DataFrame) -> pd.DataFrame:
    """The naive pipeline: every sentence naming a country scores that country with VADER's compound;
    scores are averaged per (article, nation). Columns: article, nation, stance, score, n_sentences,
    evidence."""
    from .actors import actor_dictionary
    from .stance import vader_analyzer
    from .text import sentence_spans

    dictionary = actor_dictionary()
    analyzer = vader_analyzer()
    rows = []
    for article, text in zip(articles["article"], articles["text"]):
        for start, end in sentence_spans(text):
            sentence = text[start:end]
            nations = {hit.entries[0].nation for hit in dictionary.hits(sentence)
                       if hit.entries[0].source == "country" and hit.entries[0].kind in {"name", "demonym", "capital"}}
            if not nations:
                continue
            compound = analyzer.polarity_scores(sentence)["compound"]
            rows.extend((article, nation, compound, sentence) for nation in nations)
    frame = pd.DataFrame(rows, columns=["article", "nation", "score", "sentence"])
    if frame.empty:
        return pd.DataFrame(columns=["article", "nation", "stance", "score", "n_sentences", "evidence"])
    table = frame.groupby(["article", "nation"], as_index=False).agg(
        score=("score", "mean"), n_sentences=("score", "size"), evidence=("sentence", "first"))
    table["stance"] = table["score"].map(vader_label)
    return table[["article", "nation", "stance", "score", "n_sentences", "evidence"]]


def naive_vader_pipeline(corpus: str | Path) -> tuple[int, pd.DataFrame]:
    """The naive approach end to end, as the benchmarks time it: ingest the corpus at ``corpus``, then
    ``naive_vader_by_article``. Returns (number of articles, table)."""
    from .ingest import load_corpus

    articles = load_corpus(corpus)
    return len(articles), naive_vader_by_article(articles)
