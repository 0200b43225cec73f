"""Production refuses settings that would silently lose mail or sign links with a known key."""

from __future__ import annotations

import pytest

from forum import config


def test_production_requires_a_secret_key(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FORUM_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("MAIL_URL", "smtp://relay.example.org:587")
    with pytest.raises(RuntimeError, match="SECRET_KEY must be set"):
        config.load(str(tmp_path))


def test_production_refuses_the_dev_mailbox(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FORUM_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s3cret-from-the-environment")
    monkeypatch.delenv("MAIL_URL", raising=False)
    with pytest.raises(RuntimeError, match="MAIL_URL must name a real SMTP server"):
        config.load(str(tmp_path))
    monkeypatch.setenv("MAIL_URL", "smtp://relay.example.org:587")
    settings = config.load(str(tmp_path))
    assert (
        settings["SESSION_COOKIE_SECURE"] is True and settings["SECRET_KEY"] == "s3cret-from-the-environment"
    )


def test_development_defaults_work_with_no_setup(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name in ("FORUM_ENV", "SECRET_KEY", "MAIL_URL", "DATABASE_URL", "BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = config.load(str(tmp_path))
    assert settings["MAIL_URL"] == "dev://"
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/forum.db"
    assert settings["LIST_DOMAIN"] == "forum.localhost"
