"""The clinical reference and the stack notes are kept in docs/ so every citation
in the code resolves inside the repository. They are copies of the service's
shared documents: where the shared folder is beside the checkout (a developer's
machine, CI), the copies must be identical, so a change there is brought in."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.mark.parametrize("name", ["clinical-reference.md", "streamlit-notes.md"])
def test_the_copy_in_docs_is_the_shared_document(name):
    if not (SHARED / name).exists():
        pytest.skip(f"no shared folder beside the checkout ({SHARED}); nothing to compare with")
    assert (ROOT / "docs" / name).read_text() == (SHARED / name).read_text(), f"docs/{name} is out of date"
