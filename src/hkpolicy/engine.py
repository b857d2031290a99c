"""Engines: map a per-batch function over batches of articles, locally or on Dask.

``map_batches(func, articles, engine="local")`` splits ``articles`` into batches of ``batch_size`` rows
(in order), applies ``func`` to each and returns the results in batch order, whatever ran them:
    local   a process pool over all cores (``workers``), or in-process for a single batch / worker
    dask    dask.bag over a LocalCluster, or the cluster at ``scheduler`` (``pip install hkpolicy[dask]``)
Results do not depend on the engine or the batch size: each article is analysed on its own.

``Engine`` is the same thing kept open across many calls (one process pool or one Dask cluster for a whole
streamed run): ``submit(func, articles, batch_size)`` starts the work and returns a function that waits for
and returns the results, so the caller can read the next chunk of the corpus meanwhile.
"""

from __future__ import annotations

import gc
import os
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Callable, TypeVar

import pandas as pd

T = TypeVar("T")


# The garbage collector in a worker process. The analysis allocates and frees many short-lived containers:
# with CPython's default first-generation threshold (700) the collector ran ~450 times per 1,000 articles,
# ~3% of a worker's time (measured with gc.callbacks); with 10,000, a few times. Objects a forked worker
# inherits (dictionaries, compiled patterns, the model) are frozen: collections neither walk them nor write
# to their pages (which would copy pages shared with the parent).
WORKER_GC_THRESHOLD = (10_000, 10, 10)


@contextmanager
def frozen_heap():
    """The objects alive now frozen for the garbage collector (``gc.freeze``) until the block ends.

    For the process that forks the workers, after it has compiled what they share: its own collections no
    longer walk those objects, and walking them (a write to each one's header) made this process's copy of
    every page it touched private, though the workers still map the original (measured at 20k articles:
    34 MiB more private memory in the main process, 21 MiB more PSS; each worker 5 MiB). Unfrozen at the
    end, unless something was frozen before (then left as it was found)."""
    frozen_before = gc.get_freeze_count()
    gc.freeze()
    try:
        yield
    finally:
        if not frozen_before:
            gc.unfreeze()


def tune_worker() -> None:
    """Set up a worker process: its garbage collector (``WORKER_GC_THRESHOLD``; inherited objects frozen)
    and the memory pool of pyarrow (pandas' string columns) set to the system allocator: its default,
    jemalloc, kept ~25 MiB more per worker of a streamed run (measured at 20k articles) for no speed.
    The initializer of the local engine's pool, and run on each worker of a LocalCluster started here."""
    gc.freeze()
    gc.set_threshold(*WORKER_GC_THRESHOLD)
    try:
        import pyarrow
    except ImportError:  # pandas without pyarrow: nothing to set
        return
    pyarrow.set_memory_pool(pyarrow.system_memory_pool())


def batches(items, batch_size: int | list[int]) -> list:
    """Consecutive slices of ``batch_size`` rows of a DataFrame (or items of a list); with a list of sizes
    (``tapering_sizes``), slices of those sizes in turn, the last size repeated while rows remain."""
    sizes = [max(1, size) for size in batch_size] if isinstance(batch_size, (list, tuple)) else [max(1, batch_size)]
    bounds, start = [], 0
    while start < len(items):
        step = sizes[min(len(bounds), len(sizes) - 1)]
        bounds.append((start, start + step))
        start += step
    if isinstance(items, pd.DataFrame):
        return [items.iloc[i:j] for i, j in bounds]
    return [items[i:j] for i, j in bounds]


