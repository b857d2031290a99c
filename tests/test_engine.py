"""The streamed run: its CSVs do not depend on the chunk size, the batch size or the engine, and they are the
tables the whole-corpus (in-memory) steps give, duplicates included."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hkpolicy.pipeline import run_study

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"
TABLES = ["manifest", "articles", "claims", "voices", "stance_by_article", "stance_by_nation"]


def csv_bytes(folder: Path) -> dict[str, bytes]:
    return {name: (folder / f"{name}.csv").read_bytes() for name in TABLES}


@pytest.fixture(scope="module")
def big_chunk(tmp_path_factory) -> dict[str, bytes]:
    """The shipped corpus in one chunk, in-process."""
    out = tmp_path_factory.mktemp("one-chunk")
    run_study(RAW, out, progress=False, workers=1, chunk_size=10_000, batch_size=10_000)
    return csv_bytes(out)


@pytest.fixture(scope="module")
def copied_corpus(tmp_path_factory) -> Path:
    """data/raw plus exact and lightly edited copies of its exports (some longer than their original, so
    that a copy becomes its group's representative), spread over several folders and chunks."""
    root = tmp_path_factory.mktemp("copies") / "corpus"
    shutil.copytree(RAW, root)
    rng = random.Random(7)
    sources = sorted((RAW / "real").glob("*.csv"))
    for i in range(12):
        source = sources[i % len(sources)]
        words = source.read_text(encoding="utf-8").split(" ")
        if i % 3:  # a near copy: three words edited (longer), the rest untouched
            for _ in range(3):
                j = rng.randrange(len(words))
                words[j] = words[j] + "s"
        target = root / "copies" / f"c{i:02d}" / source.name
        target.parent.mkdir(parents=True)
        target.write_text(" ".join(words), encoding="utf-8")
    return root


def test_tiny_chunks_and_batches_give_byte_identical_csvs(big_chunk, tmp_path):
    run_study(RAW, tmp_path, progress=False, workers=2, chunk_size=1, batch_size=1)
    assert csv_bytes(tmp_path) == big_chunk


def test_dask_engine_gives_byte_identical_csvs(big_chunk, tmp_path):
    pytest.importorskip("dask.bag")
    run_study(RAW, tmp_path, progress=False, engine="dask", scheduler="synchronous", chunk_size=5, batch_size=2)
    assert csv_bytes(tmp_path) == big_chunk


def test_dask_local_cluster_gives_byte_identical_csvs(big_chunk, tmp_path):
    pytest.importorskip("dask.distributed")
    run_study(RAW, tmp_path, progress=False, engine="dask", workers=2, chunk_size=5, batch_size=2)
    assert csv_bytes(tmp_path) == big_chunk


def test_existing_dask_cluster_by_address_from_the_command_line(big_chunk, tmp_path, capsys):
    """``hkpolicy run --engine dask --scheduler ADDRESS``: the run goes to a cluster someone else started,
    whose workers are spawned afresh (they import the package and compile its dictionaries themselves,
    with nothing inherited from this process) and which the run must leave running. Same CSVs."""
    pytest.importorskip("dask.distributed")
    import dask
    from dask.distributed import Client, LocalCluster

    from hkpolicy import cli
    from hkpolicy.engine import QUIET_CLUSTER_CONFIG

    with dask.config.set({**QUIET_CLUSTER_CONFIG, "distributed.worker.multiprocessing-method": "spawn"}), \
            LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        status = cli.main(["run", str(RAW), "--out", str(tmp_path), "--engine", "dask", "--scheduler",
                           cluster.scheduler_address, "--quiet", "--chunk-size", "7", "--batch-size", "3"])
        assert status == 0
        with Client(cluster.scheduler_address) as client:  # still up, its worker still there
            assert len(client.scheduler_info()["workers"]) == 1
            ran = client.run_on_scheduler(lambda dask_scheduler: sorted(dask_scheduler.task_prefixes))
        assert "process_files_for_run" in ran  # the files were analysed there, not in a cluster of our own
    assert csv_bytes(tmp_path) == big_chunk
    assert "articles analysed" in capsys.readouterr().out


def _fork_probe(_batch):
    import hkpolicy.engine

    return getattr(hkpolicy.engine, "_FORK_PROBE", None)


def test_dask_local_cluster_forks_its_workers_from_the_caller(monkeypatch):
    """A LocalCluster started by the engine forks its workers: they have what the calling process had when
    they started (in a run: the compiled dictionaries), where spawned workers would import afresh. Only
    where processes are forked by default (the local pool's workers are forked there too)."""
    pytest.importorskip("dask.distributed")
    import hkpolicy.engine
    from hkpolicy.engine import Engine, forks_by_default

    if not forks_by_default():
        pytest.skip("processes are not forked by default here")

    monkeypatch.setattr(hkpolicy.engine, "_FORK_PROBE", "set in the caller", raising=False)
    with Engine("dask", workers=2) as engine:
        assert engine.submit(_fork_probe, list(range(4)), batch_size=1)() == ["set in the caller"] * 4


def test_reruns_are_byte_identical(big_chunk, tmp_path):
    run_study(RAW, tmp_path, progress=False, workers=1)
    run_study(RAW, tmp_path, progress=False, workers=1)  # over the first run's files
    assert csv_bytes(tmp_path) == big_chunk
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]  # no scratch left


