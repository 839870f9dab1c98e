"""What the docs quote exists, so a move or a rename cannot orphan them: every
command and its options, setting, environment variable and test id quoted in
README.md and docs/*.md (the clinical safety file's hazard log among them).

The clinical safety file's test ids are checked by tests/test_safety_file.py,
with the helpers defined here."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import pytest

from dashboard.cli import COMMANDS as PARSER_COMMANDS
from dashboard.config import SETTINGS
from dashboard.instruments import KEYS as INSTRUMENT_KEYS

ROOT = Path(__file__).resolve().parent.parent
# The service's shared documents copied into docs/ (tests/test_reference_copies.py) are
# not Caseboard's to check: their names are the reference's, not settings or commands.
COPIES = {"clinical-reference.md", "streamlit-notes.md"}
DOCS = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name not in COPIES)]
SAFETY_FILE = ROOT / "docs" / "clinical-safety.md"
DESIGN_FILE = ROOT / "docs" / "design.md"

# The `caseboard` subcommands, from the console script's own table.
COMMANDS = tuple(PARSER_COMMANDS)
# Where each command declares its options.
COMMAND_MODULES = {c.name: c.module.replace(".", "/") + ".py" for c in PARSER_COMMANDS.values()}
# The options every database command shares (--db, --state-db).
COMMON_OPTIONS_MODULE = "dashboard/cli/common.py"
# Options argparse adds by itself.
ARGPARSE_OPTIONS = {"--help"}

# Where an environment variable must be read or set for a doc to quote it.
CODE_DIRS = ("dashboard", "scripts", "tools", "deploy")

# docs/design.md records decisions not built yet; it alone may name what they will add.
PLANNED: set[str] = set()

# Backticked names that look like settings but are not (see looks_like_setting).
NOT_SETTINGS = {
    "waiting_days": "a field of `caseboard queue --format json`",
    # the keys of an instrument file (README, Instruments), each a real key of the reader
    **dict.fromkeys(INSTRUMENT_KEYS, "a key of an instrument file (dashboard/instruments.py)"),
}

TEST_ID = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")
TEST_FILE = re.compile(r"(?<![\w/])(tests/[\w/]+\.py)\b")
ENV_VAR = re.compile(r"\b(?:DASHBOARD|CASEBOARD)_[A-Z][A-Z0-9_]*\b")
COMMAND = re.compile(r"(?:^|[\s/(])(?:caseboard|python -m dashboard) ([a-z][\w-]*)(.*)")
OLD_COMMAND = re.compile(r"python -m dashboard\.\w+")
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
ACTION = re.compile(r"\s*([a-z][a-z_-]*)(?![\w./:=-])")
BACKTICKED_NAME = re.compile(r"`([a-z][a-z0-9]*(?:_[a-z0-9]+)+)`")
SETTING_LIKE = re.compile(
    r"_(?:days|hours|minutes|seconds|weeks|bytes|chars|min)$"
    r"|(?:^|_)(?:max|min|target)_"
)


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@cache
def text_of(path: Path) -> str:
    return path.read_text()


def code_spans(text: str) -> list[str]:
    """The text of every fenced code block line and inline code span, where
    commands are quoted (an inline span may wrap across lines)."""
    parts = text.split("```")
    spans: list[str] = []
    for i, part in enumerate(parts):
        if i % 2:
            spans.extend(part.splitlines()[1:])  # the first line is the fence's language
        else:
            spans.extend(" ".join(m.split()) for m in re.findall(r"`([^`]+)`", part))
    return spans


def quoted_commands(text: str) -> list[tuple[str, str]]:
    """(subcommand, the rest of its code span) for each `caseboard <sub> ...` or
    `python -m dashboard <sub> ...` quoted in code."""
    found = []
    for span in code_spans(text):
        for part in re.split(r"(?=(?:^|[\s/(])(?:caseboard|python -m dashboard) [a-z])", span):
            if m := COMMAND.search(part):
                found.append((m.group(1), m.group(2)))
    return found


def defined_functions(path: Path) -> set[str]:
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    return {n.name for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, functions)}


def missing_test_ids(text: str) -> list[str]:
    """Every `tests/x.py::test_name` in ``text`` whose file or function does not exist."""
    missing = []
    for path, name in TEST_ID.findall(text):
        file = ROOT / path
        if not file.is_file() or name not in defined_functions(file):
            missing.append(f"{path}::{name}")
    return missing


def looks_like_setting(name: str) -> bool:
    """A snake_case name with a unit (days, hours, ...) or a bound (max_, min_,
    target_) in it reads as a threshold, so a reader takes it for a setting."""
    return bool(SETTING_LIKE.search(name)) and not name.startswith("dash_")


@cache
def code_text() -> str:
    files = [
        p
        for d in CODE_DIRS
        if (ROOT / d).is_dir()
        for p in (ROOT / d).rglob("*")
        if p.is_file() and p.suffix in (".py", ".sh")
    ]
    return "\n".join(p.read_text() for p in files)


def planned(doc: Path, item: str) -> bool:
    return doc == DESIGN_FILE and item in PLANNED


def doc_id(doc: Path) -> str:
    return rel(doc)


def test_the_command_mapping_covers_every_command():
    assert set(COMMAND_MODULES) == set(COMMANDS)
    for module in (*COMMAND_MODULES.values(), COMMON_OPTIONS_MODULE):
        assert (ROOT / module).is_file(), module


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_every_quoted_command_and_option_exists(doc):
    text = text_of(doc)
    old = OLD_COMMAND.findall(text)
    assert not old, f"{rel(doc)} quotes the old form {old}: use caseboard <command>"
    # the options every command shares: --db/--state-db, and --lang read before the command's parser
    common = (ROOT / COMMON_OPTIONS_MODULE).read_text() + (ROOT / "dashboard/cli/__init__.py").read_text()
    for sub, rest in quoted_commands(text):
        if planned(doc, f"caseboard {sub}"):
            continue
        assert sub in COMMANDS, f"{rel(doc)} quotes `caseboard {sub}`, which is not a command"
        source = (ROOT / COMMAND_MODULES[sub]).read_text()
        # a positional choice, e.g. `caseboard db upgrade`
        if (action := ACTION.match(rest)) is not None:
            word = action.group(1)
            assert f'"{word}"' in source, f"{rel(doc)}: `caseboard {sub}` has no {word!r}"
        for option in set(OPTION.findall(rest)) - ARGPARSE_OPTIONS:
            assert f'"{option}"' in source or f'"{option}"' in common, (
                f"{rel(doc)}: `caseboard {sub}` has no option {option}"
            )


def test_the_docs_quote_every_command():
    quoted = {sub for doc in DOCS for sub, _ in quoted_commands(text_of(doc))}
    assert set(COMMANDS) <= quoted, f"no doc quotes {sorted(set(COMMANDS) - quoted)}"


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_every_quoted_setting_exists(doc):
    names = {s.name for s in SETTINGS}
    for name in set(BACKTICKED_NAME.findall(text_of(doc))):
        if looks_like_setting(name) and name not in NOT_SETTINGS:
            assert name in names, f"{rel(doc)} quotes `{name}`, which is not a setting"


def readme_settings_rows() -> dict[str, str]:
    """name -> default column of the README's Settings table."""
    section = text_of(ROOT / "README.md").split("### Settings\n", 1)[1].split("\n#", 1)[0]
    return dict(re.findall(r"^\| `(\w+)` \| ([^|]+?) \|", section, re.MULTILINE))


