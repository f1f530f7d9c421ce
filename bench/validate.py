"""A 16-rule suite on the statcast table: batchyard against Great Expectations 1.x and one
hand-written aggregate query, side by side in one run; then the same suite on Parquet (DuckDB).

    .venv/bin/python bench/validate.py                # generates the sports dataset first
    .venv/bin/python bench/validate.py sports.db      # made by: batchyard generate sports --scale 1
    .venv/bin/python bench/validate.py sports.db --rows 20000000   # + peak RSS at 20M rows

Each case runs in a fresh process, so its time is the whole process's (imports included) and its
peak RSS its own (the bench itself stays small: a child starts from its parent's peak). The suite: two not-null, a unique key, a date regex, allowed values, ten ranges
and a foreign key. Every side must find the same failing counts.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PY = sys.executable
PITCH_TYPES = ["FF", "SL", "CH", "CU", "SI", "FC", "KC", "FS"]
RANGES = {
    "inning": (1, 20),
    "pitch_number": (1, 30),
    "release_speed": (40, 110),
    "spin_rate": (0, 4000),
    "plate_x": (-5, 5),
    "plate_z": (-3, 8),
    "launch_speed": (0, 130),
    "launch_angle": (-90, 90),
    "is_strike": (0, 1),
    "batter_id": (1, 10_000_000),
}
DATE_RE = r"^\d{4}-\d{2}-\d{2}$"

RULES = "\n".join(
    [
        "suite: statcast-bench",
        "tables:",
        "  statcast:",
        "    - {rule: not_null, column: pitcher_id}",
        "    - {rule: not_null, column: batter_id}",
        "    - {rule: unique, column: pitch_id}",
        f"    - {{rule: regex, column: game_date, pattern: '{DATE_RE}'}}",
        f"    - {{rule: in, column: pitch_type, values: [{', '.join(PITCH_TYPES)}]}}",
        *(
            f"    - {{rule: between, column: {c}, min: {lo}, max: {hi}}}"
            for c, (lo, hi) in RANGES.items()
        ),
        "    - {rule: references, column: match_id, table: matches}",
        "",
    ]
)

HAND = f"""
SELECT count(*),
  sum(pitcher_id IS NULL), sum(batter_id IS NULL),
  count(*) - count(DISTINCT pitch_id),
  sum(game_date NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
  sum(pitch_type NOT IN ({", ".join(f"'{p}'" for p in PITCH_TYPES)})),
  {", ".join(f"sum({c} < {lo} OR {c} > {hi})" for c, (lo, hi) in RANGES.items())},
  sum(NOT EXISTS (SELECT 1 FROM matches m WHERE m.match_id = s.match_id))
FROM statcast s
"""

HAND_SCRIPT = """
import sqlite3, sys, time, json
t = time.perf_counter()
row = sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()
print(json.dumps({"seconds": time.perf_counter() - t, "counts": [int(v or 0) for v in row[1:]]}))
"""

GE_SCRIPT = """
import json, logging, os, sys, time
os.environ["GX_ANALYTICS_ENABLED"] = "False"
import great_expectations as gx
import great_expectations.expectations as gxe
db, spec = sys.argv[1], json.loads(sys.argv[2])
ctx = gx.get_context(mode="ephemeral")
asset = ctx.data_sources.add_sqlite("s", connection_string=f"sqlite:///{db}").add_table_asset(
    "statcast", table_name="statcast")
batch = asset.add_batch_definition_whole_table("all").get_batch()
suite = ctx.suites.add(gx.ExpectationSuite(name="statcast"))
for c in ("pitcher_id", "batter_id"):
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=c))
suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="pitch_id"))
suite.add_expectation(gxe.ExpectColumnValuesToMatchRegex(column="game_date", regex=spec["regex"]))
suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="pitch_type", value_set=spec["types"]))
for c, (lo, hi) in spec["ranges"].items():
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column=c, min_value=lo, max_value=hi))
suite.add_expectation(gxe.UnexpectedRowsExpectation(unexpected_rows_query=(
    "SELECT * FROM {batch} WHERE match_id NOT IN (SELECT match_id FROM matches)")))
t = time.perf_counter()
result = batch.validate(suite, result_format="SUMMARY")
seconds = time.perf_counter() - t
counts = []
for r in result.results:
    res = r.result or {}
    counts.append(int(res.get("unexpected_count") or res.get("observed_value") or 0))
print(json.dumps({"seconds": seconds, "counts": counts, "success": bool(result.success)}))
"""


def run(cmd: list[str], cwd: str | None = None) -> tuple[float, float, str]:
    """Like :func:`measure`, with the child's own peak RSS from wait4."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
        env={**os.environ, "PYTHONWARNINGS": "ignore", "TQDM_DISABLE": "1"},
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read().decode()
    err = proc.stderr.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(cmd[:4])} failed ({code}):\n{err[-3000:]}")
    return wall, usage.ru_maxrss / 1024, out


def ours(target: str, rules: Path, work: Path) -> dict[str, Any]:
    report = work / "report.json"
    wall, rss, _ = run(
        [PY, "-m", "batchyard", "-C", str(work), "validate", target, "--rules", str(rules),
         "-f", "json", "-o", str(report)],
    )  # fmt: skip
    data = json.loads(report.read_text())
    table = data["tables"][0]
    return {
        "wall": wall,
        "rss": rss,
        "seconds": table["seconds"],
        "rows": table["rows"],
        "counts": [r["failing"] for r in table["rules"]],
    }


def hand(db: str) -> dict[str, Any]:
    wall, rss, out = run([PY, "-c", HAND_SCRIPT, db, HAND])
    return {"wall": wall, "rss": rss, **json.loads(out)}


