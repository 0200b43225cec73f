"""Production is the default, and it refuses settings that would silently lose mail or sign
sessions and links with a key anyone can read; development is an explicit choice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from forum.core import config

ROOT = Path(__file__).resolve().parent.parent
STRONG = "Vq3t-9xZrB2mL7_kP4wN8sD1fH6jC0yE"


def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FORUM_ENV", "SECRET_KEY", "MAIL_URL", "DATABASE_URL", "BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("key", ["", "dev-only-secret-change-me", "test-secret", "short-but-random-9f2", "a" * 40])
def test_production_refuses_a_missing_or_weak_secret_key(monkeypatch: pytest.MonkeyPatch, tmp_path, key: str) -> None:  # type: ignore[no-untyped-def]
    _clean_env(monkeypatch)
    monkeypatch.setenv("SECRET_KEY", key)
    monkeypatch.setenv("MAIL_URL", "smtp://relay.example.org:587")
    with pytest.raises(config.ConfigError, match="SECRET_KEY is missing or weak"):
        config.load(str(tmp_path))


def test_production_refuses_the_dev_mailbox(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _clean_env(monkeypatch)
    monkeypatch.setenv("SECRET_KEY", STRONG)
    with pytest.raises(config.ConfigError, match="MAIL_URL must name a real SMTP server"):
        config.load(str(tmp_path))
    monkeypatch.setenv("MAIL_URL", "smtp://relay.example.org:587")
    settings = config.load(str(tmp_path))
    assert settings["FORUM_ENV"] == "production"
    assert settings["SESSION_COOKIE_SECURE"] is True and settings["SECRET_KEY"] == STRONG


def test_development_is_explicit_and_works_with_no_setup(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _clean_env(monkeypatch)
    monkeypatch.setenv("FORUM_ENV", "development")
    settings = config.load(str(tmp_path))
    assert settings["MAIL_URL"] == "dev://"
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/forum.db"
    assert settings["LIST_DOMAIN"] == "forum.localhost"
    assert settings["SESSION_COOKIE_SECURE"] is False


def test_an_unknown_environment_name_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _clean_env(monkeypatch)
    monkeypatch.setenv("FORUM_ENV", "prod")
    with pytest.raises(config.ConfigError, match="FORUM_ENV must be production or development"):
        config.load(str(tmp_path))


def _start(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "FORUM_", "SECRET_", "MAIL_"))}
    return subprocess.run(
        [sys.executable, "-c", "import wsgi; print(wsgi.app.config['FORUM_ENV'], sorted(wsgi.app.blueprints))"],
        cwd=ROOT,
        env={**base, "FORUM_INSTANCE_PATH": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_wsgi_without_settings_refuses_to_start_with_one_line(tmp_path: Path) -> None:
    """`gunicorn wsgi:app` with nothing set used to run in development mode with a known key
    (a forged session cookie opened /manage) and a public /dev/mail."""
    started = _start({}, tmp_path)
    assert started.returncode == 1
    assert started.stderr.strip().splitlines() == [started.stderr.strip()]  # one line, no traceback
    assert started.stderr.startswith("forum: SECRET_KEY is missing or weak")

    weak = _start({"SECRET_KEY": "dev-only-secret-change-me", "MAIL_URL": "smtp://relay.example.org"}, tmp_path)
    assert weak.returncode == 1 and "SECRET_KEY is missing or weak" in weak.stderr

    strong = _start({"SECRET_KEY": STRONG, "MAIL_URL": "smtp://relay.example.org"}, tmp_path)
    assert strong.returncode == 0, strong.stderr
    assert strong.stdout.startswith("production") and "devmail" not in strong.stdout

    dev = _start({"FORUM_ENV": "development"}, tmp_path)
    assert dev.returncode == 0, dev.stderr
    assert dev.stdout.startswith("development") and "devmail" in dev.stdout


def test_the_dev_runner_refuses_production(tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "FORUM_", "SECRET_", "MAIL_"))}
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "forum", "dev", "--port", "1"],
        cwd=ROOT,
        env={**base, "FORUM_INSTANCE_PATH": str(tmp_path), "SECRET_KEY": STRONG, "MAIL_URL": "smtp://relay.example.org"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "forum dev is for development: run it with FORUM_ENV=development" in done.stderr
