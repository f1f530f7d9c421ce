"""Alerts end to end: observations in, notices out to real servers on 127.0.0.1.

The webhook receiver checks each HMAC signature, the Slack-shaped one each body, and aiosmtpd
requires STARTTLS and a login. Time is a :class:`ManualClock`, so reminders fall due when the test
moves it; the store is a real SQLite file or a real PostgreSQL database.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alert_servers import HookServer, MailServer, SlackServer, free_port

from batchyard.config import ChannelSection
from batchyard.errors import Conflict, UsageError
from batchyard.monitor.alerts import (
    AlertBook,
    AlertPolicy,
    ManualClock,
    Observation,
    fingerprint,
)
from batchyard.monitor.channels import build_channels
from batchyard.store import Store

SECRET = "hmac-secret-for-tests"
PASSWORD = "smtp-password-for-tests"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store.open(store_url)
    yield s
    s.close()


@pytest.fixture
def hook() -> Iterator[HookServer]:
    with HookServer(SECRET) as server:
        yield server


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    with SlackServer() as server:
        yield server


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[MailServer]:
    with MailServer(tmp_path, user="alerts@example.com", password=PASSWORD) as server:
        yield server


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, slack: SlackServer) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    monkeypatch.setenv("SLACK_URL", slack.url)
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)


def channel_configs(
    hook: HookServer | None = None,
    mail: MailServer | None = None,
    *,
    slack: bool = False,
    **common: Any,
) -> dict[str, ChannelSection]:
    delivery = {"retries": 2, "backoff": 0.01, "timeout": 5, **common}
    out = {}
    if hook is not None:
        out["hook"] = ChannelSection(
            type="webhook", url=hook.url, secret_env="HOOK_SECRET", **delivery
        )
    if slack:
        out["team"] = ChannelSection(type="slack", url_env="SLACK_URL", **delivery)
    if mail is not None:
        out["oncall"] = ChannelSection(
            type="email",
            host="127.0.0.1",
            port=mail.port,
            ca_file=str(mail.cert),
            username="alerts@example.com",
            password_env="SMTP_PASSWORD",
            sender="Batchyard <alerts@example.com>",
            to=["oncall@example.com", "data@example.com"],
            **delivery,
        )
    return out


def book_for(
    store: Store, configs: dict[str, ChannelSection], clock: ManualClock, **policy: Any
) -> AlertBook:
    options = {"remind_every": timedelta(hours=1), "resolve_after": 3, **policy}
    return AlertBook(
        store,
        policy=AlertPolicy(**options),
        channels=build_channels(configs),
        clock=clock,
    )


def failing(**changes: Any) -> Observation:
    fields: dict[str, Any] = {
        "monitor": "landing",
        "metric": "file_count",
        "value": 0,
        "status": "fail",
        "severity": "high",
        "labels": {"bucket": "raw"},
        "message": "no files landed today",
    }
    return Observation(**{**fields, **changes})


def passing(**changes: Any) -> Observation:
    return failing(status="ok", value=120, message="", **changes)


def events(server: HookServer | SlackServer) -> list[str]:
    out = []
    for got in server.received:
        text = got.json()["text"]
        out.append(text.split("]", 1)[1].split(":", 1)[0].strip())
    return out


def test_100_failing_checks_give_one_alert_one_notice_then_reminders_and_one_resolution(
    store: Store, hook: HookServer, slack: SlackServer, mail: MailServer, env: None
) -> None:
    clock = ManualClock()
    book = book_for(store, channel_configs(hook, mail, slack=True), clock)
    actions = []
    for _ in range(100):
        actions.append(book.observe(failing()).action)
        clock.advance(seconds=30)  # 100 checks in 50 minutes: no reminder due yet
    assert actions[0] == "opened" and set(actions[1:]) == {"failing"}
    alerts, total = book.list(status=["all"])
    assert total == 1 and alerts[0].failures == 100 and alerts[0].status.value == "open"
    assert [len(hook.received), len(slack.received), len(mail.messages)] == [1, 1, 1]
    assert hook.refused == [] and slack.refused == []

    # Reminders at the interval: one an hour after the opening notice, not one per check.
    clock.advance(minutes=10)
    assert book.observe(failing()).action == "reminded"
    assert book.observe(failing()).action == "failing"
    clock.advance(minutes=59)
    assert book.observe(failing()).action == "failing"
    clock.advance(minutes=1)
    assert book.observe(failing()).action == "reminded"
    # ... and without any check, from the scheduler's tick.
    clock.advance(hours=1)
    book.tick()
    book.tick()
    assert [len(hook.received), len(slack.received), len(mail.messages)] == [4, 4, 4]

    # Passing checks resolve it after three in a row, and say so once.
    assert book.observe(passing()).action == "passing"
    assert book.observe(passing()).action == "passing"
    assert book.observe(passing()).action == "resolved"
    assert book.observe(passing()).action == "none"
    expected = ["opened", "reminder", "reminder", "reminder", "resolved"]
    assert events(hook) == expected and events(slack) == expected
    assert [m.message["X-Batchyard-Event"] for m in mail.messages] == expected
    assert hook.refused == [] and slack.refused == []  # every signature and body was right

    alert = book.get(alerts[0].id)
    assert alert.status.value == "resolved" and alert.resolved_by == "checks"
    assert alert.failures == 104 and alert.reminders == 3
    body = hook.received[-1]
    assert body.headers["X-Batchyard-Event"] == "resolved"
    payload = body.json()
    assert payload["alert"]["id"] == alert.id and payload["alert"]["labels"] == {"bucket": "raw"}
    assert payload["alert"]["fingerprint"] == fingerprint(
        "landing", "file_count", {"bucket": "raw"}
    )
    first = mail.messages[0]
    assert first.tls and first.login == "alerts@example.com"
    assert first.recipients == ["oncall@example.com", "data@example.com"]
    assert first.message["Subject"] == "[batchyard] [HIGH] opened: landing/file_count {bucket=raw}"
    assert "no files landed today" in first.message.get_payload()
    assert slack.received[0].json()["blocks"][0]["type"] == "section"

    # The next failing check opens a new alert, told once.
    assert book.observe(failing()).action == "opened"
    assert book.list()[0][0].id != alert.id
    assert len(hook.received) == 6 and events(hook)[-1] == "opened"


def test_one_alert_per_fingerprint(store: Store) -> None:
    book = book_for(store, {}, ManualClock())
    book.observe(failing(labels={"bucket": "raw", "day": "1"}))
    book.observe(failing(labels={"day": "1", "bucket": "raw"}))  # same labels, other order
    book.observe(failing(labels={"bucket": "clean", "day": "1"}))
    book.observe(failing(metric="bytes"))
    book.observe(failing(monitor="other"))
    alerts, total = book.list()
    assert total == 4
    assert sorted(a.failures for a in alerts) == [1, 1, 1, 2]


def test_concurrent_writers_open_one_alert(store: Store) -> None:
    books = [book_for(store, {}, ManualClock()) for _ in range(4)]
    errors: list[BaseException] = []

    def observe(book: AlertBook) -> None:
        try:
            for _ in range(25):
                book.observe(failing(status="anomaly"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=observe, args=(b,)) for b in books]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    alerts, total = books[0].list(status=["all"])
    assert total == 1 and alerts[0].failures == 100 and alerts[0].cause.value == "anomaly"


def test_a_failing_channel_is_recorded_retried_and_delivered_later(
    store: Store, hook: HookServer, env: None
) -> None:
    clock = ManualClock()
    waits: list[float] = []
    book = AlertBook(
        store,
        policy=AlertPolicy(remind_every=timedelta(hours=1)),
        channels=build_channels(channel_configs(hook, backoff=0.5)),
        clock=clock,
        sleep=waits.append,
    )
    hook.fail(500)
    alert = book.observe(failing()).alert
    assert alert is not None
    shown = book.show(alert.id)
    assert [d["attempt"] for d in shown["deliveries"]] == [1, 2, 3]
    assert {d["status"] for d in shown["deliveries"]} == {"failed"}
    assert "answered HTTP 500" in shown["deliveries"][0]["error"]
    assert waits == [0.5, 1.0]  # backoff doubles between the retries of one round
    assert shown["notices"][0]["status"] == "pending" and shown["status"] == "open"
    assert len(hook.refused) == 3 and hook.received == []

    clock.advance(minutes=5)
    book.observe(failing())  # the next check sends it again
    assert [d["attempt"] for d in book.show(alert.id)["deliveries"]][-3:] == [4, 5, 6]
    hook.fail(None)
    book.observe(failing())
    book.observe(failing())
    assert events(hook) == ["opened"]
    shown = book.show(alert.id)
    assert shown["deliveries"][-1] == {**shown["deliveries"][-1], "attempt": 7, "status": "ok"}
    assert shown["notices"][0]["status"] == "sent"


def test_a_refused_port_keeps_the_alert_and_a_fixed_channel_gets_it(
    store: Store, hook: HookServer, env: None
) -> None:
    clock = ManualClock()
    down = ChannelSection(
        type="webhook",
        url=f"http://127.0.0.1:{free_port()}/hook",
        secret_env="HOOK_SECRET",
        retries=1,
        backoff=0.01,
    )
    book = book_for(store, {"hook": down}, clock)
    alert = book.observe(failing()).alert
    assert alert is not None
    clock.advance(hours=1)
    assert book.observe(failing()).action == "reminded"
    shown = book.show(alert.id)
    assert len(shown["deliveries"]) == 4
    assert all("ConnectError" in d["error"] for d in shown["deliveries"])
    # The reminder replaced the opening notice that never went: one pending per channel.
    assert [(n["event"], n["status"]) for n in shown["notices"]] == [
        ("opened", "superseded"),
        ("reminder", "pending"),
    ]
    fixed = book_for(store, channel_configs(hook), clock)  # the config put right
    fixed.tick()
    assert events(hook) == ["reminder"]
    assert fixed.get(alert.id).status.value == "open"


def test_a_missing_secret_is_recorded_by_name_and_never_a_secret_in_errors(
    store: Store, hook: HookServer, slack: SlackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_URL", slack.url)
    slack.fail(503)
    book = book_for(store, channel_configs(hook, slack=True), ManualClock())
    alert = book.observe(failing()).alert
    assert alert is not None
    deliveries = book.show(alert.id)["deliveries"]
    hook_errors = [d["error"] for d in deliveries if d["channel"] == "hook"]
    # Not worth retrying at once: one attempt per round, named by setting and variable.
    assert hook_errors == ["channels.hook.secret_env: environment variable HOOK_SECRET is not set"]
    slack_errors = [d["error"] for d in deliveries if d["channel"] == "team"]
    assert len(slack_errors) == 3 and "HTTP 503" in slack_errors[0]
    assert not any("SECRETTOKEN" in e or "/services/" in e for e in slack_errors)


def test_acknowledged_alerts_stop_reminding_and_still_resolve_aloud(
    store: Store, hook: HookServer, env: None
) -> None:
    clock = ManualClock()
    book = book_for(store, channel_configs(hook), clock)
    alert = book.observe(failing()).alert
    assert alert is not None
    acked = book.acknowledge(alert.id, by="ana", note="scraper restarted")
    assert acked.status.value == "acknowledged" and acked.acknowledged_by == "ana"
    for _ in range(5):
        clock.advance(hours=1)
        assert book.observe(failing()).action == "failing"
        book.tick()
    for _ in range(3):
        book.observe(passing())
    assert events(hook) == ["opened", "resolved"]
    with pytest.raises(Conflict, match="is resolved"):
        book.acknowledge(alert.id)


def test_silence_holds_reminders_until_its_time(store: Store, hook: HookServer, env: None) -> None:
    clock = ManualClock()
    book = book_for(store, channel_configs(hook), clock)
    alert = book.observe(failing()).alert
    assert alert is not None
    with pytest.raises(UsageError, match="in the future"):
        book.silence(alert.id, until=clock.now - timedelta(minutes=1))
    book.silence(alert.id, until=clock.now + timedelta(hours=2, minutes=30), by="ana")
    for _ in range(2):
        clock.advance(hours=1)
        book.observe(failing())
        book.tick()
    assert events(hook) == ["opened"]
    clock.advance(minutes=30)  # the silence is over: the reminder due since 1 h goes now
    book.tick()
    assert events(hook) == ["opened", "reminder"]


def test_resolve_by_hand_tells_the_channels_once(store: Store, hook: HookServer, env: None) -> None:
    book = book_for(store, channel_configs(hook), ManualClock())
    alert = book.observe(failing()).alert
    assert alert is not None
    resolved = book.resolve(alert.id, by="ana")
    assert resolved.resolved_by == "ana" and resolved.status.value == "resolved"
    with pytest.raises(Conflict):
        book.resolve(alert.id)
    assert events(hook) == ["opened", "resolved"]
    assert "Resolved by ana" in hook.received[-1].json()["text"]


def test_a_warning_breaks_the_run_of_passing_checks(store: Store) -> None:
    book = book_for(store, {}, ManualClock())
    book.observe(failing())
    actions = [
        book.observe(o).action
        for o in (passing(), passing(), failing(status="warn"), passing(), passing(), passing())
    ]
    assert actions == ["passing", "passing", "failing", "passing", "passing", "resolved"]
    # A warning opens nothing unless the policy says so.
    assert book.observe(failing(status="warn")).action == "none"
    warn_book = book_for(store, {}, ManualClock(), open_on=frozenset({"fail", "warn"}))
    assert warn_book.observe(failing(status="warn")).action == "opened"
    assert warn_book.observe(failing(status="anomaly", metric="other")).action == "none"


def test_channels_take_only_the_severities_they_ask_for(
    store: Store, hook: HookServer, env: None
) -> None:
    book = book_for(store, channel_configs(hook, min_severity="high"), ManualClock())
    book.observe(failing(severity="medium", metric="a"))
    book.observe(failing(severity="critical", metric="b"))
    assert [r.json()["alert"]["metric"] for r in hook.received] == ["b"]


def test_an_alert_escalates_to_the_worst_severity_seen(store: Store) -> None:
    book = book_for(store, {}, ManualClock())
    book.observe(failing(severity="low"))
    book.observe(failing(severity="critical"))
    book.observe(failing(severity="medium"))
    assert book.list()[0][0].severity.value == "critical"
    assert book.open_by_severity() == {
        "info": 0,
        "low": 0,
        "medium": 0,
        "high": 0,
        "critical": 1,
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"status": "broken"}, "observation status 'broken': use one of ok, warn, fail, anomaly"),
        ({"severity": "urgent"}, "observation severity 'urgent'"),
        ({"monitor": ""}, "observation monitor: give a non-empty name"),
    ],
)
def test_a_bad_observation_is_refused_by_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        failing(**changes)
