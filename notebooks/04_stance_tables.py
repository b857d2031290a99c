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
# # 04 · Stance tables
#
# **What it shows:** the nation x article table (each cell a nation's position in one article, with the
# sentences that decided it) and the nation summary: net score with a seeded bootstrap interval over
# articles, counts, and the strongest evidence.
#
# **Reads:** the tables in `data/processed/`. **Writes:** nothing.

# %%
from hkpolicy.study import load_study, project_paths

ENGINE = "local"
tables = load_study(project_paths(), engine=ENGINE)
by_article, by_nation = tables["stance_by_article"], tables["stance_by_nation"]

# %% [markdown]
# ## Nation x article

# %%
by_article.pivot_table(index="name", columns="article", values="stance", aggfunc="first", fill_value="")

# %% [markdown]
# ## Every cell with its evidence

# %%
by_article[["article", "name", "stance", "score", "n_claims", "n_statements", "evidence"]]

# %% [markdown]
# ## Nation summary

# %%
by_nation[["name", "stance", "score", "ci_low", "ci_high", "n_articles", "n_claims", "n_oppose", "n_support",
           "n_neutral", "evidence"]]