def shown_default(value) -> str:
    if value is None:
        return "unset"
    if isinstance(value, Mapping):  # a table setting: its entries, or "none"
        return "; ".join(f"{key} `{entry}`" for key, entry in value.items()) or "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f"`{value}`"
    return str(value)


def test_the_readme_settings_table_is_the_code_with_its_defaults():
    rows = readme_settings_rows()
    assert rows == {s.name: shown_default(s.default) for s in SETTINGS}


def test_the_readme_triage_reasons_table_is_the_flag_table_in_its_order():
    """README "Triage reasons" lists every key of ``FLAG_KINDS``, most urgent first, and no other."""
    from dashboard.flags import FLAG_KINDS

    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Triage reasons", 1)[1].split("\n\n", 2)[1]
    keys = re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)
    assert keys == list(FLAG_KINDS)


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_every_quoted_environment_variable_is_used_by_the_code(doc):
    for var in set(ENV_VAR.findall(text_of(doc))):
        if not planned(doc, var):
            where = ", ".join(CODE_DIRS)
            assert var in code_text(), f"{rel(doc)} quotes {var}, which nothing in {where} reads"


@pytest.mark.parametrize("doc", [d for d in DOCS if d != SAFETY_FILE], ids=doc_id)
def test_every_quoted_test_id_exists(doc):
    assert missing_test_ids(text_of(doc)) == [], f"{rel(doc)} names tests that do not exist"


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_every_quoted_test_file_exists(doc):
    for path in set(TEST_FILE.findall(text_of(doc))):
        assert (ROOT / path).is_file(), f"{rel(doc)} names {path}, which does not exist"


def test_the_design_cites_only_what_is_planned():
    """What PLANNED allows in docs/design.md is still not built: once it is, it
    leaves PLANNED and the ordinary checks cover it."""
    built = {item for item in PLANNED if item.split()[-1] in COMMANDS or item in code_text()}
    assert not built, f"built now, remove from PLANNED: {sorted(built)}"


def heading_anchors(path: Path) -> set[str]:
    """GitHub's anchors for a Markdown file's headings (fenced code left out)."""
    text = re.sub(r"```.*?```", "", text_of(path), flags=re.DOTALL)
    headings = re.findall(r"^#+ (.+)$", text, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_every_link_between_the_docs_resolves(doc):
    for target in re.findall(r"\]\(([^)\s]+)\)", text_of(doc)):
        if re.match(r"\w+:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (doc.parent / path).resolve() if path else doc
        assert dest.exists(), f"{rel(doc)} links to {target}, which does not exist"
        if anchor and dest.suffix == ".md":
            assert anchor in heading_anchors(dest), f"{rel(doc)} links to {target}: no such heading"
