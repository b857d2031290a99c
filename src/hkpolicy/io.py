"""Writing tables: UTF-8 CSV with a stable column order and sorted rows, so re-runs are byte-identical."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def write_table(frame: pd.DataFrame, path: str | Path, sort_by: list[str] | None = None,
                parquet: bool = False) -> Path:
    """Write ``frame`` as CSV at ``path`` (rows sorted by ``sort_by``), and as Parquet beside it if asked."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if sort_by:
        frame = frame.sort_values(sort_by, kind="stable").reset_index(drop=True)
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8", float_format="%.6g")
    if parquet:
        frame.to_parquet(path.with_suffix(".parquet"), index=False)
    return path


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a table written by ``write_table`` (strings kept as strings, empty cells as "")."""
    return pd.read_csv(path, keep_default_na=False, na_values=[], dtype_backend="numpy_nullable")
