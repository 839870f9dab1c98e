"""The package's layers, checked by import-linter (.importlinter): the domain in
dashboard/ imports no Streamlit and neither dashboard.ui nor dashboard.cli; the
Streamlit layer and the command line are independent of each other; no modules
import each other in a cycle (imports inside functions included). A violation
fails here with import-linter's report naming the import chain."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contracts_are_kept():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    done = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_no_module_outside_ui_and_pages_imports_streamlit():
    """The same rule read from the source text, so a failure names the file."""
    for path in (ROOT / "dashboard").rglob("*.py"):
        if "ui" in path.relative_to(ROOT / "dashboard").parts:
            continue
        text = path.read_text()
        assert "import streamlit" not in text and "from streamlit" not in text, path
