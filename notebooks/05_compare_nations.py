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
# # 05 · Compare nations
#
# **What it shows:** the figures of the study: net stance per nation with intervals, the nation x article
# heatmap, the timeline of claims, who stands with whom, and tone against stance.
#
# **Reads:** the tables in `data/processed/`. **Writes:** `reports/figures/*.png|svg` (the same files
# `make study` writes).

# %%
from hkpolicy.actors import nation_names
from hkpolicy.plots import (make_all_figures, plot_coalitions, plot_net_stance, plot_stance_heatmap, plot_timeline,
                            plot_tone_vs_stance, source_line)
from hkpolicy.study import load_study, project_paths

ENGINE = "local"
paths = project_paths()
tables = load_study(paths, engine=ENGINE)
names = nation_names()
source = source_line(tables["articles"])
source

# %%
plot_net_stance(tables["stance_by_nation"], source=source)

# %%
plot_stance_heatmap(tables["stance_by_article"], articles=tables["articles"], source=source)

# %%
plot_timeline(tables["claims"], source=source)

# %%
plot_coalitions(tables["stance_by_article"], source=source)

# %%
plot_tone_vs_stance(tables["claims"], names=names, source=source)

# %%
written = make_all_figures(tables, paths.figures, names=names)
[str(path.relative_to(paths.root)) if path.is_relative_to(paths.root) else str(path) for path in written]
