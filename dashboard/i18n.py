"""Languages: gettext catalogs (Babel), the run's language, and local formats.

The languages are data (``LANGUAGES``); adding one is a line here and its catalog,
``dashboard/locale/<code>/LC_MESSAGES/caseboard.po`` (README, Languages). Catalogs
are compiled in memory on first use, never by hand, so a ``.po`` edit is live at the
next start. The language is per run, in a context variable: the UI sets it at the
start of every script run, a CLI from ``--lang``; domain code that returns words
calls ``gettext`` at the time it returns them.
"""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from gettext import NullTranslations
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError, dates, numbers
from babel.messages import mofile, pofile
from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "caseboard"
SOURCE = "en"


@dataclass(frozen=True)
class Language:
    code: str  # the catalog's folder and Babel's locale
    native: str  # its name in itself, as the selector shows it


LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language("en", "English"),
        Language("sv", "Svenska"),
        Language("nb", "Norsk bokmål"),
        Language("fi", "Suomi"),
        Language("fr_CA", "Français (Canada)"),
    )
}
# Not a catalog: every translated string wrapped in markers, so a text shown without
# them bypassed the catalogs (the coverage test). Chosen only by code, never offered.
PSEUDO = "en_XA"
PSEUDO_OPEN, PSEUDO_CLOSE = "⟦", "⟧"
# A browser tag's language with no catalog of its own, mapped to the nearest one.
ALIASES = {"no": "nb", "nn": "nb", "fr": "fr_CA"}

_current: ContextVar[str] = ContextVar("caseboard_language", default=SOURCE)


def N_(message: str) -> str:  # noqa: N802 - gettext's marker for a string translated later
    """Mark a module-level string for extraction; ``gettext`` translates it where shown."""
    return message


def known(code: str | None) -> bool:
    return code in LANGUAGES or code == PSEUDO


def match(tag: str | None) -> str | None:
    """The catalog for a configured code or a browser tag ("sv-SE", "fr-CA", "no"), or None."""
    if not tag:
        return None
    tag = tag.strip().replace("-", "_")
    if known(tag):
        return tag
    try:
        parsed = Locale.parse(tag)
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    for candidate in (f"{parsed.language}_{parsed.territory}", parsed.language):
        if candidate in LANGUAGES:
            return candidate
    return ALIASES.get(parsed.language)


def choose(*candidates: str | None) -> str:
    """The first candidate that names a language (stored choice, setting, browser), else English."""
    for candidate in candidates:
        if code := match(candidate):
            return code
    return SOURCE


def set_language(code: str) -> None:
    """This run's language (a UI run, a CLI invocation); unknown codes fall back to English."""
    _current.set(code if known(code) else SOURCE)


def current_language() -> str:
    return _current.get()


@contextmanager
def language(code: str) -> Iterator[None]:
    """Run a block in a language (a test, a report in another language than the run's)."""
    token = _current.set(code if known(code) else SOURCE)
    try:
        yield
    finally:
        _current.reset(token)


_PLACEHOLDER = re.compile(r"(\{[^{}]*\})")


def _pseudo(message: str) -> str:
    """Each literal part marked, each ``{placeholder}`` left bare: what fills it later
    (a band label, a reason) shows unmarked unless it was translated itself."""
    return "".join(
        part if _PLACEHOLDER.fullmatch(part) or not part else f"{PSEUDO_OPEN}{part}{PSEUDO_CLOSE}"
        for part in _PLACEHOLDER.split(message)
    )


class _Pseudo(NullTranslations):
    def gettext(self, message: str) -> str:
        return _pseudo(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _pseudo(singular if n == 1 else plural)


def catalog_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(code: str) -> NullTranslations:
    """The compiled catalog, made once per process from the ``.po`` (no ``.mo`` on disk)."""
    if code == PSEUDO:
        return _Pseudo()
    path = catalog_path(code)
    if code == SOURCE or not path.exists():
        return NullTranslations()
    with path.open("rb") as fp:
        catalog = pofile.read_po(fp, locale=code, domain=DOMAIN)
    buffer = io.BytesIO()
    mofile.write_mo(buffer, catalog)  # fuzzy entries are left out, as msgfmt does
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def gettext(message: str) -> str:
    return translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The catalog's Plural-Forms pick the form: French counts 0 as singular."""
    return translations(current_language()).ngettext(singular, plural, n)


_ = gettext


def babel_locale(code: str | None = None) -> Locale:
    code = code or current_language()
    return Locale.parse(SOURCE if code == PSEUDO else code)


def format_date(value: date | datetime, tz: ZoneInfo | None = None, fmt: str = "medium") -> str:
    """A day in the run's language ("1 dec. 2026" in Swedish); an aware time is the zone's day."""
    if isinstance(value, datetime):
        value = (value.astimezone(tz) if tz and value.tzinfo else value).date()
    return dates.format_date(value, format=fmt, locale=babel_locale())


def format_datetime(value: datetime, tz: ZoneInfo, fmt: str = "medium") -> str:
    """An instant as the service time zone's wall time, as every time shown is (README, Configuration)."""
    return dates.format_datetime(value, format=fmt, tzinfo=tz, locale=babel_locale())


def format_number(value: float, decimals: int | None = None) -> str:
    """A number with the language's separators; ``decimals`` fixes the digits after the comma."""
    locale = babel_locale()
    if decimals is None:
        return numbers.format_decimal(value, locale=locale)
    pattern = copy.copy(locale.decimal_formats[None])
    pattern.frac_prec = (decimals, decimals)
    return pattern.apply(value, locale)


def format_percent(fraction: float, decimals: int = 0) -> str:
    """A fraction as a percentage ("51,8 %" in Swedish for 0.518 with one decimal)."""
    locale = babel_locale()
    pattern = copy.copy(locale.percent_formats[None])  # the language's own, e.g. a space before % in sv
    pattern.frac_prec = (decimals, decimals)
    return pattern.apply(fraction, locale)


def format_day(value: date | datetime, tz: ZoneInfo | None = None) -> str:
    """A day as the English pages always wrote it ("05 Nov 2026"), in another language
    its medium date ("5 nov. 2026" in Swedish): English messages and tests keep their dates."""
    if current_language() in (SOURCE, PSEUDO):
        if isinstance(value, datetime):
            value = (value.astimezone(tz) if tz and value.tzinfo else value).date()
        return f"{value:%d %b %Y}"
    return format_date(value, tz)
