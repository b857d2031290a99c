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
# # 03 · Score stance, next to tone
#
# **What it shows:** every on-target claim's stance toward the law (oppose / support / neutral, a signed
# score, and the cues that decided it) next to its VADER tone, and the claims where the two disagree.
# That disagreement is the reason this package exists: China calling sanctions "gross interference" is
# negative in tone and *supports* the law; suspending an extradition treaty is calm in tone and *opposes* it.
#
# **Reads:** the tables in `data/processed/`. **Writes:** nothing.

# %%
from hkpolicy.stance import tone_disagreements
from hkpolicy.study import load_study, project_paths

ENGINE = "local"
tables = load_study(project_paths(), engine=ENGINE)
claims = tables["claims"]
on_target = claims[claims["on_target"]]
print(f"{len(on_target)} on-target claims, {int((on_target['stance'] != '').sum())} with a stance")

# %% [markdown]
# ## Stance per claim, with its cues and tone

# %%
on_target[["article", "nation", "actor", "speech", "stance", "score", "tone", "cues", "text"]]

# %% [markdown]
# ## Where tone and stance disagree
# Negative tone but support for the law, or calm tone but opposition: a sentiment score would get these wrong.

# %%
disagreements = tone_disagreements(claims)
print(f"{len(disagreements)} of {int((on_target['stance'] != '').sum())} claims with a stance have a tone "
      "pointing the other way")
disagreements[["nation", "stance", "score", "tone", "cues", "text"]]
