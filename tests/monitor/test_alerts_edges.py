"""Alerts through the CLI (`batchyard alerts ...`) and the REST API (`/api/alerts`), in a project
whose `[channels]` point at real servers on 127.0.0.1; and bad channel config, refused by field."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alert_servers import HookServer, MailServer, SlackServer, free_port
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner, Result

from batchyard import Batchyard
from batchyard.cli import app as cli_app
from batchyard.db import ENGINES
from batchyard.monitor.alerts import Observation
from conftest import REPO

sys.path.insert(0, str(REPO / "tests" / "api"))
from apihelp import Client

SECRET = "hmac-secret-for-tests"
PASSWORD = "smtp-password-for-tests"
RUNNER = CliRunner()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[HookServer, SlackServer, MailServer]]:
    with (
        HookServer(SECRET) as hook,
        SlackServer() as slack,
        MailServer(tmp_path, user="alerts@example.com", password=PASSWORD) as mail,
    ):
        yield hook, slack, mail


def config(hook: HookServer, mail: MailServer, *, smtp_port: int | None = None) -> str:
    return f"""\
[store]
url = "sqlite:///.batchyard/store.db"

[alerts]
remind_every = "1h"
resolve_after = 2

[channels.hook]
type = "webhook"
url = "{hook.url}"
secret_env = "HOOK_SECRET"
retries = 1
backoff = 0.01

[channels.team]
type = "slack"
url_env = "SLACK_URL"
min_severity = "high"

