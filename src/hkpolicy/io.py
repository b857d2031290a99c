"""Writing tables: UTF-8 CSV with a stable column order and sorted rows, so re-runs are byte-identical; and
the temporary files of numbers a streamed run keeps (``SpooledColumns``) and reads back."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

# How every table is written: pandas' ``to_csv`` with these options (``csv_rows`` reproduces it).
CSV_FORMAT = dict(index=False, lineterminator="\n", float_format="%.6g")


def is_missing(value) -> bool:
    """Whether a cell read from a table is missing: None, pandas' NA, or a float NaN."""
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def write_table(frame: pd.DataFrame, path: str | Path, sort_by: list[str] | None = None,
                parquet: bool = False) -> Path:
    """Write ``frame`` as CSV at ``path`` (rows sorted by ``sort_by``), and as Parquet beside it if asked."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if sort_by:
        frame = frame.sort_values(sort_by, kind="stable").reset_index(drop=True)
    frame.to_csv(path, encoding="utf-8", **CSV_FORMAT)
    if parquet:
        frame.to_parquet(path.with_suffix(".parquet"), index=False)
    return path


def csv_rows(frame: pd.DataFrame, with_lengths: bool = False) -> str | tuple[str, list[int]]:
    """The rows of ``frame`` as CSV text without the header: byte for byte what ``write_table`` writes for
    them, built column by column with the csv module (pandas formats each cell through several layers).
    With ``with_lengths``, returns (text, the length of each row in characters), so that rows can later be
    copied from the text without parsing it.

    Numbers: floats as ``CSV_FORMAT["float_format"]``, missing values as empty cells; booleans as True / False; text as is.
    A frame with columns of other types (nullable integers, dates, categories ...) is left to pandas.
    """
    float_format = CSV_FORMAT["float_format"]
    cells = []
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else None
        if kind == "f":
            cells.append(["" if value != value else float_format % value for value in column.tolist()])
        elif kind in ("i", "u", "b"):
            cells.append(column.tolist())
        elif kind == "O" or isinstance(column.dtype, pd.StringDtype):
            cells.append(["" if is_missing(value) else value for value in column.tolist()])
        else:
            text = frame.to_csv(header=False, **CSV_FORMAT)
            if not with_lengths:
                return text
            return text, [len(frame.iloc[[i]].to_csv(header=False, **CSV_FORMAT)) for i in range(len(frame))]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if not with_lengths:
        writer.writerows(zip(*cells))
        return buffer.getvalue()
    write = writer.writerow  # returns the number of characters written
    lengths = [write(row) for row in zip(*cells)]
    return buffer.getvalue(), lengths


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a table written by ``write_table`` (strings kept as strings, empty cells as "")."""
    return pd.read_csv(path, keep_default_na=False, na_values=[], dtype_backend="numpy_nullable")


def csv_to_parquet(csv_path: str | Path, parquet_path: str | Path | None = None, chunk_rows: int = 50_000) -> Path:
    """A Parquet copy of a table written by ``write_table``, read and written ``chunk_rows`` rows at a time
    (memory flat however long the table). Its columns have the types ``read_table`` gives the whole file
    (string, Int64, Float64, boolean): a first pass reads each chunk's types and widens them (Int64 and
    Float64 make Float64; any other mix makes string), the second converts and writes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    csv_path = Path(csv_path)
    parquet_path = Path(parquet_path) if parquet_path else csv_path.with_suffix(".parquet")
    options = dict(keep_default_na=False, na_values=[], dtype_backend="numpy_nullable")
    types: dict[str, str] = {}
    for chunk in pd.read_csv(csv_path, chunksize=chunk_rows, **options):
        for column, dtype in chunk.dtypes.items():
            types[column] = _wider(types.get(column), str(dtype))
    writer = None
    try:
        for chunk in pd.read_csv(csv_path, chunksize=chunk_rows, dtype=types, **options):
            table = pa.Table.from_pandas(chunk, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(parquet_path, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:  # no rows: the header's columns, typed as the whole-file read types them
        read_table(csv_path).to_parquet(parquet_path, index=False)
    return parquet_path


def _wider(seen: str | None, found: str) -> str:
    """The type of a column that has been ``seen`` in earlier chunks and is ``found`` in this one."""
    if seen is None or seen == found:
        return found
    if {seen, found} == {"Int64", "Float64"}:
        return "Float64"
    return "string"


class SpooledColumns:
    """Columns of numbers (and pickled blocks of anything) appended piece by piece to one file, each read
    back (whole, or piece by piece) when needed: what a streamed run must keep of every article (the
    duplicate index's keys and band hashes, the nation tally's numbers, where each article's rows lie in
    the spooled tables) costs disk, not memory, until the end of the run needs it.

    Without ``path`` the file is anonymous (gone when closed). With a ``path`` it is that file (written
    anew), and the object can be pickled to read it in another process on the same machine."""

    def __init__(self, path: str | Path | None = None):
        import tempfile

        self._path = None if path is None else Path(path)
        self._file = tempfile.TemporaryFile() if path is None else open(self._path, "w+b")
        self._blocks: dict[str, list[tuple[int, int]]] = {}  # per column, (offset, bytes) of each piece
        self._dtypes: dict[str, np.dtype] = {}
        self._end = 0

    def __getstate__(self):
        if self._path is None:
            raise TypeError("an anonymous SpooledColumns cannot be pickled (give it a path)")
        self._file.flush()
        return {key: value for key, value in self.__dict__.items() if key != "_file"}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._file = open(self._path, "rb")  # to read: the pieces are all written by then

    def _write(self, name: str, data: bytes) -> None:
        self._file.seek(self._end)
        self._file.write(data)
        self._blocks.setdefault(name, []).append((self._end, len(data)))
        self._end += len(data)

    def append(self, **columns: np.ndarray) -> None:
        """Add a piece to each named column (1-d arrays; a column keeps its first piece's dtype)."""
        for name, values in columns.items():
            dtype = self._dtypes.setdefault(name, np.asarray(values).dtype)
            self._write(name, np.ascontiguousarray(values, dtype=dtype).tobytes())

    def append_object(self, name: str, value) -> None:
        """Add a picklable piece to the blocks called ``name``."""
        import pickle

        self._write(name, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))

    def _read(self, name: str):
        for offset, size in self._blocks.get(name, []):
            self._file.seek(offset)
            yield self._file.read(size)

    def pieces(self, name: str, dtype=np.int64):
        """The column's pieces, one array at a time, in the order appended."""
        dtype = self._dtypes.get(name, np.dtype(dtype))
        return (np.frombuffer(data, dtype=dtype) for data in self._read(name))

    def column(self, name: str, dtype=np.int64) -> np.ndarray:
        """The column's pieces as one array (empty, of ``dtype``, if nothing was appended)."""
        parts = list(self.pieces(name, dtype))
        return np.concatenate(parts) if parts else np.empty(0, dtype=self._dtypes.get(name, np.dtype(dtype)))

    def objects(self, name: str):
        """The pieces appended with ``append_object(name, ...)``, in order."""
        import pickle

        return (pickle.loads(data) for data in self._read(name))

    def close(self) -> None:
        self._file.close()


def distinct_sorted(values: np.ndarray) -> np.ndarray:
    """The distinct values of a numeric array (spooled numbers read back: keys, pairs, rows), sorted:
    ``np.unique`` by sorting (numpy 2.4's ``unique`` hashes integers: 2 s for 2 million distinct ones,
    against 0.01 s to sort them)."""
    values = np.sort(values)
    if len(values) < 2:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]