def ge(db: str) -> dict[str, Any]:
    spec = {"regex": DATE_RE, "types": PITCH_TYPES, "ranges": RANGES}
    wall, rss, out = run([PY, "-c", GE_SCRIPT, db, json.dumps(spec)])
    return {"wall": wall, "rss": rss, **json.loads(out.strip().splitlines()[-1])}


def to_parquet(db: str, out: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    conn = sqlite3.connect(db)
    cur = conn.execute("SELECT * FROM statcast")
    names = [d[0] for d in cur.description]
    writer = None
    while rows := cur.fetchmany(200_000):
        cols = list(zip(*rows, strict=True))
        table = pa.table({n: pa.array(c) for n, c in zip(names, cols, strict=True)})
        if writer is None:
            schema = table.schema
            writer = pq.ParquetWriter(out, schema)
        writer.write_table(table.cast(schema))
    assert writer is not None
    writer.close()
    m = conn.execute("SELECT * FROM matches")
    mnames = [d[0] for d in m.description]
    mcols = list(zip(*m.fetchall(), strict=True))
    pq.write_table(
        pa.table({n: pa.array(c) for n, c in zip(mnames, mcols, strict=True)}),
        out.parent / "matches.parquet",
    )
    conn.close()


def big_db(db: str, rows: int, folder: Path) -> str:
    """A database with ``rows`` statcast rows (and the matches they reference)."""
    path = folder / f"statcast-{rows}.db"
    if not path.exists():
        subprocess.run(
            [PY, "-m", "batchyard", "-C", str(folder), "generate", "sports", "--table",
             "statcast", "--rows", str(rows), "--to", str(path)],
            check=True, capture_output=True,
        )  # fmt: skip
    return str(path)


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest of repeated runs (wall and validation time each), and the largest peak RSS."""
    out = dict(runs[0])
    out["wall"] = min(r["wall"] for r in runs)
    out["seconds"] = min(r["seconds"] for r in runs)
    out["rss"] = max(r["rss"] for r in runs)
    return out


def line(name: str, r: dict[str, Any], rows: int) -> str:
    return (
        f"{name:<28} whole {r['wall']:6.2f} s   validation {r['seconds']:6.2f} s   "
        f"{rows / r['seconds'] / 1e6:6.2f}M rows/s   peak RSS {r['rss']:7.1f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "db",
        nargs="?",
        help="A sports database (default: made now with batchyard generate sports --scale 1).",
    )
    parser.add_argument(
        "--rows", type=int, default=0, help="Also measure peak RSS at this many rows."
    )
    parser.add_argument("--skip-ge", action="store_true", help="Leave Great Expectations out.")
    parser.add_argument("--repeat", type=int, default=1, help="Runs per side; the best counts.")
    parser.add_argument("--to-parquet", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.to_parquet:
        to_parquet(str(Path(args.db).resolve()), Path(args.to_parquet))
        return
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        work = Path(tmp)
        if args.db is None:
            args.db = str(work / "sports.db")
            subprocess.run(
                [PY, "-m", "batchyard", "-C", tmp, "generate", "sports", "--scale", "1",
                 "--to", args.db],
                check=True, capture_output=True,
            )  # fmt: skip
        db = str(Path(args.db).resolve())
        rules = work / "rules.yaml"
        rules.write_text(RULES)
        # The store is made once per project, by its first command; not part of a validation.
        subprocess.run(
            [PY, "-c", f"import batchyard as by; by.Batchyard(root={str(work)!r}).store"],
            check=True,
        )
        n = max(args.repeat, 1)
        ok = best([ours(db, rules, work) for _ in range(n)])
        rows = ok["rows"]
        hw = best([hand(db) for _ in range(n)])
        print(f"statcast: {rows:,} rows, 16 rules (SQLite)")
        print(line("batchyard validate", ok, rows))
        print(line("hand-written aggregate SQL", hw, rows))
        assert ok["counts"] == hw["counts"], (ok["counts"], hw["counts"])
        if not args.skip_ge:
            gx = best([ge(db) for _ in range(n)])
            print(line("Great Expectations 1.x", gx, rows))
            assert ok["counts"] == gx["counts"], (ok["counts"], gx["counts"])
            print(
                f"whole process: batchyard is {gx['wall'] / ok['wall']:.1f}x faster than GE (target >= 5x)"
            )
        print(
            f"validation: batchyard {ok['seconds']:.2f} s vs hand-written {hw['seconds']:.2f} s "
            f"(ratio {hw['seconds'] / ok['seconds']:.2f}; target >= 1)"
        )
        folder = work / "parquet"
        folder.mkdir()
        # In a process of its own: a child inherits its parent's peak RSS across exec.
        subprocess.run(
            [PY, __file__, db, "--to-parquet", str(folder / "statcast.parquet")], check=True
        )
        pq_result = best([ours(str(folder), rules, work) for _ in range(n)])
        print(line("batchyard on Parquet (DuckDB)", pq_result, rows))
        print(f"Parquet: {rows / pq_result['seconds'] / 1e6:.1f}M rows/s (target >= 10M rows/s)")
        assert pq_result["counts"] == ok["counts"]
        if args.rows:
            big = big_db(db, args.rows, Path(args.db).resolve().parent)
            large = ours(big, rules, work)
            print(line(f"batchyard, {large['rows']:,} rows", large, large["rows"]))
            print(
                f"peak RSS: {ok['rss']:.1f} MB at {rows:,} rows, {large['rss']:.1f} MB at "
                f"{large['rows']:,} rows ({100 * (large['rss'] / ok['rss'] - 1):+.1f}%; target within 20%)"
            )


if __name__ == "__main__":
    main()
