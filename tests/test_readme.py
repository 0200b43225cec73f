"""The README's configuration table names every setting the app reads."""

from pathlib import Path

from forum.core.config import SETTINGS


def test_every_setting_is_documented() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    missing = [name for name in SETTINGS if f"| `{name}` |" not in readme]
    assert missing == []
    assert "make run" in readme and "make test" in readme
