"""Untrusted text: shown through Markdown safely, and refused before any query
when it carries control characters.

Almost every Streamlit text element (titles, markdown, captions, alerts,
toasts, expander and widget labels, metric labels, ``help=`` tooltips, badges)
renders its text as Markdown with Streamlit's extensions. Platform text
(patient codes and names, programme, team and clinician names, module titles)
and clinicians' own text (GP notes, acknowledgement notes) must therefore pass
through :func:`md` wherever it is interpolated into such an element; otherwise
a name can show an external image (a tracking beacon), a link to any site
("Session expired — log in again") or official-looking formatted text
(``:green[risk reviewed: no risk]``). Table cells (``st.dataframe``), select-box
options and chart tooltips are plain text and take the raw value.

No Streamlit import: the rules are plain functions, tested on their own.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from dashboard.i18n import gettext as _

WORD_JOINER = "\u2060"  # invisible, no line break: splits a pattern without changing what is read
REPLACEMENT = "\ufffd"

# Characters with a Markdown meaning anywhere in a line, backslash-escaped:
# emphasis and strikethrough (* _ ~), code (`), links and images ([ ]), raw HTML
# and autolinks (<), entities (&, e.g. "&#58;" for a colon), tables (|),
# LaTeX ($), and the backslash itself.
_ESCAPE_ANYWHERE = re.compile(r"([\\`*_\[\]<&|~$])")
# Only meaningful at the start of a line: headings, block quotes, list items,
# thematic breaks and setext underlines.
_LINE_START = re.compile(r"^([#>+=-])")
_ORDERED_ITEM = re.compile(r"^(\d+)([.)])")
# Streamlit replaces these inside already-parsed text, where a backslash no
# longer counts: colour and badge directives and icons (":green[", ":material/x:"),
# emoji shortcodes (":smile:"), and GitHub's bare links (http://, www., a@b.org).
# A word joiner after the colon, after "www" and after "@" breaks each pattern.
_COLON = re.compile(r":(?=\S)")
_WWW = re.compile(r"(www)(?=\.)", re.IGNORECASE)
_AT = re.compile(r"@(?=\S)")
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")
# Bidirectional overrides make a name read backwards or reorder the words after it.
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


def _control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cs")


def md(value: object) -> str:
    """``value`` as Markdown that shows exactly its text: every Markdown and
    Streamlit syntax character is escaped, line breaks become spaces (a note's
    blank line would otherwise end the caption or start a list), other control
    characters and bidirectional overrides show as U+FFFD, and the ends are
    trimmed. None shows as an empty string."""
    if value is None:
        return ""
    text = _LINE_BREAKS.sub(" ", str(value)).replace("\t", " ")
    text = "".join(REPLACEMENT if _control(ch) else ch for ch in _BIDI.sub(REPLACEMENT, text)).strip()
    text = _ESCAPE_ANYWHERE.sub(r"\\\1", text)
    text = _ORDERED_ITEM.sub(r"\1\\\2", _LINE_START.sub(r"\\\1", text))
    text = _COLON.sub(":" + WORD_JOINER, text)
    text = _WWW.sub(r"\1" + WORD_JOINER, text)
    return _AT.sub("@" + WORD_JOINER, text)


def url_part(value: object) -> str:
    """``value`` percent-encoded for one path segment or query value of a link
    (``DASHBOARD_PLATFORM_URL``'s ``{code}``): a code holding ``/``, ``?``, ``#``
    or ``@`` cannot point the link at another page or site."""
    return quote(str(value), safe="")


# ---------------------------------------------------------------- control characters

NOTE_WHITESPACE = frozenset("\n\r\t")  # typed in a text area: kept in a note


def control_characters(value: str | None, multiline: bool = False) -> list[str]:
    """The control characters (and unpaired surrogates) in ``value``, as
    ``U+0000`` names, once each; empty when clean. ``multiline`` allows the
    newlines and tabs a note may hold.

    PostgreSQL refuses NUL in text (the driver raises, which a page would report
    as "cannot reach the database") and a surrogate cannot be encoded at all;
    the other control characters have no place in a code or a note either, so
    they are refused before any query rather than stored and shown."""
    if not value:
        return []
    allowed = NOTE_WHITESPACE if multiline else frozenset()
    found = dict.fromkeys(f"U+{ord(ch):04X}" for ch in value if _control(ch) and ch not in allowed)
    return list(found)


def control_problem(value: str | None, what: str, multiline: bool = False) -> str | None:
    """The message refusing ``value`` (named ``what``, e.g. "The note"), or None
    when it holds no control characters: the one check every form and deep
    link uses before it queries or stores anything."""
    found = control_characters(value, multiline)
    if not found:
        return None
    return _(
        "{what} contains control characters ({characters}) "
        "that cannot be stored or looked up; remove them (they often come from pasting out of another program) "
        "and try again."
    ).format(what=what, characters=", ".join(found[:3]) + (", …" if len(found) > 3 else ""))


def visible_controls(value: str) -> str:
    """``value`` with each control character written as ``\\xNN`` or ``\\uNNNN``:
    safe to store in the audit (PostgreSQL refuses NUL) and still shows what was sent."""
    return "".join(
        ch.encode("unicode_escape", "backslashreplace").decode("ascii") if _control(ch) else ch for ch in value
    )


def count_of(n: int, singular: str, plural: str | None = None) -> str:
    """``1 patient``, ``3 patients``: a count with its noun in the right number, not
    ``patient(s)``. English only until the interface is translated (Babel's plural rules)."""
    return f"{n:,} {singular if n == 1 else (plural or singular + 's')}"