def reference_tables(raw: Path, keep_duplicates: bool) -> dict[str, pd.DataFrame]:
    """The study computed on whole in-memory tables (the pre-streaming pipeline), for comparison."""
    from hkpolicy.duplicates import duplicate_ids, find_duplicates, mark_duplicates
    from hkpolicy.ingest import read_corpus
    from hkpolicy.pipeline import analyse_articles, build_tables

    articles, manifest = read_corpus(raw)
    articles, manifest = mark_duplicates(articles, manifest, find_duplicates(articles))
    excluded = set() if keep_duplicates else duplicate_ids(articles)
    claims, voices = analyse_articles(articles[~articles["article"].isin(excluded)][["article", "date", "text"]])
    tables = build_tables(claims)
    return {"manifest": manifest, "articles": articles, "claims": claims, "voices": voices, **tables}


@pytest.mark.parametrize("keep_duplicates", [False, True])
def test_streamed_run_equals_whole_table_steps_with_duplicates(copied_corpus, tmp_path, keep_duplicates):
    from hkpolicy.io import write_table
    from hkpolicy.pipeline import CLAIM_SORT

    summary = run_study(copied_corpus, tmp_path / "streamed", progress=False, workers=2, chunk_size=3,
                        batch_size=2, keep_duplicates=keep_duplicates)
    reference = reference_tables(copied_corpus, keep_duplicates)
    sort = {"manifest": ["source_file", "article"], "articles": ["article"], "claims": CLAIM_SORT,
            "voices": ["article", "sentence_id", "actor"], "stance_by_article": ["article", "nation"],
            "stance_by_nation": None}
    for name in TABLES:
        expected = write_table(reference[name], tmp_path / "reference" / f"{name}.csv", sort_by=sort[name])
        assert (tmp_path / "streamed" / f"{name}.csv").read_bytes() == expected.read_bytes(), name
    n_copies = int((reference["manifest"]["status"] == "duplicate").sum())
    assert n_copies >= 12
    assert f"{n_copies} duplicate" in summary
    assert f"{len(reference['claims'])} claims" in summary


