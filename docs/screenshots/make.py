"""Regenerate the screenshots in this folder from the browser tests that take them.

    .venv/bin/python docs/screenshots/make.py

Runs the journeys in Chromium (Playwright) at 1280 and 390 px with FORUM_SCREENSHOTS set
to this folder, so each picture is what a test just checked, not a hand-made image:
a full series and an ended event (tests/browser/test_registration_states.py), the
officer's events table and the attendance credit with its certificate's verification page
(tests/browser/test_officer_tables_and_credit.py), and a certificate with a logo, the CE
provider and a signature line, drawn from its PDF (tests/test_certificate_look.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TESTS = [
    "tests/browser/test_registration_states.py",
    "tests/browser/test_officer_tables_and_credit.py",
    "tests/test_certificate_look.py",
]


def main() -> int:
    env = {**os.environ, "FORUM_SCREENSHOTS": str(HERE)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS]
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