def tapering_sizes(n_items: int, batch_size: int, workers: int, smallest: int = 16) -> list[int]:
    """Sizes of the batches for the last ``n_items`` of a run: each a share of what is left (half of what
    each worker would get if it were shared out evenly), at most ``batch_size``, at least ``smallest``.

    The batches shrink towards the end, so the workers finish together. With equal batches one worker
    could wait for most of a batch at the end (at 2k articles, batches of 122: a worker idle ~0.6 s while
    the other finished); with small batches throughout, each would pay a batch's fixed cost (~27 ms:
    frames, sorting, formatting) more often. Sizes sum to ``n_items``."""
    sizes, left = [], n_items
    while left > 0:
        size = min(batch_size, left, max(smallest, -(-left // (2 * max(1, workers)))))
        sizes.append(max(1, size))
        left -= sizes[-1]
    return sizes


def map_batches(func: Callable[[pd.DataFrame], T], articles: pd.DataFrame, engine: str = "local",
                scheduler: str | None = None, workers: int | None = None, batch_size: int = 64,
                progress: bool = True) -> list[T]:
    """``[func(batch) for batch in batches(articles)]``, run by the chosen engine."""
    parts = batches(articles, batch_size)
    if not parts:
        return []
    if engine == "dask":
        with Engine("dask", scheduler=scheduler, workers=workers) as runner:
            return runner.submit(func, articles, batch_size=batch_size)()
    if engine != "local":
        raise ValueError(f"unknown engine {engine!r} (local or dask)")
    workers = workers or os.cpu_count() or 1
    bar = _progress(len(articles), progress)
    if workers == 1 or len(parts) == 1:
        results = []
        for part in parts:
            results.append(func(part))
            bar.update(len(part))
        bar.close()
        return results
    results = []
    with ProcessPoolExecutor(max_workers=min(workers, len(parts)), initializer=tune_worker) as pool:
        for part, result in zip(parts, pool.map(func, parts)):
            results.append(result)
            bar.update(len(part))
    bar.close()
    return results


# Diagnostics a LocalCluster started here does without (it has no dashboard to show them): the statistical
# profiler sampling each worker every 10 ms, and the memory and system monitors polled several times a
# second. On a machine with few cores their threads compete with the tasks. (A cluster of one's own,
# given by address, keeps its configuration.)
QUIET_CLUSTER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}


def forks_by_default() -> bool:
    """Whether new processes are forked here (Linux up to Python 3.13, unless the caller chose otherwise).
    Asked without fixing the start method, as ``get_start_method()`` would: the caller may still set it."""
    import multiprocessing

    return (multiprocessing.get_start_method(allow_none=True) or multiprocessing.get_all_start_methods()[0]) == "fork"


def _local_cluster(workers: int):
    """A Dask LocalCluster of ``workers`` single-threaded worker processes (Dask's default memory limits),
    configured with ``QUIET_CLUSTER_CONFIG``.

    Where processes are forked by default (Linux up to Python 3.13), its workers are forked too, as the
    local engine's pool is: they start at once, with the package imported and the dictionaries compiled by
    the caller (``run_study`` warms up first), sharing those pages; spawned (Dask's default), each imported
    and compiled it all again (~1.5 s of CPU a worker, and its own copy in memory). Elsewhere (macOS,
    Windows, Python 3.14's forkserver) both engines start fresh processes."""
    import dask
    from dask.distributed import LocalCluster

    config = dict(QUIET_CLUSTER_CONFIG)
    if forks_by_default():
        config["distributed.worker.multiprocessing-method"] = "fork"
    with dask.config.set(config):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc="analyse", unit="article", disable=not enabled or total < 50)


def _dask_module(name: str):
    """``import name`` for the dask engine, with a clear error where the optional extra is not installed."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as error:  # pragma: no cover - depends on the optional extra
        raise RuntimeError("the dask engine needs `pip install hkpolicy[dask]`") from error


class Engine:
    """A local process pool or a Dask client, opened once and used for many chunks (a context manager)."""

    def __init__(self, engine: str = "local", scheduler: str | None = None, workers: int | None = None):
        if engine not in {"local", "dask"}:
            raise ValueError(f"unknown engine {engine!r} (local or dask)")
        self.engine, self.scheduler = engine, scheduler
        self.workers = workers or os.cpu_count() or 1
        self._pool = None
        self._client = None
        self._cluster = None
        self._submitted = 0  # Dask partitions submitted so far (each a lower priority than the last)

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def start(self) -> "Engine":
        """Start the worker processes now rather than at the first ``submit``: the local pool (more than
        one worker) or the Dask LocalCluster; a cluster at an address is connected to. So that they are
        forked before this process takes in more memory (a run's early-read files) than they need."""
        if self.engine == "dask":
            if self.scheduler != "synchronous":
                self._dask_client()
        elif self.workers > 1 and self._pool is None:
            self._local_pool().submit(int).result()  # forks the workers (all of them, where processes are forked)
        return self

    def submit(self, func: Callable[[pd.DataFrame], T], articles: pd.DataFrame | list,
               batch_size: int | list[int] = 64) -> Callable[[], list[T]]:
        """Start ``func`` on every batch of ``articles`` (a DataFrame's rows or a list's items, e.g. the
        files a worker reads itself; batches as ``batches`` cuts them); returns a function giving the
        results in batch order."""
        parts = batches(articles, batch_size)
        if not parts:
            return list
        if self.engine == "dask":
            return self._submit_dask(func, parts)
        if self.workers == 1 or (len(parts) == 1 and self._pool is None):
            results = [func(part) for part in parts]
            return lambda: results
        futures = [self._local_pool().submit(func, part) for part in parts]
        return lambda: [future.result() for future in futures]

    def run_each(self, func: Callable[..., T], calls: list[tuple]) -> list[T]:
        """``[func(*args) for args in calls]``, side by side in the local process pool or the Dask
        LocalCluster when one is open. Meant for work on this machine's files (the final copy of a run's
        tables): with a Dask cluster at a given address, whose workers may be elsewhere, they run here,
        one after another."""
        return self.start_each(func, calls)()

    def start_each(self, func: Callable[..., T], calls: list[tuple]) -> Callable[[], list[T]]:
        """``run_each`` started: returns a function that waits for the results, so that the caller can work
        meanwhile. Where the calls run here (no pool or cluster of this machine), they run when waited for."""
        if len(calls) >= 2 and self.engine == "local" and self._pool is not None:
            futures = [self._pool.submit(func, *args) for args in calls]
            return lambda: [future.result() for future in futures]
        if len(calls) >= 2 and self.engine == "dask" and self._cluster is not None and self._client is not None:
            futures = [self._client.submit(func, *args, pure=False) for args in calls]
            client = self._client
            return lambda: client.gather(futures)
        return lambda: [func(*args) for args in calls]

    def _local_pool(self) -> ProcessPoolExecutor:
        """The process pool of ``workers`` processes (made once)."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers, initializer=tune_worker)
        return self._pool

    def _submit_dask(self, func, parts):
        db = _dask_module("dask.bag")
        bag = db.from_sequence(parts, npartitions=len(parts)).map(func)
        if self.scheduler == "synchronous":
            results = bag.compute(scheduler="synchronous")
            return lambda: results
        client = self._dask_client()
        # One future per partition, gathered by the client: no final task concatenating them on a worker.
        # Each with a lower priority than the one before, so that the workers take them in order: left to
        # itself the scheduler ran a run's last chunk smallest batch first, and its two largest batches
        # last, one worker idle for seconds at the end (2k articles: 11.3 s, against 9.9 locally).
        futures = []
        for partition in bag.to_delayed():
            self._submitted += 1
            futures.append(client.compute(partition, priority=-self._submitted))
        return lambda: [result for partition in client.gather(futures) for result in partition]

    def _dask_client(self):
        """The client of the cluster at ``scheduler``, or of a LocalCluster started here (made once)."""
        Client = _dask_module("dask.distributed").Client
        if self._client is None:
            if self.scheduler:
                self._client = Client(self.scheduler)
            else:
                self._cluster = _local_cluster(self.workers)
                self._client = Client(self._cluster)
                self._client.run(tune_worker)
        return self._client


class EarlyStart:
    """``func`` over consecutive batches of ``items`` in a forked process, started while this process is
    busy with work that keeps one core (a run's warm-up: imports, compiling the dictionaries); ``take()``
    stops it once the batch under way is done and returns what it finished.

    For a run, the first files of the corpus are read meanwhile (``pipeline.run_study``): the warm-up
    takes ~1.5-2 s on one core, and a second core reads ~900 files in that time, which the workers then
    do not read. Only where processes are forked by default (``forks_by_default``): the process starts
    at once with what this one has imported. Elsewhere (or where no process can be started, e.g. inside a
    daemonic process) nothing starts and ``take()`` returns nothing. ``func`` must give the same result
    whichever process runs it: the caller does itself whatever was not done early.
    """

    def __init__(self, func: Callable[[list], T], items: list, batch_size: int = 16):
        self.items, self.batch_size = list(items), max(1, batch_size)
        self._process = None
        if not self.items or not forks_by_default():
            return
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self._stop = context.Event()
        self._queue = context.Queue()  # its feeder thread buffers what this process has not read yet
        process = context.Process(target=self._run, args=(func,), daemon=True, name="hkpolicy-early-start")
        try:
            process.start()
        except (AssertionError, OSError):  # a daemonic caller may not have children; no process left
            return
        self._process = process

    def _run(self, func) -> None:
        gc.set_threshold(*WORKER_GC_THRESHOLD)
        try:
            for start in range(0, len(self.items), self.batch_size):
                if self._stop.is_set():
                    break
                self._queue.put((start, func(self.items[start:start + self.batch_size])))
        finally:
            self._queue.put(None)  # the last word: nothing more will come
            self._queue.close()
            self._queue.join_thread()  # everything sent before the process ends

    def __enter__(self) -> "EarlyStart":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def take(self) -> list[tuple[list, T]]:
        """Stop the early work after the batch under way; ``(batch of items, func(batch))`` for each batch
        it finished, in order (a prefix of ``items``; empty where nothing was started)."""
        import queue

        if self._process is None:
            return []
        self._stop.set()
        done = []
        while True:
            try:
                got = self._queue.get(timeout=0.1)
            except queue.Empty:
                if self._process.is_alive():
                    continue
                try:  # ended: its last word may still be in the pipe
                    got = self._queue.get(timeout=0.1)
                except queue.Empty:
                    break  # killed before its last word: what arrived is all there is
            if got is None:
                break
            start, result = got
            done.append((self.items[start:start + self.batch_size], result))
        self._process.join(timeout=10)  # it has sent its last word and is ending
        self.close()
        return done

    def close(self) -> None:
        """Stop the early work without taking it (what ``take`` does once it has it); safe to repeat."""
        process, self._process = self._process, None
        if process is None:
            return
        self._stop.set()
        if process.is_alive():
            process.terminate()  # a caller that failed before taking (take() lets it end on its own)
        process.join()
        self._queue.close()