def test_ids_out_of_file_order_are_still_sorted(tmp_path):
    """``a.csv`` is scanned before ``a.csv!.txt``, but its record ``a.csv#zz`` sorts after ``a.csv!.txt``:
    the streamed run notices and sorts those tables itself."""
    from hkpolicy.io import write_table
    from hkpolicy.pipeline import CLAIM_SORT

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    exported = (RAW / "real" / "bbc_10.csv").read_text(encoding="utf-8")
    (corpus / "a.csv").write_text(exported.replace("\nbbc_10,", "\nzz,", 1), encoding="utf-8")
    shutil.copyfile(RAW / "seeds" / "london_daily_four_nation_statement.txt", corpus / "a.csv!.txt")
    run_study(corpus, tmp_path / "streamed", progress=False, workers=1, chunk_size=1)
    reference = reference_tables(corpus, keep_duplicates=False)
    assert list(reference["articles"]["article"]) == ["a.csv!.txt", "a.csv#zz"]
    sort = {"articles": ["article"], "claims": CLAIM_SORT, "stance_by_article": ["article", "nation"]}
    for name, keys in sort.items():
        expected = write_table(reference[name], tmp_path / "reference" / f"{name}.csv", sort_by=keys)
        assert (tmp_path / "streamed" / f"{name}.csv").read_bytes() == expected.read_bytes(), name


def test_parquet_written_in_chunks_equals_the_whole_csv(study_out, tmp_path):
    """``--parquet`` converts each table in chunks; the result must be the table ``read_table`` gives for
    the whole CSV, column types included, however the chunks fall (here: 3 rows, so that a column can be
    numbers in one chunk and text in another)."""
    from hkpolicy.io import csv_to_parquet, read_table

    for name in TABLES:
        source = study_out / f"{name}.csv"
        for chunk_rows in (3, 50_000):
            target = csv_to_parquet(source, tmp_path / f"{name}_{chunk_rows}.parquet", chunk_rows=chunk_rows)
            got, want = pd.read_parquet(target), read_table(source)
            assert list(got.dtypes.astype(str)) == list(want.dtypes.astype(str)), name
            pd.testing.assert_frame_equal(got, want, check_dtype=True)
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("a,b,c\n1,1,x\n2,2.5,\n3,3,1\n,4,2\n", encoding="utf-8")
    got = pd.read_parquet(csv_to_parquet(mixed, chunk_rows=2))
    pd.testing.assert_frame_equal(got, read_table(mixed))
    empty = tmp_path / "empty.csv"
    empty.write_text("a,b\n", encoding="utf-8")
    assert list(pd.read_parquet(csv_to_parquet(empty)).columns) == ["a", "b"]


def test_csv_rows_writes_what_pandas_writes(study_out):
    """The streamed run's workers write their rows with ``io.csv_rows``; the final tables must read as if
    pandas had written them: same quoting, number formats and empty cells, on the study's tables and on
    the awkward values a corpus can hold."""
    from hkpolicy.io import CSV_FORMAT, csv_rows, read_table

    def pandas_rows(frame):
        return frame.to_csv(header=False, **CSV_FORMAT)

    for name in TABLES:
        frame = pd.read_csv(study_out / f"{name}.csv", keep_default_na=False)
        assert csv_rows(frame) == pandas_rows(frame), name
        assert csv_rows(read_table(study_out / f"{name}.csv")) == pandas_rows(read_table(study_out / f"{name}.csv"))
    awkward = pd.DataFrame({
        "text": ['plain', 'comma, inside', 'quote " inside', 'line\nbreak', 'carriage\rreturn', "", None,
                 "“curly” — dash", "tab\there", " leading space"],
        "score": [0.1234567, -0.0, 1e-7, float("nan"), float("inf"), 123456789.0, 0.5, -1.0, 2.0, 1 / 3],
        "count": list(range(10)),
        "flag": [True, False] * 5,
        "mixed": ["a", 1, 2.5, None, float("nan"), True, "b,c", "", "x", pd.NA],
    })
    awkward["text_str"] = awkward["text"].astype("str")
    assert csv_rows(awkward) == pandas_rows(awkward)
    assert csv_rows(awkward.iloc[[6]]) == pandas_rows(awkward.iloc[[6]])  # a row of one empty text cell
    assert csv_rows(awkward[["text"]].iloc[[5]]) == pandas_rows(awkward[["text"]].iloc[[5]])
    dated = pd.DataFrame({"when": pd.to_datetime(["2020-07-01", None]), "n": pd.array([1, None], dtype="Int64")})
    assert csv_rows(dated) == pandas_rows(dated)  # left to pandas
    for frame in (awkward, dated):  # row lengths, which the final copy relies on, on both paths
        text, lengths = csv_rows(frame, with_lengths=True)
        assert text == pandas_rows(frame) and len(lengths) == len(frame)
        assert [len(pandas_rows(frame.iloc[[i]])) for i in range(len(frame))] == lengths
    assert csv_rows(awkward.iloc[:0]) == ""


