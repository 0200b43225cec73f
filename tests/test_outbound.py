"""The guarded outbound client (`forum.core.outbound`) against real local servers: what an
attack run fetched through the pathway link check (loopback in its many spellings, the
metadata address, redirects into loopback and ftp, a trickling server, an SMTP port) is
refused or recorded, each URL on its own, and nothing public tells one failure from another."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from forum.core import outbound
from forum.core.extensions import db
from forum.pathways import service as pathways
from forum.scheduling.scheduler import run_job
from tests.support.api import officer_token


class _Server:
    """A local HTTP server whose paths answer from a table; counts the requests it got."""

    def __init__(self, routes: dict[str, tuple[int, dict[str, str], bytes]]) -> None:
        self.routes = routes
        self.hits: list[str] = []
        self.bodies: list[tuple[str, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                outer.hits.append(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                outer.bodies.append((self.command, self.rfile.read(length) if length else b""))
                status, headers, body = outer.routes.get(self.path, (404, {}, b"nope"))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = do_POST = _answer  # noqa: N815 - http.server's naming

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        self.base = f"http://127.0.0.1:{self.port}"


@contextmanager
def http_server(routes: dict[str, tuple[int, dict[str, str], bytes]]) -> Iterator[_Server]:
    server = _Server(routes)
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()
        thread.join(timeout=5)


@contextmanager
def raw_server(talk: Callable[[socket.socket], None]) -> Iterator[int]:
    """A TCP server that runs `talk` on each connection (a trickler, an SMTP greeting)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=_talk_then_close, args=(talk, conn), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def _talk_then_close(talk: Callable[[socket.socket], None], conn: socket.socket) -> None:
    try:
        talk(conn)
    except OSError:
        pass
    finally:
        conn.close()


def _trickle(conn: socket.socket) -> None:
    conn.recv(4096)
    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok":
        conn.sendall(bytes([byte]))
        time.sleep(0.5)


def _smtp(conn: socket.socket) -> None:
    conn.sendall(b"220 mail.example ESMTP ready\r\n")
    conn.recv(4096)
    conn.sendall(b"500 5.5.2 Error: bad syntax\r\n")


def allow(*ports: int) -> outbound.Policy:
    return outbound.Policy(allow_loopback=frozenset(ports))


# --- the client ------------------------------------------------------------------------------


def test_loopback_private_link_local_and_metadata_are_refused_by_default() -> None:
    with http_server({"/x": (200, {}, b"secret")}) as server:
        port = server.port
        for url in (
            f"http://127.0.0.1:{port}/x",
            f"http://localhost:{port}/x",
            f"http://2130706433:{port}/x",  # 127.0.0.1 as one number
            f"http://0x7f.1:{port}/x",
            f"http://[::1]:{port}/x",
            f"http://[::ffff:127.0.0.1]:{port}/x",
            f"http://0.0.0.0:{port}/x",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.5/",
            "http://192.168.1.1/",
            "http://[fe80::1]/",
        ):
            result = outbound.fetch(url)
            assert (result.status, result.error) == (None, outbound.REFUSED), url
        assert server.hits == []  # refused before any connection, not after
        # allowed only where a setting says so, and only for that port
        assert outbound.fetch(f"{server.base}/x", policy=allow(port)).status == 200
        assert outbound.fetch(f"{server.base}/x", policy=allow(port + 1)).error == outbound.REFUSED


def test_redirects_are_checked_like_the_first_url() -> None:
    with http_server({"/secret": (200, {}, b"secret")}) as inside:
        routes = {
            "/to-loopback": (302, {"Location": f"{inside.base}/secret"}, b""),
            "/to-localhost": (301, {"Location": f"http://localhost:{inside.port}/secret"}, b""),
            "/to-metadata": (307, {"Location": "http://169.254.169.254/latest/"}, b""),
            "/to-ftp": (302, {"Location": "ftp://example.org/file"}, b""),
            "/to-file": (302, {"Location": "file:///etc/passwd"}, b""),
            "/loop": (302, {"Location": "/loop"}, b""),
            "/hop": (302, {"Location": "/fine"}, b""),
            "/fine": (200, {}, b"ok"),
        }
        with http_server(routes) as outside:
            policy = allow(outside.port)  # the "public" server; `inside` stays forbidden
            expect = {
                "/to-loopback": outbound.REFUSED,
                "/to-localhost": outbound.REFUSED,
                "/to-metadata": outbound.REFUSED,
                "/to-ftp": outbound.NOT_WEB,
                "/to-file": outbound.NOT_WEB,
                "/loop": outbound.TOO_MANY_REDIRECTS,
            }
            for path, error in expect.items():
                result = outbound.fetch(outside.base + path, policy=policy)
                assert (result.status, result.error) == (None, error), path
            fine = outbound.fetch(outside.base + "/hop", policy=policy, read_body=True)
            assert fine.ok and fine.status == 200 and fine.body == b"ok"
            assert fine.final_url == outside.base + "/fine"
            assert outside.hits.count("/loop") == outbound.MAX_REDIRECTS + 1
        assert inside.hits == []


