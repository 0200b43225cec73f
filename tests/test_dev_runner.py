"""What `make run` does, end to end: migrate, demo data, then web + scheduler + LMTP from
one command, serving the demo events; stopping it stops all three."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _flask(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def _wait_for(url: str, deadline: float) -> str:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - our own local server
                return resp.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _lmtp_answers(port: int) -> bool:
    try:
        with smtplib.LMTP("127.0.0.1", port, timeout=2) as lmtp:
            return lmtp.noop()[0] == 250
    except OSError:
        return False


def test_dev_command_serves_the_demo_and_stops_its_children(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "FORUM_"))}
    env.update(
        FORUM_ENV="development",  # what `make run` sets: production is the default
        FORUM_INSTANCE_PATH=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path}/forum.db",
    )
    _flask("db", "upgrade", env=env)
    assert "Sign in at /manage" in _flask("forum", "demo", "--if-empty", env=env).stdout
    assert "demo data not loaded" in _flask("forum", "demo", "--if-empty", env=env).stdout

    web, lmtp = _free_port(), _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "wsgi",
            "forum",
            "dev",
            "--port",
            str(web),
            "--lmtp-port",
            str(lmtp),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        home = _wait_for(f"http://127.0.0.1:{web}/", deadline)
        assert "Mentoring in Technical Services" in home and "Re-envisioning Technical Services" in home
        assert "Dev mailbox" in _wait_for(f"http://127.0.0.1:{web}/dev/mail/", deadline)
        while not _lmtp_answers(lmtp):
            assert time.monotonic() < deadline, "the LMTP server did not start"
            time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert not _lmtp_answers(lmtp), "the LMTP child outlived `forum dev`"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_a_second_copy_whose_lmtp_port_is_taken_stops_with_a_clear_message(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "FORUM_"))}
    env.update(
        FORUM_ENV="development",  # what `make run` sets: production (the default) wants a real key
        FORUM_INSTANCE_PATH=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path}/forum.db",
    )
    with socket.socket() as taken:  # what the first copy's LMTP server holds
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        lmtp = taken.getsockname()[1]
        web = _free_port()
        env.update(LMTP_PORT=str(lmtp), PORT=str(web))  # as `make run` passes them
        done = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "forum", "dev"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert f"127.0.0.1:{lmtp} (LMTP) is already in use" in done.stderr
    assert f"LMTP_PORT={lmtp + 1} make run" in done.stderr
    try:  # nothing was left serving web pages
        urllib.request.urlopen(f"http://127.0.0.1:{web}/", timeout=1)  # noqa: S310
    except OSError:
        pass
    else:
        raise AssertionError("the web server started although mail could not")