def test_final_copy_run_by_run_equals_row_by_row(tmp_path):
    """The final copy passes runs of one article's rows on as text and parses only the runs an edit
    changes; it must write what parsing every row writes, for every kind of edit, with awkward cells
    (line breaks, quotes, commas inside) and rows of skipped files (no article)."""
    import pickle

    from hkpolicy.pipeline import (_Keep, _KeepWithEvidence, _MarkArticles, _MarkManifest, _Spool,
                                   serialise_rows)

    frame = pd.DataFrame({
        "source_file": ["a.txt", "b.txt", "b.txt", "c.txt", "d.txt", "d.txt"],
        "article": ["a", "b", "b", "", "d", "d"],
        "nation": ["CHN", "GBR", "USA", "", "CHN", "USA"],
        "status": ["ok", "ok", "ok", "skipped", "ok", "ok"],
        "duplicate_of": [""] * 6, "reason": [""] * 6,
        "evidence": ['said "no", twice', "line\nbreak", "x", "", "comma, here", "\r\n"],
        "score": [0.5, -1.0, float("nan"), 0.0, 1 / 3, 2.0],
    })
    ids = ["a", "b", "d"]
    ordinal = {article: i for i, article in enumerate(ids)}
    # Each edit with the articles it acts on: the copy is given only their ids (by ordinal).
    edits = [(lambda: _Keep({"b"}), {"b"}), (lambda: _KeepWithEvidence({"b"}, {("d", "USA"), ("a", "CHN")}), set(ids)),
             (lambda: _MarkManifest({"b": "a"}, {"b": "exact copy of a"}), {"b"}),
             (lambda: _MarkArticles({"d": "a"}, {"a": (1, "Reuters, AP")}), {"a", "d"})]
    for make_edit, acted_on in edits:
        spool = _Spool(tmp_path / "spool.csv", list(frame.columns), ["article", "nation"])
        for piece in (frame.iloc[[0, 3]], frame.iloc[[1, 2, 4, 5]]):  # sorted, and in order
            spool.append_rows(*serialise_rows(piece, ["article", "nation"]), ordinal=ordinal)
        assert spool.in_order  # so that the copy with ids goes run by run
        spool = pickle.loads(pickle.dumps(spool))  # as a worker process gets it (its runs are read from disk)
        by_runs, by_rows = make_edit(), make_edit()
        acting = {ordinal[article]: article for article in acted_on}
        assert spool.copy_to(tmp_path / "runs.csv", by_runs, acting) == spool.copy_to(tmp_path / "rows.csv", by_rows)
        assert (tmp_path / "runs.csv").read_bytes() == (tmp_path / "rows.csv").read_bytes()
        spool.path.unlink()
    assert by_runs.extra_columns and b"Reuters, AP" in (tmp_path / "runs.csv").read_bytes()


def _gc_state(_batch) -> tuple:
    import gc

    import pyarrow

    return gc.get_threshold(), gc.get_freeze_count() > 0, pyarrow.default_memory_pool().backend_name


def test_pool_workers_run_with_the_tuned_garbage_collector():
    """Each worker of the local engine's pool has raised collection thresholds, its inherited objects
    frozen and pyarrow on the system allocator; the calling process keeps its own settings."""
    from hkpolicy.engine import WORKER_GC_THRESHOLD, Engine, map_batches

    before = _gc_state(None)
    states = map_batches(_gc_state, list(range(4)), workers=2, batch_size=1, progress=False)
    assert states == [(WORKER_GC_THRESHOLD, True, "system")] * 4
    with Engine("local", workers=2) as engine:
        assert engine.submit(_gc_state, list(range(4)), batch_size=1)() == [(WORKER_GC_THRESHOLD, True, "system")] * 4
    assert _gc_state(None) == before


