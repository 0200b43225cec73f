"""The app as it runs in production, for tests: the real `wsgi:app` under gunicorn with
FORUM_ENV=production, reached through a small TLS-terminating reverse proxy that adds
X-Forwarded-For and X-Forwarded-Proto (what nginx or Caddy do in the README's recipe).

The certificate comes from a throw-away CA (trustme), made once per test process
(`tls_identity()`); its `spki` gives Chromium the key to trust
(``--ignore-certificate-errors-spki-list``), so the browser treats the site as properly secure
and applies its referrer rules exactly as it would on the real site, and one browser serves
every test.

The tests move time with `forum.core.clock.frozen`; the gunicorn worker is another process,
so it asks the test process for "now" (a Unix socket, tests/support/gunicorn_clock.py) and
the server and the test agree on the time as they do with the in-process live server.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import Flask

from forum.core import clock

ROOT = Path(__file__).resolve().parents[2]
HOP_BY_HOP = {b"connection", b"keep-alive", b"proxy-connection", b"te", b"upgrade", b"x-forwarded-proto"}


class _ProxyHandler(socketserver.StreamRequestHandler):
    """One request per client connection: read it, forward it with the X-Forwarded headers
    (closing the upstream connection after it), copy the answer back, close."""

    server: TLSProxy

    def handle(self) -> None:
        try:
            self.connection.do_handshake()  # type: ignore[attr-defined]
        except (ssl.SSLError, OSError):
            return
        request_line = self.rfile.readline(65536)
        if not request_line.strip():
            return  # a pre-connection the browser never used
        headers: list[bytes] = []
        length, forwarded_for = 0, b""
        while (line := self.rfile.readline(65536)) not in (b"\r\n", b"\n", b""):
            name, _, value = line.partition(b":")
            key = name.strip().lower()
            if key == b"content-length":
                length = int(value.strip())
            if key == b"x-forwarded-for":
                forwarded_for = value.strip() + b", "
                continue
            if key not in HOP_BY_HOP:
                headers.append(line.rstrip(b"\r\n"))
        body = self.rfile.read(length) if length else b""
        peer = self.client_address[0].encode()
        headers += [
            b"X-Forwarded-For: " + forwarded_for + peer,
            b"X-Forwarded-Proto: https",
            b"Connection: close",
        ]
        with socket.create_connection(self.server.upstream, timeout=30) as upstream:
            upstream.sendall(request_line + b"\r\n".join(headers) + b"\r\n\r\n" + body)
            try:
                while chunk := upstream.recv(65536):
                    self.wfile.write(chunk)
                self.wfile.flush()
            except (ssl.SSLEOFError, ConnectionError):
                return  # the browser went away mid-answer (a navigation cancelled it), as with nginx


class TLSProxy(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self, upstream: tuple[str, int], context: ssl.SSLContext) -> None:
        self.upstream = upstream
        self.context = context
        super().__init__(("127.0.0.1", 0), _ProxyHandler)

    def get_request(self) -> tuple[socket.socket, object]:
        sock, addr = super().get_request()
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr


@dataclass
class ProductionSite:
    base_url: str  # https://127.0.0.1:<port>
    secret_key: str
    spki: str  # for Chromium's --ignore-certificate-errors-spki-list
    log: Path


@dataclass(frozen=True)
class TLSIdentity:
    """The site's certificate: what the proxy serves, what a Python client trusts, and the
    key hash Chromium is told to trust."""

    server_context: ssl.SSLContext
    client_context: ssl.SSLContext
    spki: str


def tls_identity() -> TLSIdentity:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    return TLSIdentity(server_context, client_context, spki_hash(cert.cert_chain_pems[0].bytes()))


class _ClockHandler(socketserver.StreamRequestHandler):
    """One answer per connection: the test process's `clock.now()`, frozen or not."""

    def handle(self) -> None:
        self.wfile.write(clock.now().isoformat().encode())


class ClockServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def __init__(self, path: Path) -> None:
        super().__init__(str(path), _ClockHandler)


