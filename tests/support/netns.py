"""Hosts for the multi-host test: Linux network namespaces on one bridge, a relay to the
machine's PostgreSQL, and a mail sink that records every delivery.

Each "host" is a network namespace (`ip netns`) with one veth pair whose outer end is on a
bridge of this run; the bridge holds the gateway address 10.213.N.1/24 in the root
namespace, the hosts 10.213.N.10, .11, ... Nothing is routed beyond the bridge: the
addresses exist only inside this machine and only while the test runs. Names carry a random
token and the pid of the run, so runs side by side never meet, and `Network.close()` (also on
failure) kills every process it started and removes the namespaces and the bridge.

PostgreSQL listens on 127.0.0.1 of the root namespace only (as CI gives it, unconfigured), so
a small TCP relay (`python -m tests.support.netns relay`) listens on the gateway address
and forwards each connection to it; a client that dies closes its relayed connection at
once, so the server drops that backend (and a dead scheduler's advisory lock) as it would
for a direct client.

The sink (`python -m tests.support.netns sink`) is aiosmtpd (PIPELINING, like Postfix) in a
host of its own. It answers each message after a delay, long (a slow relay) until it gets
SIGUSR1 and short afterwards, so that on a machine of any speed the test can kill senders in
the middle of a fan-out and then see the rest go quickly. It appends one line per delivered
recipient (time, sending host's address, Message-ID, recipient) to a file the test reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "fmh"  # every namespace and link this module makes starts with it


class NetnsUnavailable(RuntimeError):
    """Network namespaces cannot be created here (not root, no CAP_SYS_ADMIN/NET_ADMIN, no iproute2)."""


#: iproute2's command (root's PATH has sbin; a test runner's may not).
IP = shutil.which("ip", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [IP or "ip", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)  # noqa: S603


def _must(*args: str) -> str:
    done = _ip(*args)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip() or done.returncode}")
    return done.stdout


def _free_subnet() -> int:
    """A third octet N such that 10.213.N.0/24 is on no interface of this machine."""
    used = set(re.findall(r"inet 10\.213\.(\d+)\.", _ip("-4", "addr", "show").stdout))
    free = [n for n in range(256) if str(n) not in used]
    if not free:
        raise RuntimeError("every 10.213.N.0/24 subnet is in use")
    return secrets.choice(free)


def remove_stale() -> None:
    """Namespaces and bridges left by runs whose process is gone (a SIGKILLed pytest), and
    whatever still runs in those namespaces."""
    for line in _ip("netns", "list").stdout.splitlines():
        match = re.match(rf"({PREFIX}-([0-9a-f]{{6}})-(\d+)-\S+)", line)
        if match and not Path(f"/proc/{match.group(3)}").exists():
            for pid in _ip("netns", "pids", match.group(1)).stdout.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            _ip("netns", "delete", match.group(1))
            _ip("link", "delete", f"{PREFIX}{match.group(2)}")


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL it when the test process dies (prctl PR_SET_PDEATHSIG),
    so a killed test run leaves no relay, sink or host process behind. `ip netns exec` keeps it."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


@dataclass
class Host:
    """One namespace: its role in the test, the namespace's name, its address on the bridge."""

    role: str
    netns: str
    address: str

    def argv(self, command: Sequence[str]) -> list[str]:
        return [IP or "ip", "netns", "exec", self.netns, *command]


