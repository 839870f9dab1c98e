"""How every message names a command: Caseboard has one console script,
``caseboard``, with subcommands (dashboard/cli). A message that tells an operator
what to run ("run `caseboard db upgrade`") builds the words here, so a rename
cannot leave a stale instruction behind."""

from __future__ import annotations

SCRIPT = "caseboard"


def command(*words: str) -> str:
    """``command("db", "upgrade")`` -> ``"caseboard db upgrade"``."""
    return " ".join((SCRIPT, *words))
