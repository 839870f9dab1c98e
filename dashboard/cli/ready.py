"""``caseboard ready``: exit 0 only when this instance could serve clinicians now
(dashboard/ready.py says what is checked)."""

from __future__ import annotations

import argparse

from dashboard.commands import command
from dashboard.ready import problems


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog=command("ready"), description=__doc__).parse_args(argv)
    found = problems()
    print("\n".join(found) if found else "ready")
    return 1 if found else 0
