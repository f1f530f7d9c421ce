"""Export and import against pandas and the sqlite3 command line, side by side in one run.

    .venv/bin/python bench/data.py               # makes sports.db (generate sports --scale 1)
    .venv/bin/python bench/data.py sports.db     # or uses this one

Each case runs in a fresh process (so its peak RSS is its own) on the 2,000,000-row statcast
table. The machine is shared: compare the ratios, which are measured side by side.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

TABLE = "statcast"


Work = Callable[[], None]


def ours_export(db: str, fmt: str, out: str) -> Work:
    from batchyard.files.export import export_table
    from batchyard.kinds.export import source_tables

    url = f"sqlite:///{db}"
    table = source_tables(url, [TABLE])[0]

    def work() -> None:
        export_table(url, table, Path(out), fmt)

    return work


def pandas_export(db: str, fmt: str, out: str) -> Work:
    import sqlite3

    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    def work() -> None:
        con = sqlite3.connect(db)
        chunks = pd.read_sql(f"SELECT * FROM {TABLE}", con, chunksize=100_000)
        if fmt == "parquet":
            writer = None
            for df in chunks:
                t = pa.Table.from_pandas(df, preserve_index=False)
                writer = writer or pq.ParquetWriter(out, t.schema)
                writer.write_table(t)
            assert writer is not None
            writer.close()
            return
        with open(out, "w") as f:
            for n, df in enumerate(chunks):
                if fmt == "csv":
                    df.to_csv(f, header=n == 0, index=False)
                else:
                    df.to_json(f, orient="records", lines=True)

    return work


def ours_import(csv: str, db: str) -> Work:
    from batchyard.files import load as ld
    from batchyard.files.resolve import resolve

    url = f"sqlite:///{db}"
    Path(db).unlink(missing_ok=True)

    def work() -> None:
        # Type inference over the whole file is part of the import.
        spec = resolve(Path(csv), url, TABLE)
        ld.load(spec, url, "bench", atomic=False)

    return work


def child(args: list[str]) -> None:
    """Set up (imports, reflection), then time the work alone; print seconds and peak RSS."""
    what, *rest = args
    work = {"ours": ours_export, "pandas": pandas_export, "import": ours_import}[what](*rest)
    start = time.perf_counter()
    work()
    took = time.perf_counter() - start
    print(f"{took:.4f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}")


def timed(args: list[str]) -> tuple[float, float, int]:
    """(work seconds, process seconds, peak RSS MB) of one case in a fresh process."""
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True
    )
    took, rss = out.stdout.split()[-2:]
    return float(took), time.perf_counter() - start, int(rss)


def best(args: list[str]) -> tuple[float, float, int]:
    """The faster of two runs (the machine is shared; both sides get the same treatment)."""
    return min(timed(args), timed(args))


def sqlite3_cli(db: str, out: Path) -> float | None:
    if not shutil.which("sqlite3"):
        return None
    took = []
    for _ in range(2):
        start = time.perf_counter()
        with out.open("w") as f:
            subprocess.run(
                ["sqlite3", "-csv", "-header", db, f"SELECT * FROM {TABLE}"], stdout=f, check=True
            )
        took.append(time.perf_counter() - start)
    return min(took)


def main(db: str) -> None:
    import sqlite3

    rows = sqlite3.connect(db).execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
    tmp = Path(tempfile.mkdtemp(prefix="batchyard-bench-"))
    try:
        print(f"{TABLE}: {rows:,} rows; best of 2 runs each; rows/s of the work itself (imports")
        print("and reflection done first), the whole process's seconds in brackets")
        checks: list[tuple[str, bool]] = []
        for fmt in ("parquet", "csv", "jsonl"):
            ours, process, rss = best(["ours", db, fmt, str(tmp / f"ours.{fmt}")])
            peer, peer_process, peer_rss = best(["pandas", db, fmt, str(tmp / f"pandas.{fmt}")])
            checks += [
                (f"export {fmt} >= 400K rows/s", rows / ours >= 400_000),
                (f"export {fmt} >= 3x pandas", peer / ours >= 3),
                (f"export {fmt} peak RSS <= 200 MB", rss <= 200),
            ]
            print(
                f"export {fmt:8} ours {rows / ours:>9,.0f} rows/s ({ours:.1f}s [{process:.1f}s], "
                f"{rss} MB)  pandas {rows / peer:>9,.0f} rows/s ({peer:.1f}s [{peer_process:.1f}s],"
                f" {peer_rss} MB)  ratio {peer / ours:.1f}x"
            )
            if fmt == "csv":
                cli = sqlite3_cli(db, tmp / "cli.csv")
                if cli is None:
                    print("the sqlite3 command line tool is not installed: comparison skipped")
                else:
                    print(
                        f"export csv: sqlite3 -csv {rows / cli:,.0f} rows/s ({cli:.1f}s); ours "
                        f"is {cli / ours:.2f}x its speed ({cli / process:.2f}x with start-up)"
                    )
                    checks.append(("export csv at least as fast as sqlite3 -csv", cli >= ours))
        took, process, rss = best(["import", str(tmp / "ours.csv"), str(tmp / "imported.db")])
        print(
            f"import csv into SQLite: {rows / took:,.0f} rows/s ({took:.1f}s [{process:.1f}s], "
            f"{rss} MB)"
        )
        checks += [
            ("import csv >= 300K rows/s", rows / took >= 300_000),
            ("import csv peak RSS <= 200 MB", rss <= 200),
        ]
        for name, ok in checks:
            print(f"{'ok  ' if ok else 'MISS'} {name}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def made_db() -> str:
    """sports.db beside this script, generated once (about 10 s)."""
    path = Path(__file__).with_name("sports.db")
    if not path.exists():
        command = ["generate", "sports", "--scale", "1", "--to", str(path)]
        subprocess.run(
            [sys.executable, "-m", "batchyard", *command],
            check=True,
            cwd=path.parent,
        )
    return str(path)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else made_db())
