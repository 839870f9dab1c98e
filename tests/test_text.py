"""dashboard.text: escaping untrusted text for Markdown, and the one check for
control characters (issue 14, findings 4 and 16)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.text import WORD_JOINER, control_characters, control_problem, count_of, md, visible_controls
from tests import hostile

ATTACKS = [
    "![x](http://evil/beacon.png)",
    "[Session expired — log in again](http://evil)",
    ":green[risk reviewed: no risk]",
    "<img src=x onerror=alert(1)>",
    "**bold**",
    "`code`",
    "# heading",
    "\n\n- list",
    "$x$",
    ":material/check_circle:",
    ":smile:",
    ":streamlit:",
    "www.evil.example",
    "nurse@evil.example",
    "<http://evil>",
    "&#58;smile&#58;",
    "1. item",
    "> quote",
    "---",
    "| a | b |",
    "~~gone~~",
    "_it_",
    "[x]: http://evil",
    ":red-badge[ok]",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_md_leaves_no_live_syntax_and_reads_as_typed(attack):
    shown = md(attack)
    assert hostile.markdown_problems(shown) == []
    assert "\n" not in shown  # a note's blank line cannot end a caption or start a list
    assert hostile.plain(shown) == hostile.as_read(attack)


def test_md_keeps_ordinary_text_unchanged():
    for text in ("P-00042", "Dr Amara Okafor", "Depression: module 3 (sleep)", "ther.a", "O'Neill-Smith"):
        assert md(text) == text  # nothing to escape, a colon before a space included
    assert md(None) == "" and md("  padded  ") == "padded"


def test_md_defuses_control_characters_and_bidirectional_overrides():
    assert md("a\x00b\u202ec") == "a\ufffdb\ufffdc"
    assert md("a\tb\r\nc") == "a b c"


LINE_BREAKS = set("\t\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029")
BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


@given(st.text())
def test_md_never_loses_what_a_reader_should_see(text):
    text = text.replace(WORD_JOINER, "")  # indistinguishable from md's own
    expected = "".join(
        " " if c in LINE_BREAKS else "\ufffd" if unicodedata.category(c) in ("Cc", "Cs") or c in BIDI else c
        for c in text
    )
    assert hostile.plain(md(text)) == hostile.as_read(expected)
    assert hostile.markdown_problems(md(text)) == []


def test_control_characters_name_each_once_and_notes_keep_their_lines():
    assert control_characters("P-\x001\x00\x1b") == ["U+0000", "U+001B"]
    assert control_characters("line one\nline two\ttab\r\n", multiline=True) == []
    assert control_characters("line one\nline two") == ["U+000A"]
    assert control_characters("half \ud800 surrogate") == ["U+D800"]
    assert control_characters(None) == [] and control_characters("Émile — ok") == []


def test_control_problem_says_what_to_do_and_names_the_field():
    message = control_problem("a\x00", "The note", multiline=True)
    assert message.startswith("The note contains control characters (U+0000)") and "try again" in message
    assert control_problem("clean", "The note") is None


def test_visible_controls_can_be_stored_and_shows_what_was_sent():
    assert visible_controls("P1\x00\x07") == "P1\\x00\\x07"
    assert "\x00" not in visible_controls("\x00") and visible_controls("plain") == "plain"


@pytest.mark.parametrize(
    ("n", "singular", "plural", "shown"),
    [
        (0, "patient", None, "0 patients"),
        (1, "patient", None, "1 patient"),
        (2, "patient", None, "2 patients"),
        (1_250, "response", None, "1,250 responses"),
        (1, "more patient", "more patients", "1 more patient"),
        (3, "analysis", "analyses", "3 analyses"),
    ],
)
def test_a_count_names_its_noun_in_the_right_number_not_with_s_in_brackets(n, singular, plural, shown):
    assert count_of(n, singular, plural) == shown
