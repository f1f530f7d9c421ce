from pathlib import Path

import batchyard as by
from conftest import count_rows

JOBS = """
import batchyard as by

@by.job("squares")
def squares(n: int):
    return range(n)

@squares.item
def run(i: int, ctx: by.Context):
    ctx.write("squares", {"i": i, "sq": i * i}, key="i")
    return i * i
"""


def test_run_writes_rows_once(project: Path, app: by.Batchyard, target_url: str) -> None:
    (project / "jobs.py").write_text(JOBS)
    job = app.run("squares", {"n": "50"})
    assert job.status is by.JobStatus.COMPLETED
    assert (job.done, job.rows_written) == (50, 50)
    assert count_rows(target_url, "squares") == 50
    again = app.retry(job.id, failed_only=False)
    app.execute(again.id)
    assert count_rows(target_url, "squares") == 50
