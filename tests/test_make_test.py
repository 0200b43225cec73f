"""`make test` on a fresh machine: the browser tests' Chromium and fonts are installed by the
Makefile itself when it can (root with apt-get), and otherwise the run stops at once with one
line saying what to install, instead of erroring in every browser test.

apt-get and the user id are stand-ins here (a test must not install packages on the machine
that runs it); the Makefile, make and the shell are the real ones."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FAKE_APT = """#!/bin/sh
echo "$@" >> "{log}"
if [ "$1" = install ]; then printf '#!/bin/sh\\n' > "{chromium}"; chmod +x "{chromium}"; fi
"""


def make_browser_deps(tmp_path: Path, *, uid: int, apt: bool, **variables: str) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    if apt:
        (bin_dir / "apt-get").write_text(
            FAKE_APT.format(log=tmp_path / "apt.log", chromium=variables["CHROMIUM_PATH"])
        )
    for script in bin_dir.iterdir():
        script.chmod(0o755)
    # only what make and the recipe need: no real apt-get on this PATH
    tools = tmp_path / "tools"
    tools.mkdir(exist_ok=True)
    for tool in ("make", "sh", "bash", "echo", "printf", "chmod", "cat"):
        found = shutil.which(tool)
        if found and not (tools / tool).exists():
            (tools / tool).symlink_to(found)
    env = {"PATH": f"{bin_dir}:{tools}", "HOME": str(tmp_path)}
    args = [f"{name}={value}" for name, value in variables.items()]
    return subprocess.run(
        ["make", "-s", "--no-print-directory", "browser-deps", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )


def test_without_chromium_and_without_root_it_stops_with_one_line(tmp_path: Path) -> None:
    done = make_browser_deps(tmp_path, uid=1000, apt=False, CHROMIUM_PATH=str(tmp_path / "chromium"))
    assert done.returncode != 0
    first, *rest = done.stderr.strip().splitlines()
    assert first.startswith("make test: the browser tests need Chromium at")
    assert "apt-get install chromium fonts-dejavu-core" in first
    assert all(line.startswith("make:") for line in rest)  # only make's own "Error 1"


def test_as_root_with_apt_get_it_installs_chromium_and_fonts(tmp_path: Path) -> None:
    chromium = tmp_path / "chromium"
    done = make_browser_deps(tmp_path, uid=0, apt=True, CHROMIUM_PATH=str(chromium))
    assert done.returncode == 0, done.stderr
    assert "installing chromium fonts-dejavu-core" in done.stdout
    calls = (tmp_path / "apt.log").read_text().splitlines()
    assert calls == ["update -qq", "install -y -qq --no-install-recommends chromium fonts-dejavu-core"]
    assert os.access(chromium, os.X_OK)
    # a second run finds everything and does nothing
    again = make_browser_deps(tmp_path, uid=0, apt=True, CHROMIUM_PATH=str(chromium))
    assert again.returncode == 0 and len((tmp_path / "apt.log").read_text().splitlines()) == 2


@pytest.mark.parametrize("uid", [0, 1000])
def test_leaving_the_browser_tests_out_needs_no_chromium(tmp_path: Path, uid: int) -> None:
    done = make_browser_deps(
        tmp_path, uid=uid, apt=False, CHROMIUM_PATH=str(tmp_path / "none"), PYTEST_ARGS="--ignore=tests/browser -x"
    )
    assert done.returncode == 0, done.stderr


def test_ci_runs_the_readme_command() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    assert "exec make test" in script and "TEST_DATABASE_URL" in script and "apt-get" not in script
    assert "make test" in (ROOT / "README.md").read_text()


def make_tool_deps(tmp_path: Path, *, uid: int, apt: bool) -> subprocess.CompletedProcess[str]:
    """`make tool-deps` on a PATH without node, npm or postmap (only the shell tools make needs)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    if apt:
        (bin_dir / "apt-get").write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path / "apt.log"}"\n')
        (bin_dir / "debconf-set-selections").write_text("#!/bin/sh\ncat >/dev/null\n")
    for script in bin_dir.iterdir():
        script.chmod(0o755)
    tools = tmp_path / "tools"
    tools.mkdir(exist_ok=True)
    for tool in ("make", "sh", "bash", "echo", "cat"):
        found = shutil.which(tool)
        if found and not (tools / tool).exists():
            (tools / tool).symlink_to(found)
    env = {"PATH": f"{bin_dir}:{tools}", "HOME": str(tmp_path)}
    return subprocess.run(
        ["make", "-s", "--no-print-directory", "tool-deps"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )


def test_without_node_and_without_root_it_stops_with_one_line(tmp_path: Path) -> None:
    done = make_tool_deps(tmp_path, uid=1000, apt=False)
    assert done.returncode != 0
    first, *rest = done.stderr.strip().splitlines()
    assert first.startswith("make test: the suite needs nodejs npm")
    assert "apt-get install nodejs npm postfix" in first
    assert all(line.startswith("make:") for line in rest)


def test_as_root_with_apt_get_it_installs_node_and_npm(tmp_path: Path) -> None:
    done = make_tool_deps(tmp_path, uid=0, apt=True)
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "apt.log").read_text().splitlines()
    assert calls[0] == "update -qq"
    assert calls[1].startswith("install -y -qq --no-install-recommends nodejs npm")