def test_run_freezes_the_shared_heap_while_its_workers_run(monkeypatch, tmp_path):
    """The process that forks the workers freezes what they share for its garbage collector while they
    run (its collections would otherwise copy the pages they share), and leaves the collector as it found
    it: unfrozen after the run, and a freeze made before the run kept."""
    import gc

    from hkpolicy import engine as engines

    seen = []
    enter = engines.Engine.__enter__

    def spy(self):
        seen.append(gc.get_freeze_count())
        return enter(self)

    monkeypatch.setattr(engines.Engine, "__enter__", spy)
    assert gc.get_freeze_count() == 0
    run_study(RAW, tmp_path / "a", progress=False, workers=2)
    assert seen[-1] > 10_000 and gc.get_freeze_count() == 0  # the dictionaries, models, modules: frozen
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with engines.frozen_heap():
            assert gc.get_freeze_count() >= frozen
        assert gc.get_freeze_count() >= frozen  # someone else's freeze is not undone
    finally:
        gc.unfreeze()


def test_cli_default_batch_size_is_the_pipeline_default():
    from hkpolicy import cli, pipeline

    assert cli.DEFAULT_BATCH_SIZE == pipeline.DEFAULT_BATCH_SIZE
    args = cli.build_parser().parse_args(["run"])
    assert args.batch_size == pipeline.DEFAULT_BATCH_SIZE


def test_nation_tally_gives_by_nations_table_and_strongest_cells():
    """The streamed run's nation table, worked out from disk one nation at a time, equals ``by_nation`` on
    the plain string table (its evidence aside), and its strongest cells ``strongest_cells``'s: ids whose
    file order is not their string order, two nations with one name, an excluded article, repeated
    statements; the claims with a stance are counted over the kept articles."""
    from hkpolicy.pipeline import _id_ranks, _NationTally
    from hkpolicy.tables import by_nation, strongest_cells

    ids = ["b/10.txt", "b/9.txt", "a/2.txt", "c/1.txt"]  # ordinal order (as read), not string order
    cells = pd.DataFrame({"article": ["b/10.txt", "b/10.txt", "b/9.txt", "a/2.txt", "a/2.txt", "c/1.txt"],
                          "nation": ["US", "CN", "US", "US", "HK", "CN"],
                          "stance": ["oppose", "support", "neutral", "oppose", "support", "support"],
                          "score": [-0.5, 0.9, 0.0, -1.0, 0.4, 0.7], "n_claims": [1, 2, 1, 3, 1, 1],
                          "n_statements": [1, 1, 1, 2, 1, 1]})
    statements = pd.DataFrame({"article": ["b/10.txt", "a/2.txt", "a/2.txt", "c/1.txt"],
                               "nation": ["US", "US", "US", "CN"], "key": [7, 7, 8, 9]})
    tally = _NationTally()  # fed in two pieces, as batches come (its numbers go to disk and come back)
    ordinal = {article: ids.index(article) for article in ids}
    tally.add(cells.iloc[:3], statements.iloc[:1], {"b/10.txt": 3, "b/9.txt": 1}, ordinal)
    tally.add(cells.iloc[3:], statements.iloc[1:], {"a/2.txt": 4, "c/1.txt": 2}, ordinal)
    names = {"US": "United States", "CN": "China", "HK": "China"}
    excluded = {ids.index("c/1.txt")}

    plain = cells[cells["article"] != "c/1.txt"].sort_values(["article", "nation"]).reset_index(drop=True)
    plain = plain.assign(name=plain["nation"].map(names), evidence="")
    expected = by_nation(plain, names=names, statements={"US": 2})  # CN's only vote is excluded: its cells' sum
    table = tally.nation_table(excluded, names, _id_ranks(ids))
    pd.testing.assert_frame_equal(table.drop(columns="evidence"), expected.drop(columns="evidence"))
    assert table["n_statements"].tolist() == [2, 1, 1] and table["nation"].tolist() == ["US", "HK", "CN"]
    strongest = tally.strongest(excluded, _id_ranks(ids))
    assert [(ids[o], n, s) for o, n, s in strongest.itertuples(index=False)] == \
        list(strongest_cells(plain)[["article", "nation", "score"]].itertuples(index=False, name=None))
    assert tally.with_stance(excluded) == 8 and tally.with_stance(set()) == 10
    tally.close()

    # Articles added in id order: without a rank the ordinal is the article's place, and all is the same.
    in_order = sorted(ids)
    tally = _NationTally()
    tally.add(cells, statements, {}, {article: in_order.index(article) for article in in_order})
    excluded = {in_order.index("c/1.txt")}
    pd.testing.assert_frame_equal(tally.nation_table(excluded, names), table)
    assert [(in_order[o], n, s) for o, n, s in tally.strongest(excluded).itertuples(index=False)] == \
        list(strongest_cells(plain)[["article", "nation", "score"]].itertuples(index=False, name=None))
    # Nothing kept: no rows.
    assert tally.nation_table(set(range(4)), names).empty and tally.strongest(set(range(4))).empty
    tally.close()


