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
# # 02 · Find actors and claims
#
# **What it shows:** who speaks for which nation. Each claim is a sentence in which a nation's *state*
# (a minister, a ministry, an embassy, a capital used for its government, the signatories of a joint
# statement) says or does something. Claims per nation, sentences with the speaker highlighted, and the
# non-state voices (analysts, scholars, NGOs, outlets) that are kept apart and never vote.
#
# **Reads:** the tables in `data/processed/` (built from `data/raw/` if missing). **Writes:** nothing.

# %%
from IPython.display import HTML

from hkpolicy.claims import highlight_claims
from hkpolicy.study import load_study, project_paths

ENGINE = "local"
tables = load_study(project_paths(), engine=ENGINE)
claims, voices, articles = tables["claims"], tables["voices"], tables["articles"]
print(f"{len(claims)} claims by {claims['nation'].nunique()} nations; {len(voices)} non-state voices")

# %% [markdown]
# ## Claims per nation, by how they were made (direct quote, reported speech, act, explicit non-act)

# %%
claims.pivot_table(index="nation", columns="speech", values="sentence_id", aggfunc="count", fill_value=0)

# %% [markdown]
# ## Who spoke: actor kinds per nation

# %%
claims.groupby(["nation", "actor_kind"]).size().rename("claims").reset_index()

# %% [markdown]
# ## Sentences with the speaker highlighted
# The London Daily seed: the four-nation statement, its signatories named by their ministers, the EU and
# New Zealand reported as not joining, and analysts who are not the state.

# %%
HTML(highlight_claims(claims[claims["article"] == "seeds/london_daily_four_nation_statement.txt"]))

# %% [markdown]
# ## Non-state voices, kept apart
# Analysts, scholars, think tanks, NGOs, activists, outlets: studied here, never counted as a nation.

# %%
voices[["article", "actor", "actor_kind", "text"]]
