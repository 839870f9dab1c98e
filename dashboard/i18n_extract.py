"""A Babel extraction method for the instrument registry (``dashboard/instruments.toml``).

Babel's Python extractor cannot see words that live in data: the registry's band
labels, cut-off labels and item labels are shown on every page, so they are msgids
too, translated with ``gettext`` where they are shown (the label itself stays the
band's code in frames and exports). Registered in ``babel.cfg``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from typing import IO, Any


def registry_words(data: dict[str, Any]) -> Iterator[str]:
    """The display words of a parsed registry file, in file order."""
    for section in ("instruments", "overrides"):
        for inst in data.get(section, {}).values():
            for band in inst.get("bands", []):
                yield band["label"]
            if label := inst.get("caseness_label"):
                yield label
            yield from inst.get("item_labels", [])


def extract_instruments(
    fileobj: IO[bytes], keywords: object, comment_tags: object, options: object
) -> Iterator[tuple[int, None, str, list[str]]]:
    """Babel's extractor interface: (line, funcname, message, comments) per word."""
    text = fileobj.read().decode("utf-8")
    lines = text.splitlines()
    seen: set[str] = set()
    for word in registry_words(tomllib.loads(text)):
        if word in seen:
            continue
        seen.add(word)
        lineno = next((i + 1 for i, line in enumerate(lines) if f'"{word}"' in line), 0)
        yield lineno, None, word, []