def test_nation_tally_keeps_its_numbers_on_disk_not_in_memory(monkeypatch):
    """The streamed run's tally writes every piece's cells, votes and stance counts to disk: Python memory
    grows by a little per piece, not per cell or vote (in memory they took ~200 bytes an article), and
    the numbers come back whole."""
    import tracemalloc

    from hkpolicy import tables
    from hkpolicy.pipeline import _NationTally

    rng = np.random.default_rng(3)
    nations = ["CHN", "GBR", "USA"]

    def piece(start: int, size: int):
        articles = [f"wire/{start + i:07d}.txt" for i in range(size)]
        cells = pd.DataFrame({"article": np.repeat(articles, 3), "nation": nations * size,
                              "stance": rng.choice(["oppose", "support", "neutral"], 3 * size),
                              "score": rng.uniform(-1, 1, 3 * size), "n_claims": rng.integers(1, 5, 3 * size),
                              "n_statements": rng.integers(1, 3, 3 * size)})
        votes = pd.DataFrame({"article": np.repeat(articles, 7), "nation": rng.choice(nations, 7 * size),
                              "key": rng.integers(-2**63, 2**63 - 1, 7 * size)})
        return cells, votes, dict.fromkeys(articles, 7), {article: start + i for i, article in enumerate(articles)}

    pieces = [piece(256 * k, 256) for k in range(21)]
    scores = np.concatenate([cells["score"].to_numpy() for cells, *_ in pieces])
    tally = _NationTally()
    tally.add(*pieces.pop(0))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        while pieces:
            tally.add(*pieces.pop(0))
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept / (20 * 256) < 16, f"{kept / (20 * 256):.0f} bytes an article kept in memory"
    assert tally.with_stance(set()) == 7 * 21 * 256
    # Read back as numbers by nation, not as a table of every cell (which with the votes took 2.4 MB here,
    # ~45 bytes a cell or vote; 32 allow 1.7 MB). The bootstrap's draws are kept small.
    monkeypatch.setattr(tables, "BOOTSTRAP_BLOCK", 1000)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        table = tally.nation_table(excluded={0}, names={})
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    n_cells, n_votes = 3 * 21 * 256, 7 * 21 * 256
    assert peak < 32 * (n_cells + n_votes), f"{peak} bytes at the peak for {n_cells} cells and {n_votes} votes"
    assert table["n_articles"].sum() == 3 * (21 * 256 - 1) and table["nation"].tolist() == sorted(nations)
    assert np.allclose(table["score"], [round(scores[3:][k::3].mean(), 4) for k in range(3)])
    tally.close()


