# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
# ---

# %% [markdown]
# # 06 · Evaluate against the gold labels
#
# **What it shows:** the article-level stance table against the hand-made gold labels of the development
# corpus (the two seeds and the 12 real articles): accuracy, macro-F1, the confusion matrix and every wrong
# row with its evidence; then the claim-level comparison of the scorers (rules, the trained model,
# rules+model) with cross-validation grouped by article, and the naive approach (VADER compound of every
# sentence naming a country, averaged per nation) scored the same way.
#
# **Reads:** the tables in `data/processed/`, `data/gold/*.csv`, `data/annotations/claims_gold.csv`.
# **Writes:** nothing.

# %%
import pandas as pd

from hkpolicy.evaluate import compare, format_report, naive_vader_by_article, scores
from hkpolicy.model import cross_validate, load_annotations
from hkpolicy.study import load_study, project_paths

ENGINE = "local"
paths = project_paths()
tables = load_study(paths, engine=ENGINE)
gold = pd.concat([pd.read_csv(path, dtype=str, keep_default_na=False) for path in sorted(paths.gold.glob("*.csv"))],
                 ignore_index=True)
print(f"{len(gold)} gold (article, nation) rows")

# %% [markdown]
# ## hkpolicy against the gold

# %%
ours = compare(tables["stance_by_article"], gold)
print(format_report("hkpolicy", ours))

# %% [markdown]
# ## The naive VADER approach, scored the same way

# %%
naive = compare(naive_vader_by_article(tables["articles"]), gold)
print(format_report("naive VADER", naive))

# %%
summary = pd.DataFrame([{"approach": name, "pairs": result["n"], "accuracy": round(result["accuracy"], 3),
                         "macro_f1": round(result["macro_f1"], 3)}
                        for name, result in (("hkpolicy", scores(ours)), ("naive VADER", scores(naive)))])
summary

# %% [markdown]
# ## Scorers compared on the hand-labelled claims (cross-validation grouped by article)

# %%
annotations = load_annotations(paths.annotations / "claims_gold.csv")
cross_validate(annotations)
