"""The one console script: every command is reachable as ``caseboard <command>``
and ``python -m dashboard <command>``, each names itself that way in its help,
and messages that tell an operator what to run use the same words."""

import subprocess
import sys

import pytest

from dashboard.cli import COMMANDS, main
from dashboard.commands import command
from dashboard.db import UPGRADE_COMMAND
from tests.browser import ROOT


def test_the_console_script_is_declared_for_the_cli():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'caseboard = "dashboard.cli:main"' in text


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_answers_help_under_its_own_name(name, capsys):
    with pytest.raises(SystemExit) as done:
        main([name, "--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: {command(name)}")


def test_an_unknown_command_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as done:
        main(["frobnicate"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice" in err and "queue" in err and "report" in err


def test_python_dash_m_dashboard_is_the_same_program():
    done = subprocess.run(
        [sys.executable, "-m", "dashboard", "db", "--help"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0 and done.stdout.startswith("usage: caseboard db")


def test_messages_name_commands_from_the_one_constant():
    assert UPGRADE_COMMAND == command("db", "upgrade") == "caseboard db upgrade"


def test_command_lines_live_only_in_the_cli_package():
    """The old ``python -m dashboard.queue`` forms are gone: no domain module parses
    a command line or has a ``__main__`` block (the entry point of the app, in ui/, runs main())."""
    for path in (ROOT / "dashboard").rglob("*.py"):
        if {"cli", "ui", "migrations"} & set(path.relative_to(ROOT / "dashboard").parts) or path.name == "__main__.py":
            continue
        source = path.read_text()
        assert "argparse" not in source and '__name__ == "__main__"' not in source, path