WARM_UP_PROBE = """
import sys
from pathlib import Path
import hkpolicy.pipeline as pipeline
import hkpolicy.resources as resources

pipeline.warm_up()
tables = len(resources._ALTERNATIONS)
builds = []
build = resources._SharedKeyScan._build
resources._SharedKeyScan._build = lambda scan: builds.append(1) or build(scan)
raw = Path(sys.argv[1])
files = sorted(path.relative_to(raw).as_posix() for path in raw.rglob("*") if path.is_file())
result = pipeline.process_files_for_run([(name, None) for name in files], str(raw))
print(len(builds), len(resources._ALTERNATIONS) - tables, sum(result["status_counts"].values()))
"""


def test_warm_up_leaves_nothing_for_a_worker_to_build():
    """What ``warm_up`` compiles before the workers are forked is all a batch needs: reading, cleaning and
    analysing every kind of file in data/raw (txt, html, Markdown, csv, jsonl) creates no new pattern table
    and never rebuilds the key scan the tables share (each forked worker would otherwise rebuild it, and
    the candidates of every table, on its first batch). In a fresh interpreter, so that nothing another
    test compiled can stand in for the warm-up."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", WARM_UP_PROBE, str(RAW)], capture_output=True, text=True,
                            check=True)
    rebuilds, new_tables, files = map(int, result.stdout.split())
    assert files == len([path for path in RAW.rglob("*") if path.is_file()])
    assert (rebuilds, new_tables) == (0, 0)


# ----------------------------------------------------------------------------------------------
# Early start (the first files read while the run warms up) and the last chunk's shrinking batches
# ----------------------------------------------------------------------------------------------


def _slow_fourth_batch(flags: Path, batch: list[int]) -> tuple[int, list[int]]:
    """A batch's items squared, with the pid that did it; batch 2 (items 8-11) leaves a flag, batch 3 sleeps."""
    import os
    import time

    if batch[0] == 8:
        (flags / "third-done").touch()
    if batch[0] == 12:
        time.sleep(2)
    return os.getpid(), [item * item for item in batch]


def test_early_start_works_in_another_process_and_stops_after_the_batch_under_way(tmp_path):
    """``take()`` while the fourth batch is under way: it is finished, no later batch is started, and the
    results are the batches in order, computed in a forked process."""
    import os
    import time
    from functools import partial

    from hkpolicy.engine import EarlyStart

    items = list(range(40))
    early = EarlyStart(partial(_slow_fourth_batch, tmp_path), items, batch_size=4)
    deadline = time.monotonic() + 60
    while not (tmp_path / "third-done").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    done = early.take()
    assert [batch for batch, _ in done] == [items[0:4], items[4:8], items[8:12], items[12:16]]
    assert [result for _, (_, result) in done] == [[i * i for i in batch] for batch, _ in done]
    assert {pid for _, (pid, _) in done} != {os.getpid()} and len({pid for _, (pid, _) in done}) == 1
    assert early.take() == []  # taken once; nothing runs any more


def _fails_on_third_batch(batch: list[int]) -> list[int]:
    if batch[0] == 4:
        raise RuntimeError("a batch that fails")
    return batch


def test_early_start_keeps_what_was_done_before_a_failure(capfd):
    """A batch that raises ends the early work; the batches before it are still handed over (the caller
    does the rest itself), and ``take`` does not wait for a last word that never comes."""
    from hkpolicy.engine import EarlyStart

    early = EarlyStart(_fails_on_third_batch, list(range(10)), batch_size=2)
    early._process.join(timeout=60)  # let it run into the failure
    assert early.take() == [([0, 1], [0, 1]), ([2, 3], [2, 3])]
    assert "a batch that fails" in capfd.readouterr().err  # the failure is reported, not hidden


def test_early_start_does_nothing_where_processes_are_not_forked(monkeypatch):
    """Where new processes would start from scratch (spawn, forkserver) there is nothing to gain: no
    process, nothing taken, and ``close`` is harmless."""
    from hkpolicy import engine as engines

    monkeypatch.setattr(engines, "forks_by_default", lambda: False)
    early = engines.EarlyStart(_fails_on_third_batch, list(range(10)), batch_size=2)
    assert early._process is None and early.take() == []
    early.close()


