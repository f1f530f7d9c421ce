"""Where alerts go: a webhook (signed JSON), a Slack incoming webhook, or email over SMTP.

Channels are declared under ``[channels.NAME]`` in ``batchyard.toml`` (``config.ChannelSection``);
their secrets (an HMAC key, a Slack webhook URL, an SMTP password) are read from the environment
variables the config names, when a message is sent, and never written anywhere.

A channel sends one message per call and raises :class:`~batchyard.errors.DeliveryFailed` when the
other end does not take it; the alert book retries with backoff and records every attempt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import smtplib
import socket
import ssl
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, ClassVar
from urllib.parse import urlsplit

from batchyard.config import ChannelSection, email_address
from batchyard.errors import ConfigError, DeliveryFailed
from batchyard.secrets import mask_url, redact
from batchyard.store.alerts import Alert, NoticeEvent, Severity

USER_AGENT = "batchyard-alerts"


@dataclass(frozen=True)
class Message:
    """What a channel is asked to say: an event of an alert."""

    event: NoticeEvent
    alert: Alert
    notice_id: int
    sent_at: datetime

    @property
    def subject(self) -> str:
        severity = self.alert.severity.value.upper()
        return f"[{severity}] {self.event.value}: {self.alert.title}"

    @property
    def text(self) -> str:
        """The message in a few plain lines."""
        a = self.alert
        lines = [self.subject]
        if self.event is NoticeEvent.RESOLVED:
            by = "by " + a.resolved_by if a.resolved_by and a.resolved_by != "checks" else ""
            lines.append(
                f"Resolved {by or 'after passing checks'} at {_when(a.resolved_at)}; "
                f"open since {_when(a.opened_at)}, {a.failures} failing check(s)."
            )
        else:
            what = {"fail": "failed", "anomaly": "is anomalous", "warn": "warns"}.get(
                a.cause.value, a.cause.value
            )
            value = f" (value {a.value:g})" if a.value is not None else ""
            lines.append(f"{a.monitor} {a.metric} {what}{value}: {a.message}".rstrip(": "))
            lines.append(
                f"Open since {_when(a.opened_at)}; {a.failures} failing check(s), "
                f"last at {_when(a.last_seen_at)}."
            )
            if self.event is NoticeEvent.REMINDER:
                lines.append(
                    f"Reminder {a.reminders}: acknowledge it with `batchyard alerts ack {a.id}`."
                )
        lines.append(f"Alert {a.id} ({a.fingerprint[:12]}).")
        return "\n".join(lines)

    def payload(self) -> dict[str, Any]:
        """The JSON document a webhook receives."""
        return {
            "event": self.event.value,
            "notice_id": self.notice_id,
            "sent_at": self.sent_at.isoformat(),
            "text": self.text,
            "alert": self.alert.to_dict(),
        }


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"


class Channel(ABC):
    """A named place alerts go to, with its delivery policy (retries, backoff, timeout)."""

    kind: ClassVar[str]

    def __init__(self, name: str, config: ChannelSection) -> None:
        self.name = name
        self.config = config
        self.min_severity = Severity(config.min_severity)
        self.retries = config.retries
        self.backoff = config.backoff
        self.timeout = config.timeout

    def accepts(self, severity: Severity) -> bool:
        return severity.rank >= self.min_severity.rank

    @abstractmethod
    def send(self, message: Message) -> None:
        """Send ``message``, or raise :class:`DeliveryFailed`."""

    @abstractmethod
    def check(self) -> None:
        """Raise :class:`ConfigError` naming the setting when the channel cannot work now: a
        secret's environment variable not set, a server that cannot be reached."""

    def describe(self) -> dict[str, Any]:
        """The channel's settings as they may be shown: secrets are named, never given."""
        data = self.config.model_dump(
            exclude_none=True, exclude={"secret", "password", "token"}, exclude_defaults=False
        )
        fields = {"type", "min_severity", *type(self).shown}
        return {"name": self.name, **{k: v for k, v in data.items() if k in fields}}

    shown: ClassVar[tuple[str, ...]] = ()

    # -- helpers ---------------------------------------------------------------------------------

    def field(self, key: str) -> str:
        return f"channels.{self.name}.{key}"

    def env(self, key: str, *, error: type[Exception] = DeliveryFailed) -> str | None:
        """The value of the environment variable named by setting ``key`` (None when unset in
        the config); a named variable that is not set is an error naming both."""
        name = getattr(self.config, key)
        if name is None:
            return None
        value = os.environ.get(name)
        if not value:
            message = f"{self.field(key)}: environment variable {name} is not set"
            if error is DeliveryFailed:
                raise DeliveryFailed(message, retryable=False)
            raise error(message)
        return value

    def secrets(self) -> tuple[str, ...]:
        """The secret values this channel uses, to keep them out of recorded errors."""
        found = []
        for key in ("secret_env", "url_env", "password_env"):
            name = getattr(self.config, key, None)
            value = os.environ.get(name) if name else None
            if value and len(value) >= 4:
                found.append(value)
        return tuple(found)

    def clean(self, text: str) -> str:
        return redact(text, self.secrets())


