"""The study as notebooks and figures see it: where the project is, its tables, its figures.

``project_paths()`` finds the project folder from wherever a notebook runs (``notebooks/``, the
repository root, a test runner's temporary copy): the ``HKPOLICY_ROOT`` environment variable, else the
first parent folder holding ``data/raw``. ``HKPOLICY_OUT`` redirects the processed tables (tests use it).
``load_study(paths)`` reads the tables, running the pipeline first if they are missing.
``make_figures(out, figures)`` writes every figure; ``run_notebooks(folder)`` executes the notebooks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .io import read_table

TABLES = ["manifest", "articles", "claims", "voices", "stance_by_article", "stance_by_nation"]


@dataclass(frozen=True)
class ProjectPaths:
    root: Path
    raw: Path
    processed: Path
    figures: Path
    gold: Path
    annotations: Path


def project_paths(start: str | Path | None = None) -> ProjectPaths:
    """The project's folders, found from ``start`` (default: the working directory) upwards."""
    root_env = os.environ.get("HKPOLICY_ROOT")
    if root_env:
        root = Path(root_env).resolve()
    else:
        here = Path(start or Path.cwd()).resolve()
        root = next((folder for folder in [here, *here.parents] if (folder / "data" / "raw").is_dir()), None)
        if root is None:
            raise FileNotFoundError(f"no data/raw folder in {here} or its parents; set HKPOLICY_ROOT")
    processed = Path(os.environ.get("HKPOLICY_OUT") or root / "data" / "processed")
    figures = Path(os.environ.get("HKPOLICY_FIGURES") or root / "reports" / "figures")
    return ProjectPaths(root, root / "data" / "raw", processed, figures, root / "data" / "gold",
                        root / "data" / "annotations")


def load_study(paths: ProjectPaths | None = None, engine: str = "local") -> dict[str, pd.DataFrame]:
    """Every table of the study, keyed by name; runs ``run_study`` first when any is missing."""
    from .pipeline import run_study

    paths = paths or project_paths()
    if not all((paths.processed / f"{name}.csv").is_file() for name in TABLES):
        run_study(paths.raw, paths.processed, engine=engine, progress=False)
    tables = {name: read_table(paths.processed / f"{name}.csv") for name in TABLES}
    tables["claims"]["on_target"] = tables["claims"]["on_target"].astype(str).str.lower().eq("true")
    return tables


def make_figures(out: str | Path, figures: str | Path) -> list[Path]:
    """Write every figure of ``plots.make_all_figures`` from the tables in ``out`` into ``figures``."""
    from .actors import nation_names
    from .plots import make_all_figures

    tables = {name: read_table(Path(out) / f"{name}.csv") for name in TABLES}
    tables["claims"]["on_target"] = tables["claims"]["on_target"].astype(str).str.lower().eq("true")
    return make_all_figures(tables, figures, names=nation_names())


def run_notebooks(folder: str | Path, executed: str | Path = "reports/notebooks", timeout: int = 600) -> list[Path]:
    """Execute every ``NN_*.ipynb`` in ``folder`` headless (nbclient); executed copies go to ``executed``."""
    import nbformat
    from nbclient import NotebookClient

    folder, executed = Path(folder), Path(executed)
    executed.mkdir(parents=True, exist_ok=True)
    written = []
    for notebook_path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        notebook = nbformat.read(notebook_path, as_version=4)
        NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(folder.resolve())}}).execute()
        target = executed / notebook_path.name
        nbformat.write(notebook, target)
        written.append(target)
    return written