def test_run_reads_its_first_files_early_and_every_file_once(big_chunk, tmp_path, monkeypatch):
    """A run with two workers reads the first chunk's files in a forked process while it warms up, takes
    them once its pool's workers are forked, hands them out already read, and reads every other file in
    its workers: each file of the corpus is read exactly once, and the tables are byte-identical to a
    one-chunk run in one process. (The warm-up is made to last a little longer, so that the early
    reader gets through the first chunk.)"""
    import os
    import time

    from hkpolicy import pipeline

    log = tmp_path / "reads.log"
    read_files, warm_up = pipeline.read_files, pipeline.warm_up

    def logged_read_files(names, base, *args, **kwargs):
        if Path(base) == RAW:  # not the warm-up's sample page
            with log.open("a", encoding="utf-8") as handle:  # forked processes append to the same file
                handle.writelines(f"{os.getpid()}\t{name}\n" for name in names)
        return read_files(names, base, *args, **kwargs)

    def slow_warm_up():
        warm_up()
        time.sleep(3)

    taken, workers_up = [], []
    take = pipeline.EarlyStart.take

    def spy_take(self):
        import multiprocessing

        workers_up.append(sum(child.name != "hkpolicy-early-start" for child in multiprocessing.active_children()))
        taken.append(take(self))
        return taken[-1]

    monkeypatch.setattr(pipeline, "read_files", logged_read_files)
    monkeypatch.setattr(pipeline, "warm_up", slow_warm_up)
    monkeypatch.setattr(pipeline.EarlyStart, "take", spy_take)
    run_study(RAW, tmp_path / "out", progress=False, workers=2, chunk_size=8, batch_size=2)
    assert csv_bytes(tmp_path / "out") == big_chunk

    reads = [line.split("\t") for line in log.read_text(encoding="utf-8").splitlines()]
    files = sorted(path.relative_to(RAW).as_posix() for path in RAW.rglob("*") if path.is_file())
    assert sorted(name for _, name in reads) == files  # each file read once
    early = [name for batch, _ in taken[0] for name, _ in batch]
    assert early == files[:8]  # the whole first chunk, in the early process
    by_pid = {}
    for pid, name in reads:
        by_pid.setdefault(pid, set()).add(name)
    assert set(early) in by_pid.values() and str(os.getpid()) not in by_pid
    assert workers_up == [2]  # the pool's workers were forked before the early records came in


def test_tapering_sizes_shrink_to_the_end_and_cover_every_item():
    from hkpolicy.engine import batches, tapering_sizes

    sizes = tapering_sizes(976, 256, 2)
    assert sum(sizes) == 976 and max(sizes) <= 256
    assert sizes == sorted(sizes, reverse=True) and sizes[0] == 244  # a quarter of what is left, each time
    assert sizes[-2] == 16 and sizes[-1] <= 16  # the last ones small, but not tiny
    assert tapering_sizes(5, 2, 2) == [2, 2, 1] and tapering_sizes(3, 256, 4) == [3] and tapering_sizes(0, 8, 2) == []
    assert batches(list(range(10)), [4, 3]) == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
    frame = pd.DataFrame({"n": range(7)})
    assert [len(part) for part in batches(frame, [3, 2, 1])] == [3, 2, 1, 1]


def _started_at(batch: list[int]) -> tuple[int, float]:
    import time

    time.sleep(0.05)
    return batch[0], time.monotonic()


def test_dask_engine_runs_batches_in_the_order_given():
    """Batches given to the Dask engine start in order (each is submitted with a lower priority than the
    one before): left to itself the scheduler took a run's shrinking last batches smallest first."""
    pytest.importorskip("dask.distributed")
    from hkpolicy.engine import Engine

    with Engine("dask", workers=1) as engine:
        engine.start()
        done = engine.submit(_started_at, list(range(12)), batch_size=[4, 3, 2, 1])()
    assert [first for first, _ in done] == [0, 4, 7, 9, 10, 11]  # results in batch order
    starts = [started for _, started in done]
    assert starts == sorted(starts)