def _reach(host: str, port: int, timeout: float, where: str) -> None:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        raise ConfigError(f"{where}: cannot reach {host}:{port}: {_reason(exc)}") from exc


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


class _HttpChannel(Channel):
    """A channel that POSTs JSON to a URL; retries network errors, 429 and 5xx."""

    def url(self, *, error: type[Exception] = DeliveryFailed) -> str:
        url = self.config.url or self.env("url_env", error=error)
        assert url is not None  # the config needs url or url_env
        return url

    def where(self, url: str) -> str:
        """The URL as an error may show it: no query, no credentials."""
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")

    def post(self, body: bytes, headers: Mapping[str, str]) -> None:
        import httpx  # (here, not at the top: every command that loads the kinds would pay for it)

        url = self.url()
        try:
            response = httpx.post(
                url,
                content=body,
                headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
                timeout=self.timeout,
                follow_redirects=False,
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(
                self.clean(f"{self.where(url)}: {type(exc).__name__}: {_reason(exc)}")
            ) from exc
        except ValueError as exc:  # a URL httpx cannot use
            raise DeliveryFailed(
                self.clean(f"{self.field('url')}: {exc}"), retryable=False
            ) from exc
        if response.status_code >= 300:
            snippet = " ".join(response.text.split())[:200]
            raise DeliveryFailed(
                self.clean(f"{self.where(url)} answered HTTP {response.status_code}: {snippet}"),
                retryable=response.status_code >= 500 or response.status_code == 429,
            )

    def check(self) -> None:
        key = "url" if self.config.url else "url_env"
        url = self.url(error=ConfigError)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{self.field(key)}: give an http:// or https:// URL")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        _reach(parts.hostname, port, self.timeout, self.field(key))


class WebhookChannel(_HttpChannel):
    """POSTs the alert as JSON; with ``secret_env``, signs the body with HMAC-SHA256 in the
    ``signature_header`` header as ``sha256=HEX``."""

    kind = "webhook"
    shown = ("url", "url_env", "secret_env", "signature_header", "retries", "backoff", "timeout")

    def send(self, message: Message) -> None:
        body = json.dumps(message.payload(), separators=(",", ":"), ensure_ascii=False).encode()
        headers = {
            "X-Batchyard-Event": message.event.value,
            "X-Batchyard-Delivery": str(message.notice_id),
        }
        secret = self.env("secret_env")
        if secret is not None:
            headers[self.config.signature_header] = "sha256=" + sign(secret, body)
        self.post(body, headers)

    def check(self) -> None:
        self.env("secret_env", error=ConfigError)
        super().check()

    def describe(self) -> dict[str, Any]:
        data = super().describe()
        if "url" in data:
            data["url"] = mask_url(data["url"])
        return data


def sign(secret: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``body`` under ``secret``: what a receiver computes to check it."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


SEVERITY_EMOJI = {
    Severity.INFO: ":information_source:",
    Severity.LOW: ":large_blue_circle:",
    Severity.MEDIUM: ":large_yellow_circle:",
    Severity.HIGH: ":large_orange_circle:",
    Severity.CRITICAL: ":red_circle:",
}


class SlackChannel(_HttpChannel):
    """Posts to a Slack incoming webhook (its URL, a secret, from ``url_env``): a ``text`` for
    notifications and ``blocks`` for the message itself."""

    kind = "slack"
    shown = ("url_env", "retries", "backoff", "timeout")

    def send(self, message: Message) -> None:
        self.post(json.dumps(slack_message(message)).encode(), {})


def slack_message(message: Message) -> dict[str, Any]:
    """The Slack incoming-webhook body of ``message``."""
    alert = message.alert
    mark = ":white_check_mark:" if message.event is NoticeEvent.RESOLVED else None
    head, *rest = message.text.splitlines()
    fields = [
        {"type": "mrkdwn", "text": f"*Severity*\n{alert.severity.value}"},
        {"type": "mrkdwn", "text": f"*Status*\n{alert.status.value}"},
        {"type": "mrkdwn", "text": f"*Monitor*\n{alert.monitor}"},
        {"type": "mrkdwn", "text": f"*Metric*\n{alert.metric}"},
    ]
    return {
        "text": message.subject,
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"{mark or SEVERITY_EMOJI[alert.severity]} *{_slack_escape(head)}*",
                },
            },
            {"type": "section", "fields": fields},
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": _slack_escape("\n".join(rest))}],
            },
        ],
    }


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class EmailChannel(Channel):
    """Sends a plain-text email through an SMTP server, over STARTTLS unless ``starttls`` is
    false; logs in with ``username`` and the password from ``password_env`` when given."""

    kind = "email"
    shown = ("host", "port", "starttls", "username", "password_env", "sender", "to", "ca_file")

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.config.ca_file)

    def _connect(self, *, error: type[Exception]) -> smtplib.SMTP:
        """A connection through STARTTLS and login; errors name the setting at fault."""
        cfg = self.config
        host = cfg.host or ""
        password = self.env("password_env", error=error) if cfg.username else None
        try:
            smtp = smtplib.SMTP(host, cfg.port, timeout=self.timeout)
        except (OSError, smtplib.SMTPException) as exc:
            raise self._error(
                error, "host", f"cannot reach SMTP server {host}:{cfg.port}: {_reason(exc)}", exc
            ) from exc
        try:
            smtp.ehlo()
            if cfg.starttls:
                try:
                    smtp.starttls(context=self.tls_context())
                except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
                    raise self._error(
                        error, "starttls", f"STARTTLS with {host}:{cfg.port} failed: {exc}", exc
                    ) from exc
                smtp.ehlo()
            if cfg.username:
                try:
                    smtp.login(cfg.username, password or "")
                except smtplib.SMTPException as exc:
                    raise self._error(
                        error,
                        "username",
                        f"{host}:{cfg.port} refused the login of {cfg.username}: {exc}",
                        exc,
                        retryable=False,
                    ) from exc
        except BaseException:
            _close(smtp)
            raise
        return smtp

    def _error(
        self,
        error: type[Exception],
        key: str,
        text: str,
        exc: BaseException,
        *,
        retryable: bool | None = None,
    ) -> Exception:
        message = self.clean(f"{self.field(key)}: {text}")
        if error is DeliveryFailed:
            if retryable is None:
                code = getattr(exc, "smtp_code", None)
                retryable = not (isinstance(code, int) and code >= 500)
            return DeliveryFailed(message, retryable=retryable)
        return error(message)

    def send(self, message: Message) -> None:
        cfg = self.config
        email = EmailMessage()
        email["From"] = cfg.sender or ""
        email["To"] = ", ".join(cfg.to)
        email["Subject"] = f"[batchyard] {message.subject}"
        email["Date"] = format_datetime(message.sent_at)
        email["Message-ID"] = make_msgid(domain=email_address(cfg.sender or "").split("@")[1])
        email["X-Batchyard-Event"] = message.event.value
        email["X-Batchyard-Alert"] = str(message.alert.id)
        email.set_content(message.text + "\n")
        smtp = self._connect(error=DeliveryFailed)
        try:
            smtp.send_message(email)
        except (OSError, smtplib.SMTPException) as exc:
            raise self._error(DeliveryFailed, "to", f"sending failed: {exc}", exc) from exc
        finally:
            _close(smtp)

    def check(self) -> None:
        _close(self._connect(error=ConfigError))


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


CHANNEL_TYPES: dict[str, type[Channel]] = {
    "webhook": WebhookChannel,
    "slack": SlackChannel,
    "email": EmailChannel,
}


def build_channels(configs: Mapping[str, ChannelSection]) -> dict[str, Channel]:
    """The channels of ``[channels]``, by name."""
    return {name: CHANNEL_TYPES[cfg.type](name, cfg) for name, cfg in configs.items()}
