"""The clinical safety file stays true: every test it names as verifying a
control exists, and every triage reason has a hazard entry."""

import re
from pathlib import Path

from dashboard.flags import FLAG_KINDS
from tests.test_docs import TEST_ID, missing_test_ids

ROOT = Path(__file__).resolve().parent.parent
SAFETY = (ROOT / "docs" / "clinical-safety.md").read_text()


def test_every_named_verifying_test_exists():
    """The other docs' test ids are checked by tests/test_docs.py, with the same helper."""
    named = TEST_ID.findall(SAFETY)
    assert len(named) >= 20
    assert missing_test_ids(SAFETY) == [], "docs/clinical-safety.md names tests that do not exist"


def test_every_triage_reason_is_in_the_hazard_log():
    for key in FLAG_KINDS:
        assert f"`{key}`" in SAFETY, f"the hazard log does not cover the `{key}` flag"


def test_every_readme_screenshot_exists():
    readme = (ROOT / "README.md").read_text()
    shots = re.findall(r"!\[[^\]]*\]\((docs/screenshots/[\w-]+\.png)\)", readme)
    assert len(shots) >= 6
    for shot in shots:
        assert (ROOT / shot).is_file(), shot
