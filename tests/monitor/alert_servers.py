"""Real servers on 127.0.0.1 that alert channels deliver to, started by the tests.

- :class:`HookServer`: an HTTP server that checks each webhook's HMAC-SHA256 signature against the
  secret it was given (a bad or missing one answers 401) and keeps what it received; it can be told
  to answer 500 for a while, like a receiver that is down.
- :class:`SlackServer`: answers like a Slack incoming webhook: ``ok`` for a body with a ``text``
  and well-formed ``blocks``, ``400 invalid_payload`` otherwise.
- :class:`MailServer`: aiosmtpd that requires STARTTLS (a self-signed certificate made here) and a
  login, and keeps the messages it received.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _State:
    received: list[Received] = field(default_factory=list)
    refused: list[Received] = field(default_factory=list)
    fail_with: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class _HttpServer:
    """A threaded HTTP server on a free loopback port; ``judge`` says how to answer a POST."""

    def __init__(self) -> None:
        self.state = _State()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                got = Received(self.path, dict(self.headers.items()), self.rfile.read(length))
                status, text = server.answer(got)
                with server.state.lock:
                    (server.state.received if status < 300 else server.state.refused).append(got)
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        # Polled every 50 ms rather than 0.5 s: shutdown() waits for the next poll.
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def answer(self, got: Received) -> tuple[int, str]:
        if self.state.fail_with is not None:
            return self.state.fail_with, "receiver is down"
        return self.judge(got)

    def judge(self, got: Received) -> tuple[int, str]:
        return 200, "ok"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def received(self) -> list[Received]:
        with self.state.lock:
            return list(self.state.received)

    @property
    def refused(self) -> list[Received]:
        with self.state.lock:
            return list(self.state.refused)

    def fail(self, status: int | None) -> None:
        """Answer every request with ``status`` (None: answer normally again)."""
        self.state.fail_with = status

    def __enter__(self) -> _HttpServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class HookServer(_HttpServer):
    """A webhook receiver that verifies ``X-Batchyard-Signature: sha256=HEX`` with ``secret``."""

    def __init__(self, secret: str, header: str = "X-Batchyard-Signature") -> None:
        super().__init__()
        self.secret = secret.encode()
        self.header = header

    def judge(self, got: Received) -> tuple[int, str]:
        given = {k.lower(): v for k, v in got.headers.items()}.get(self.header.lower(), "")
        expected = "sha256=" + hmac.new(self.secret, got.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(given, expected):
            return 401, "bad signature"
        if got.headers.get("Content-Type") != "application/json":
            return 415, "not json"
        return 200, "ok"


class SlackServer(_HttpServer):
    """Answers as Slack's incoming webhooks do."""

    def judge(self, got: Received) -> tuple[int, str]:
        try:
            body = got.json()
        except ValueError:
            return 400, "invalid_payload"
        blocks = body.get("blocks", [])
        if not isinstance(body.get("text"), str) or not body["text"]:
            return 400, "no_text"
        if not isinstance(blocks, list) or not all(
            isinstance(b, dict) and b.get("type") in {"section", "context", "header", "divider"}
            for b in blocks
        ):
            return 400, "invalid_blocks"
        return 200, "ok"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/services/T000/B000/XXXXSECRETTOKEN"


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key, written to ``folder``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: Message
    tls: bool
    login: str | None


class MailServer:
    """aiosmtpd on 127.0.0.1 requiring STARTTLS and a login (``user`` / ``password``)."""

    def __init__(self, folder: Path, *, user: str, password: str) -> None:
        self.cert, key = self_signed(folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, key)
        self.user, self.password = user, password
        self.messages: list[Mail] = []
        self.port = free_port()
        self.controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=context,
            require_starttls=True,
            auth_require_tls=True,
            auth_required=True,
            authenticator=self._authenticate,
        )

    def _authenticate(
        self, _server: SMTP, _session: Session, _envelope: Envelope, _mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.user
            and data.password.decode() == self.password
        )
        return AuthResult(success=ok)

    async def handle_DATA(self, _server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        self.messages.append(
            Mail(
                sender=str(envelope.mail_from),
                recipients=list(envelope.rcpt_tos),
                message=message_from_bytes(raw),
                tls=session.ssl is not None,
                login=self.user if session.authenticated else None,
            )
        )
        return "250 OK"

    def __enter__(self) -> MailServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
