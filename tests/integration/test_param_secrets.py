"""Secrets inside list params (a list of connection URLs, say) are kept out of the store like any
other: masked when stored, used in the process that was given them, refused with a clear message by
a process that was not, and read from the environment when given as ``${VAR}`` references.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

import batchyard as by
from batchyard.errors import ParamError


def with_password(url: str) -> str:
    # The test server trusts loopback connections, so any password gets in; what matters here is
    # where the password goes.
    return sa.make_url(url).set(password="hunter2-pw").render_as_string(hide_password=False)


def test_a_password_in_a_list_param_is_never_stored(
    tmp_path: Path, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    lite = tmp_path / "a.db"
    sa.create_engine(f"sqlite:///{lite}").connect().close()
    secret_url = with_password(pg_database)
    with by.Batchyard(root=tmp_path) as app:
        job = app.run("inspect", {"sources": [str(lite), secret_url]}, install_signals=False)
        assert job.status is by.JobStatus.COMPLETED, job.error
        stored = app.store.get_job(job.id).params["sources"]
        assert stored[0] == str(lite) and "hunter2-pw" not in stored[1] and "***" in stored[1]

        pending = app.submit("inspect", {"sources": [secret_url]})
    with by.Batchyard(root=tmp_path) as other, pytest.raises(ParamError, match=r"\$\{ENV_VAR\}"):
        other.execute(pending.id)

    monkeypatch.setenv("INSPECT_URL", secret_url)
    with by.Batchyard(root=tmp_path) as app:
        ref = app.submit("inspect", {"sources": [str(lite), "${INSPECT_URL}"]})
        assert app.store.get_job(ref.id).params["sources"] == [str(lite), "${INSPECT_URL}"]
    with by.Batchyard(root=tmp_path) as other:
        done = other.execute(ref.id, install_signals=False)
        assert done.status is by.JobStatus.COMPLETED, done.error
        items, _ = other.items(done.id)
        assert [i.result["backend"] for i in items] == ["sqlite", "postgresql"]
        assert all("hunter2-pw" not in e.message for e in other.log(done.id))