@dataclass
class Network:
    """A bridge with a gateway address and hosts on it; `close()` undoes everything."""

    token: str = field(default_factory=lambda: secrets.token_hex(3))
    subnet: int = -1
    hosts: dict[str, Host] = field(default_factory=dict)
    processes: list[subprocess.Popen[Any]] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    bridge_up: bool = False

    @property
    def bridge(self) -> str:
        return f"{PREFIX}{self.token}"

    @property
    def gateway(self) -> str:
        return f"10.213.{self.subnet}.1"

    def open(self, roles: Sequence[str]) -> Network:
        """The namespaces (NetnsUnavailable if even the first cannot be made), the bridge, the links."""
        if IP is None:
            raise NetnsUnavailable("iproute2's `ip` command is not installed")
        remove_stale()
        first = self._netns_name(roles[0])
        made = _ip("netns", "add", first)
        if made.returncode != 0:
            raise NetnsUnavailable(f"`ip netns add` failed: {made.stderr.strip()}")
        self.namespaces.append(first)
        try:
            self.subnet = _free_subnet()
            _must("link", "add", self.bridge, "type", "bridge")
            self.bridge_up = True
            _must("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
            _must("link", "set", self.bridge, "up")
            for number, role in enumerate(roles):
                netns = self._netns_name(role)
                if number:
                    _must("netns", "add", netns)
                    self.namespaces.append(netns)
                outer = f"{self.bridge}{number}"
                _must("link", "add", outer, "type", "veth", "peer", "name", "eth0", "netns", netns)
                _must("link", "set", outer, "master", self.bridge)
                _must("link", "set", outer, "up")
                address = f"10.213.{self.subnet}.{10 + number}"
                self.hosts[role] = Host(role, netns, address)
                for args in (
                    ("link", "set", "lo", "up"),
                    ("addr", "add", f"{address}/24", "dev", "eth0"),
                    ("link", "set", "eth0", "up"),
                ):
                    _must("-n", netns, *args)
        except BaseException:
            self.close()
            raise
        return self

    def _netns_name(self, role: str) -> str:
        return f"{PREFIX}-{self.token}-{os.getpid()}-{role}"

    def start(
        self, host: Host | None, command: Sequence[str], env: Mapping[str, str], log: Path
    ) -> subprocess.Popen[bytes]:
        """`command` in `host`'s namespace (None: the root namespace), output to `log`, in a
        session of its own so `kill` reaches its children too."""
        argv = host.argv(command) if host else list(command)
        with log.open("ab") as out:
            proc = subprocess.Popen(  # noqa: S603 - our own commands
                argv,
                cwd=ROOT,
                env=dict(env),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, no locks taken
            )
        self.processes.append(proc)
        return proc

    def close(self) -> None:
        for proc in self.processes:
            kill(proc)
        self.processes.clear()
        while self.namespaces:  # deleting one also deletes its veth pair
            _ip("netns", "delete", self.namespaces.pop())
        if self.bridge_up:
            _ip("link", "delete", self.bridge)
            self.bridge_up = False


def kill(proc: subprocess.Popen[Any], sig: int = signal.SIGKILL) -> None:
    """Signal the process's whole session (the shell of a loop and the command it runs)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
    if sig == signal.SIGKILL:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(15)


def wait_for_text(log: Path, needle: str, seconds: float, proc: subprocess.Popen[Any] | None = None) -> float:
    """Poll `log` until it contains `needle`; returns when (monotonic). Fails with the log's tail."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if needle in text:
            return time.monotonic()
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else "(no output)"
    raise AssertionError(f"{needle!r} not in {log.name} within {seconds} s:\n{tail}")


def wait_for_port(address: str, port: int, seconds: float, proc: subprocess.Popen[Any], log: Path) -> None:
    """Until something accepts TCP connections on (address, port)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection((address, port), timeout=1).close()
            return
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    raise AssertionError(f"nothing listens on {address}:{port}:\n{log.read_text(errors='replace')[-3000:]}")


def helper_command(*args: str) -> list[str]:
    """This module's own relay or sink, run by the test's interpreter."""
    return [sys.executable, "-m", "tests.support.netns", *args]


# --- the relay and the sink, each run as `python -m tests.support.netns ...` ------------------


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()  # one side gone: the other is closed too (a dead client's backend ends)


def _nodelay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:  # request/answer traffic: no Nagle delay on top of the server's
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def _relay(listen: str, port: int, target: str, target_port: int) -> None:
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection(target, target_port)
        except OSError:
            client_w.close()
            return
        _nodelay(client_w)
        _nodelay(up_w)
        await asyncio.gather(_pipe(client_r, up_w), _pipe(up_r, client_w))

    server = await asyncio.start_server(handle, listen, port, reuse_address=True)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


def _sink(listen: str, port: int, record: str, slow: float, fast: float) -> None:
    from email.parser import BytesHeaderParser  # noqa: PLC0415 - only the sink process needs these
    from email.policy import compat32  # noqa: PLC0415 - only the sink process needs these

    from aiosmtpd.controller import Controller  # noqa: PLC0415 - only the sink process needs these

    from tests.support.smtp import ScriptedHandler  # noqa: PLC0415 - only the sink process needs these

    fd = os.open(record, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    parser = BytesHeaderParser(policy=compat32)
    pace = {"delay": slow}
    signal.signal(signal.SIGUSR1, lambda *_: pace.update(delay=fast))

    class RecordingHandler(ScriptedHandler):
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            await asyncio.sleep(pace["delay"])
            message_id = (parser.parsebytes(envelope.original_content)["Message-ID"] or "-").strip()
            now = f"{time.time():.3f}"
            lines = "".join(f"{now}\t{session.peer[0]}\t{message_id}\t{rcpt}\n" for rcpt in envelope.rcpt_tos)
            os.write(fd, lines.encode())  # one write per message: whole lines, in order
            return "250 2.0.0 Accepted"

    controller = Controller(RecordingHandler(pipelining=True), hostname=listen, port=port)
    controller.start()
    print("ready", flush=True)
    while True:  # until killed; every line is already written
        time.sleep(3600)


def main(argv: list[str]) -> None:
    role, *rest = argv
    if role == "relay":  # LISTEN PORT TARGET TARGET_PORT
        asyncio.run(_relay(rest[0], int(rest[1]), rest[2], int(rest[3])))
    elif role == "sink":  # LISTEN PORT RECORD_FILE SLOW_SECONDS FAST_SECONDS
        _sink(rest[0], int(rest[1]), rest[2], float(rest[3]), float(rest[4]))
    else:
        raise SystemExit(f"unknown role {role!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