@contextmanager
def clock_server(path: Path) -> Iterator[Path]:
    server = ClockServer(path)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        path.unlink(missing_ok=True)


def spki_hash(cert_pem: bytes) -> str:
    """base64(sha256(SubjectPublicKeyInfo)): how Chromium names a key it should trust."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def database_url(app: Flask) -> str:
    """The test app's database as a DATABASE_URL another process can open (same schema)."""
    url = str(app.config["SQLALCHEMY_DATABASE_URI"])
    schema = app.config.get("FORUM_TEST_SCHEMA")
    if schema:
        url += ("&" if "?" in url else "?") + "options=" + quote(f"-csearch_path={schema}")
    return url


def _wait_until_up(url: str, context: ssl.SSLContext, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5, context=context):  # noqa: S310 - our own server
                return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {log.read_text()[-2000:]}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer: {log.read_text()[-2000:]}") from None
            time.sleep(0.3)


@contextmanager
def production_site(
    app: Flask, tmp_path: Path, mail_url: str, tls: TLSIdentity | None = None, **env: str
) -> Iterator[ProductionSite]:
    """gunicorn (4 threads) serving `wsgi:app` in production mode on the test app's database,
    behind the TLS proxy (with `tls`, or a certificate of its own); the test app is pointed
    at the same BASE_URL and SECRET_KEY so the links it makes (and the mail it sends with
    `send_due`) are the site's. The worker's clock is the test's (see the module's text)."""
    tls = tls or tls_identity()
    with ExitStack() as stack:
        # a short path: a Unix socket's name is limited to about 100 bytes
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="clock-"))
        path = stack.enter_context(clock_server(Path(folder) / "now"))
        yield stack.enter_context(_gunicorn(app, tmp_path, mail_url, tls, {**env, "FORUM_TEST_CLOCK": str(path)}))


@contextmanager
def _gunicorn(
    app: Flask, tmp_path: Path, mail_url: str, tls: TLSIdentity, env: dict[str, str]
) -> Iterator[ProductionSite]:
    upstream = socket.socket()
    upstream.bind(("127.0.0.1", 0))
    upstream.listen(64)
    proxy = TLSProxy(upstream.getsockname(), tls.server_context)
    base = f"https://127.0.0.1:{proxy.server_address[1]}"
    secret = secrets.token_hex(32)
    log = tmp_path / "gunicorn.log"
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "FORUM_"))}
    child_env.update(
        FORUM_ENV="production",
        FORUM_INSTANCE_PATH=str(tmp_path / "instance"),
        SECRET_KEY=secret,
        DATABASE_URL=database_url(app),
        MAIL_URL=mail_url,
        BASE_URL=base,
        LIST_DOMAIN=str(app.config["LIST_DOMAIN"]),
        PROXY_HOPS="1",
        **env,
    )
    fd = upstream.fileno()
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "4",
             "--config", "python:tests.support.gunicorn_clock",
             "--bind", f"fd://{fd}", "--access-logfile", "-", "wsgi:app"],
            cwd=ROOT, env=child_env, stdout=out, stderr=subprocess.STDOUT, pass_fds=(fd,),
            start_new_session=True,
        )
    upstream.close()
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    previous = {k: app.config[k] for k in ("BASE_URL", "SECRET_KEY", "MAIL_URL")}
    try:
        _wait_until_up(f"{base}/", tls.client_context, proc, log)
        app.config.update(BASE_URL=base, SECRET_KEY=secret, MAIL_URL=mail_url)
        app.extensions.pop("forum_url_adapter", None)  # web/urls.py caches the bound adapter
        yield ProductionSite(base, secret, tls.spki, log)
    finally:
        app.config.update(previous)
        app.extensions.pop("forum_url_adapter", None)
        # Killed, not stopped gracefully: the journey is over, each of its requests answered and
        # logged (gunicorn's log handler flushes every line), so a graceful stop had nothing left
        # to do but tear two interpreters down: 3.4 s per test on the loaded 2-core machine.
        # The session (start_new_session) is the master and its worker, nothing else.
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proxy.shutdown()
        proxy.server_close()
        thread.join(timeout=5)
