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
# # 01 · Ingest the articles
#
# **What it shows:** every raw file of `data/raw/` and what became of it (the ingest manifest: ok, skipped,
# error, duplicate, with a reason), what cleaning changed in each article, and one scraped page before and
# after cleaning.
#
# **Reads:** `data/raw/` (through the pipeline). **Writes:** `data/processed/` if the tables are missing
# (the same files `hkpolicy run` writes).

# %%
from hkpolicy.study import load_study, project_paths
from hkpolicy.text import removed_lines

ENGINE = "local"  # or "dask": the engine the pipeline runs on if the tables must be (re)built
paths = project_paths()
tables = load_study(paths, engine=ENGINE)
manifest, articles = tables["manifest"], tables["articles"]
print(f"{len(manifest)} inputs, {len(articles)} articles, project at {paths.root}")

# %% [markdown]
# ## The manifest: every input, with its status and reason

# %%
manifest.groupby(["status", "reason"], dropna=False).size().rename("files").reset_index()

# %%
manifest[["source_file", "article", "status", "reason", "format", "encoding", "language", "duplicate_of"]]

# %% [markdown]
# ## What cleaning changed, article by article
# Titles, dates and where each date came from (a page banner date is kept apart: it is the scrape's date).

# %%
articles[["article", "outlet", "date", "date_source", "page_date", "title", "n_chars", "fixes"]]

# %% [markdown]
# ## One page before and after
# The London Daily seed page: site name, slogan, a page banner date, a related-articles list and media-player
# residue around the article. The lines cleaning removed:

# %%
example = "seeds/london_daily_four_nation_statement.txt"
raw_page = (paths.raw / example).read_text(encoding="utf-8")
clean = articles.set_index("article").loc[example, "text"]
removed = removed_lines(raw_page, clean)
print(f"{len(removed)} lines removed, for example:")
for line in removed[:8] + ["..."] + removed[-4:]:
    print("  ", line)

# %%
print("BEFORE (first 600 characters):\n", raw_page[:600])
print("\nAFTER (first 600 characters):\n", clean[:600])

# %% [markdown]
# ## The same story counted once
# Exact and near-duplicate articles (MinHash over 5-word shingles, similarity >= 0.8, see
# `hkpolicy.duplicates`) are grouped; each group keeps one representative (earliest date, then longest text,
# then smallest id) and its copies are marked `duplicate` in the manifest and do not vote. `n_copies` and
# `copy_outlets` keep the reach of a story visible.

# %%
copies = articles[articles["duplicate_of"] != ""]
print(f"{len(copies)} duplicate article(s) in {copies['duplicate_of'].nunique()} group(s)")
articles.loc[(articles["n_copies"] > 0) | (articles["duplicate_of"] != ""),
             ["article", "outlet", "date", "duplicate_of", "n_copies", "copy_outlets", "title"]]