def test_a_trickling_server_is_cut_off_at_the_deadline_for_the_whole_url() -> None:
    with raw_server(_trickle) as port:
        started = time.monotonic()
        result = outbound.fetch(f"http://127.0.0.1:{port}/", policy=allow(port), deadline_seconds=1.5)
        took = time.monotonic() - started
    assert (result.status, result.error) == (None, outbound.TIMED_OUT)
    assert took < 2.5  # one deadline, not one per byte (the answer alone takes 20 s)


def test_an_smtp_port_and_a_big_body_are_results_not_exceptions() -> None:
    with raw_server(_smtp) as port:
        result = outbound.fetch(f"http://127.0.0.1:{port}/", policy=allow(port))
    assert (result.status, result.error) == (None, outbound.BAD_ANSWER)
    with http_server({"/big": (200, {}, b"x" * 5000)}) as server:
        big = outbound.fetch(f"{server.base}/big", policy=allow(server.port), read_body=True, max_bytes=4000)
        small = outbound.fetch(f"{server.base}/big", policy=allow(server.port), read_body=True)
    assert (big.status, big.error) == (None, outbound.TOO_LARGE)
    assert small.ok and len(small.body) == 5000
    for url in ("ftp://example.org/", "javascript:alert(1)", "http://", "http://[::1", "http://x:99999/"):
        assert outbound.fetch(url).error in (outbound.NOT_WEB, outbound.REFUSED), url


def test_a_post_with_a_body_is_guarded_the_same_way() -> None:
    """Webhooks next: a POST carries its body, is refused for loopback by default, and need
    not follow a redirect (a 3xx is then the answer, so a redirect to 10.0.0.5 reaches nothing)."""
    routes = {"/hook": (202, {}, b"thanks"), "/moved": (307, {"Location": "http://10.0.0.5/"}, b"")}
    with http_server(routes) as server:
        assert outbound.fetch(f"{server.base}/hook", method="POST", body=b"{}").error == outbound.REFUSED
        sent = outbound.fetch(
            f"{server.base}/hook",
            method="POST",
            body=b'{"event": "x"}',
            headers={"Content-Type": "application/json"},
            policy=allow(server.port),
            read_body=True,
            follow_redirects=False,
        )
        moved = outbound.fetch(
            f"{server.base}/moved", method="POST", body=b"{}", policy=allow(server.port), follow_redirects=False
        )
        followed = outbound.fetch(f"{server.base}/moved", method="POST", body=b"{}", policy=allow(server.port))
    assert (sent.status, sent.body) == (202, b"thanks") and sent.ok
    assert server.bodies[0] == ("POST", b'{"event": "x"}')
    assert moved.status == 307 and followed.error == outbound.REFUSED


# --- the link check and what it shows ----------------------------------------------------------


@pytest.fixture
def resources(app):  # type: ignore[no-untyped-def]
    def make(*urls: str) -> list:  # type: ignore[type-arg]
        made = [
            pathways.save_external(None, title=f"R{i}", url=url, kind="document")
            for i, url in enumerate(urls)
        ]
        db.session.commit()
        return made

    return make


def test_link_check_records_every_url_and_reaches_no_loopback_by_default(app, client, resources) -> None:
    with http_server({"/x": (200, {}, b"ok")}) as server, raw_server(_smtp) as smtp_port:
        made = resources(
            f"{server.base}/x",
            f"http://localhost:{server.port}/x",
            "http://169.254.169.254/latest/meta-data/",
            f"http://127.0.0.1:{smtp_port}/",
        )
        run_job("link-check")
        assert server.hits == []
        db.session.expire_all()
        assert [(r.link_status, r.link_error) for r in made] == [(None, outbound.REFUSED)] * 4

        # tests that fetch say so: here the SMTP port is allowed too and is recorded, not raised
        app.config["OUTBOUND_ALLOW_LOOPBACK"] = (server.port, smtp_port)
        run_job("link-check")
        db.session.expire_all()
        assert [(r.link_status, r.link_error) for r in made] == [
            (200, ""),
            (200, ""),
            (None, outbound.REFUSED),
            (None, outbound.BAD_ANSWER),
        ]

    listed = {r["url"]: r for r in client.get("/api/v1/resources").get_json()}
    anonymous = [listed[r.url] for r in made]
    assert [r["link"] for r in anonymous] == ["ok", "ok", "broken", "broken"]
    assert all(r["link_status"] is None and "link_error" not in r for r in anonymous)
    as_officer = {r["url"]: r for r in client.get("/api/v1/resources", headers=officer_token()).get_json()}
    assert as_officer[made[0].url]["link_status"] == 200
