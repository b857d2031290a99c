"""Write data/raw/PROVENANCE.csv: one row per raw file with outlet, date, url (if known) and sha256.

Run after adding files to data/raw/; hand-made fields (outlet/date/url/origin of files that carry none)
are kept from the existing PROVENANCE.csv, so re-running only refreshes checksums and adds new files.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"
COLUMNS = ["file", "outlet", "date", "url", "origin", "sha256"]


def main() -> None:
    path = RAW / "PROVENANCE.csv"
    known = {}
    if path.exists():
        with path.open(encoding="utf-8") as handle:
            known = {row["file"]: row for row in csv.DictReader(handle)}
    rows = []
    for file in sorted(p for p in RAW.rglob("*") if p.is_file() and p.name not in {"PROVENANCE.csv", "README.md"}):
        relative = file.relative_to(RAW).as_posix()
        row = dict(known.get(relative, {}), file=relative)
        if file.suffix == ".csv" and not row.get("outlet"):
            with file.open(encoding="utf-8") as handle:
                record = next(csv.DictReader(handle))
            row.update(outlet=record.get("source", ""), date=record.get("date", ""),
                       origin="github.com/sobcza11/NLP_HK_Security_Law data/news/ at commit 268a425f")
        row["sha256"] = hashlib.sha256(file.read_bytes()).hexdigest()
        rows.append({column: row.get(column, "") for column in COLUMNS})
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
