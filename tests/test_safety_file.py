"""The clinical safety file stays true: every test it names as verifying a
control exists, and every triage reason has a hazard entry."""

import ast
import re
from pathlib import Path

from dashboard.flags import FLAG_KINDS

ROOT = Path(__file__).resolve().parent.parent
SAFETY = (ROOT / "docs" / "clinical-safety.md").read_text()


def test_every_named_verifying_test_exists():
    named = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", SAFETY)
    assert len(named) >= 20
    for path, name in named:
        tree = ast.parse((ROOT / path).read_text())
        defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert name in defined, f"docs/clinical-safety.md names {path}::{name}, which does not exist"


def test_every_triage_reason_is_in_the_hazard_log():
    for key in FLAG_KINDS:
        assert f"`{key}`" in SAFETY, f"the hazard log does not cover the `{key}` flag"


def test_every_readme_screenshot_exists():
    readme = (ROOT / "README.md").read_text()
    shots = re.findall(r"!\[[^\]]*\]\((docs/screenshots/[\w-]+\.png)\)", readme)
    assert len(shots) >= 6
    for shot in shots:
        assert (ROOT / shot).is_file(), shot