[channels.oncall]
type = "email"
host = "127.0.0.1"
port = {smtp_port or mail.port}
ca_file = "{mail.cert}"
username = "alerts@example.com"
password_env = "SMTP_PASSWORD"
sender = "alerts@example.com"
to = ["oncall@example.com"]
"""


@pytest.fixture
def project(
    tmp_path: Path,
    servers: tuple[HookServer, SlackServer, MailServer],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Path]:
    hook, slack, mail = servers
    root = tmp_path / "project"
    root.mkdir()
    (root / "batchyard.toml").write_text(config(hook, mail))
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    monkeypatch.setenv("SLACK_URL", slack.url)
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    yield root
    ENGINES.dispose()


def observe(project: Path, *observations: Observation) -> list[int]:
    with Batchyard(root=project) as app:
        outcomes = app.alerts.observe_all(observations)
    return [o.alert.id for o in outcomes if o.alert is not None]


def failing(metric: str = "file_count", severity: str = "high", **more: Any) -> Observation:
    return Observation(
        "landing",
        metric,
        0,
        status="fail",
        severity=severity,  # type: ignore[arg-type]
        labels={"bucket": "raw"},
        message="no files landed",
        **more,
    )


def run(project: Path, *args: str, code: int = 0) -> Result:
    result = RUNNER.invoke(cli_app, ["-C", str(project), "alerts", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result


# -- the CLI -------------------------------------------------------------------------------------


def test_alerts_list_show_ack_silence_resolve(
    project: Path, servers: tuple[HookServer, SlackServer, MailServer]
) -> None:
    hook, slack, mail = servers
    first, second = observe(project, failing(), failing("bytes", "medium"))
    listed = json.loads(run(project, "list", "--json").stdout)
    assert listed["total"] == 2 and {a["id"] for a in listed["alerts"]} == {first, second}
    table = run(project, "list").stdout
    assert "landing/file_count {bucket=raw}" in table and "high" in table
    only_high = json.loads(run(project, "list", "--severity", "high", "--json").stdout)
    assert [a["id"] for a in only_high["alerts"]] == [first]
    # The medium alert went to the webhook and email only: Slack takes high and above.
    assert len(hook.received) == 2 and len(mail.messages) == 2 and len(slack.received) == 1

    shown = json.loads(run(project, "show", str(first), "--json").stdout)
    assert shown["status"] == "open" and shown["channels"] == ["hook", "oncall", "team"]
    assert {(d["channel"], d["status"]) for d in shown["deliveries"]} == {
        ("hook", "ok"),
        ("oncall", "ok"),
        ("team", "ok"),
    }
    text = run(project, "show", str(first)).stdout
    assert "deliveries" in text and "oncall" in text

    acked = json.loads(run(project, "ack", str(first), "--by", "ana", "--json").stdout)
    assert acked["status"] == "acknowledged" and acked["acknowledged_by"] == "ana"
    out = run(project, "silence", str(second), "--for", "2h").stdout
    assert f"alert {second} silenced until" in out
    past = run(project, "silence", str(second), "--until", "2000-01-01T00:00", code=2)
    assert "--until: until 2000-01-01T00:00:00+00:00: give a time in the future" in past.stderr
    both = run(project, "silence", str(second), code=2)
    assert "give one of --for" in both.stderr

    resolved = json.loads(run(project, "resolve", str(first), "--by", "ana", "--json").stdout)
    assert resolved["status"] == "resolved" and resolved["resolved_by"] == "ana"
    assert json.loads(hook.received[-1].body)["event"] == "resolved"
    again = run(project, "resolve", str(first), code=2)
    assert f"alert {first} is resolved" in again.stderr
    assert json.loads(run(project, "list", "--json").stdout)["total"] == 1
    assert json.loads(run(project, "list", "--status", "all", "--json").stdout)["total"] == 2


def test_alerts_show_lists_failed_deliveries(
    project: Path, servers: tuple[HookServer, SlackServer, MailServer]
) -> None:
    hook, _, _ = servers
    hook.fail(500)
    (alert_id,) = observe(project, failing())
    text = run(project, "show", str(alert_id)).stdout
    assert "not delivered yet: opened to hook after 2 attempt(s)" in text
    assert text.count("answered HTTP 500") >= 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "99"), "no alert 99"),
        (("ack", "99"), "no alert 99"),
        (("list", "--status", "closed"), "--status 'closed': use one of active, open"),
        (("list", "--severity", "urgent"), "--severity 'urgent': use one of info, low"),
        (("silence", "1", "--for", "soon"), "--for 'soon': write it like 30m"),
    ],
)
def test_alerts_bad_usage_exits_2(project: Path, args: tuple[str, ...], message: str) -> None:
    observe(project, failing())
    result = run(project, *args, code=2)
    assert message in result.stderr


def test_alerts_channels_lists_without_secrets_and_checks(
    project: Path, servers: tuple[HookServer, SlackServer, MailServer]
) -> None:
    listed = run(project, "channels", "--json").stdout
    assert SECRET not in listed and PASSWORD not in listed and "SECRETTOKEN" not in listed
    rows = {r["name"]: r for r in json.loads(listed)}
    assert rows["team"] == {
        "name": "team",
        "type": "slack",
        "min_severity": "high",
        "url_env": "SLACK_URL",
        "retries": 3,
        "backoff": 1.0,
        "timeout": 10.0,
    }
    checked = json.loads(run(project, "channels", "--check", "--json").stdout)
    assert {r["name"]: r["check"] for r in checked} == {"hook": "ok", "oncall": "ok", "team": "ok"}
    assert "ok" in run(project, "channels", "--check").stdout


@pytest.mark.slow
def test_alerts_channels_check_names_what_cannot_work(
    project: Path,
    servers: tuple[HookServer, SlackServer, MailServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hook, _, mail = servers
    (project / "batchyard.toml").write_text(config(hook, mail, smtp_port=free_port()))
    result = run(project, "channels", "--check", code=2)
    assert "error: channels.oncall.host: cannot reach SMTP server 127.0.0.1:" in result.stderr
    monkeypatch.delenv("HOOK_SECRET")
    result = run(project, "channels", "--check", code=2)
    assert "channels.hook.secret_env: environment variable HOOK_SECRET is not set" in (
        result.stdout + result.stderr
    )
    monkeypatch.setenv("SMTP_PASSWORD", "wrong")
    (project / "batchyard.toml").write_text(config(hook, mail))
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    result = run(project, "channels", "--check", code=2)
    assert "channels.oncall.username: 127.0.0.1:" in result.stderr
    assert "refused the login of alerts@example.com" in result.stderr
    assert "wrong" not in result.stderr


BAD_CHANNELS = [
    ('type = "pager"\nurl = "http://x"', 4, "channels.ops.type: Input should be 'webhook'"),
    (
        'type = "webhook"\nurl = "https://hooks.example.com/x"\nsecret = "s3cr3t"',
        6,
        "channels.ops.secret: a secret must not be written into the file: put it in an "
        'environment variable and give its name, secret_env = "NAME"',
    ),
    (
        'type = "slack"\nurl = "https://hooks.slack.com/services/T/B/X"',
        5,
        "channels.ops.url: a Slack webhook URL (it holds the token) must not be written",
    ),
    (
        'type = "webhook"\nurl = "https://user:pw@hooks.example.com/x"',
        5,
        "channels.ops.url: a password in a URL must not be written into the file",
    ),
    (
        'type = "webhook"\nurl = "https://hooks.example.com/x?api_key=k3y"',
        5,
        "channels.ops.url: a URL with a secret in its query must not be written into the file",
    ),
    (
        'type = "email"\nhost = "smtp.example.com"\nsender = "a@example.com"\nto = ["ops"]',
        7,
        "channels.ops.to: 'ops' is not an email address",
    ),
    (
        'type = "email"\nhost = "smtp.example.com"\nsender = "a@example.com"\n'
        'to = ["o@example.com"]\nusername = "u"\npassword_env = "P"\nstarttls = false',
        3,
        "channels.ops: username needs starttls = true",
    ),
    (
        'type = "webhook"\nurl = "https://x.example"\nsecret_env = "${HOOK}"',
        6,
        "channels.ops.secret_env: give the name of an environment variable",
    ),
    (
        'type = "email"\nhost = "smtp.example.com"',
        3,
        "channels.ops: an email channel needs sender",
    ),
]


@pytest.mark.parametrize(("body", "line", "message"), BAD_CHANNELS)
def test_bad_channel_config_is_refused_by_file_line_and_field(
    tmp_path: Path, body: str, line: int, message: str
) -> None:
    (tmp_path / "batchyard.toml").write_text(f'[project]\nname = "x"\n[channels.ops]\n{body}\n')
    result = run(tmp_path, "list", code=2)
    assert f"batchyard.toml:{line}: {message}" in result.stderr
    assert not (tmp_path / ".batchyard").exists()  # nothing written


def test_alerts_channels_must_name_channels(tmp_path: Path) -> None:
    (tmp_path / "batchyard.toml").write_text('[alerts]\nchannels = ["ops"]\n')
    result = run(tmp_path, "channels", code=2)
    assert "batchyard.toml:2: alerts.channels: no channel named 'ops' (none defined)" in (
        result.stderr
    )


# -- the REST API --------------------------------------------------------------------------------


@pytest.fixture
def client(project: Path) -> Iterator[Client]:
    from batchyard.api import ServeOptions, create_app

    app = create_app(root=project, options=ServeOptions(max_jobs=1))
    try:
        yield Client(app)
    finally:
        app.state.service.close()


def test_api_alerts(
    project: Path, client: Client, servers: tuple[HookServer, SlackServer, MailServer]
) -> None:
    hook, _, _ = servers
    first, second = observe(project, failing(), failing("bytes", "low"))
    page = client.get("/api/alerts").json()
    assert page["total"] == 2 and page["alerts"][0]["id"] == second
    assert client.get("/api/alerts", params={"severity": "high"}).json()["total"] == 1
    assert client.get("/api/alerts", params={"status": "resolved"}).json()["total"] == 0
    detail = client.get(f"/api/alerts/{first}").json()
    assert detail["title"] == "landing/file_count {bucket=raw}"
    assert {d["status"] for d in detail["deliveries"]} == {"ok"}

    acked = client.post(f"/api/alerts/{first}/acknowledge", json={"by": "ana", "note": "on it"})
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
    silenced = client.post(f"/api/alerts/{second}/silence", json={"for": "2h"})
    assert silenced.status_code == 200 and silenced.json()["silenced_until"]
    past = client.post(f"/api/alerts/{second}/silence", json={"until": "2000-01-01T00:00:00Z"})
    assert past.status_code == 422
    assert past.json()["errors"][0]["field"] == "body.until"
    assert "give a time in the future" in past.json()["detail"]
    neither = client.post(f"/api/alerts/{second}/silence", json={})
    assert neither.status_code == 422 and "give one of until" in neither.json()["detail"]
    bad_for = client.post(f"/api/alerts/{second}/silence", json={"for": "soon"})
    assert bad_for.status_code == 422 and bad_for.json()["errors"][0]["field"] == "body.for"

    resolved = client.post(f"/api/alerts/{first}/resolve")
    assert resolved.status_code == 200 and resolved.json()["resolved_by"] == "api"
    assert json.loads(hook.received[-1].body)["event"] == "resolved"
    assert client.post(f"/api/alerts/{first}/resolve").status_code == 409
    assert client.get("/api/alerts/999").status_code == 404
    bad = client.get("/api/alerts", params={"status": "closed"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].startswith("query.status")

    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    open_alerts = {s.labels["severity"]: s.value for s in families["batchyard_alerts_open"].samples}
    assert open_alerts == {"info": 0, "low": 1, "medium": 0, "high": 0, "critical": 0}


def test_api_channels(
    project: Path,
    client: Client,
    servers: tuple[HookServer, SlackServer, MailServer],
) -> None:
    listed = client.get("/api/alerts/channels")
    assert listed.status_code == 200
    assert SECRET not in listed.text and "SECRETTOKEN" not in listed.text
    assert [c["name"] for c in listed.json()] == ["hook", "oncall", "team"]
    assert client.post("/api/alerts/channels/oncall/check").json()["check"] == "ok"
    assert client.post("/api/alerts/channels/nope/check").status_code == 404


def test_api_channel_check_names_the_setting(
    tmp_path: Path, servers: tuple[HookServer, SlackServer, MailServer], project: Path
) -> None:
    hook, _, mail = servers
    (project / "batchyard.toml").write_text(config(hook, mail, smtp_port=free_port()))
    from batchyard.api import ServeOptions, create_app

    app = create_app(root=project, options=ServeOptions(max_jobs=1))
    try:
        answer = Client(app).post("/api/alerts/channels/oncall/check")
    finally:
        app.state.service.close()
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "channels.oncall.host"
    assert "cannot reach SMTP server" in answer.json()["detail"]
