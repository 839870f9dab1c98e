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
from datetime import date, datetime, time
from functools import cache, lru_cache
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
    """Marks only the template's messages: ``gettext`` of a string no catalog can hold
    (an English label lowercased, a code) stays bare, as it would in every real language."""

    def __init__(self) -> None:
        super().__init__()
        with (LOCALE_DIR / f"{DOMAIN}.pot").open("rb") as fp:
            self.known = {m.id[0] if isinstance(m.id, tuple) else m.id for m in pofile.read_po(fp) if m.id}

    def gettext(self, message: str) -> str:
        return _pseudo(message) if message in self.known else message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        chosen = singular if n == 1 else plural
        return _pseudo(chosen) if singular in self.known else chosen


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


# English keeps the dates its pages always wrote ("05 Nov 2026"); every other language
# writes a day the way its CLDR skeleton says: "2.12.2026" in Finnish, "2. des. 2026" in Bokmål.
_ENGLISH_DAYS = {True: "dd MMM yyyy", False: "dd MMM"}
_SKELETONS = {True: "yMMMd", False: "MMMd"}


def _english() -> bool:
    return current_language() in (SOURCE, PSEUDO)


def _local(value: date | datetime, tz: ZoneInfo | None) -> date | datetime:
    """An aware time as the zone's wall time; a naive one is UTC (as stored) when a zone is given."""
    if isinstance(value, datetime) and tz is not None:
        aware = value if value.tzinfo else value.replace(tzinfo=ZoneInfo("UTC"))
        return aware.astimezone(tz)
    return value


def day_pattern(year: bool = True, code: str | None = None) -> str:
    """The CLDR pattern of a day in the run's language (or ``code``), with or without its year."""
    code = code or current_language()
    if code in (SOURCE, PSEUDO):
        return _ENGLISH_DAYS[year]
    return babel_locale(code).datetime_skeletons[_SKELETONS[year]].pattern


def format_day(value: date | datetime, tz: ZoneInfo | None = None, year: bool = True) -> str:
    """A day in the run's language: "05 Nov 2026" in English, "5 nov. 2026" in Swedish,
    "5.11." in Finnish without the year; a time is the service zone's day."""
    local = _local(value, tz)
    day = local.date() if isinstance(local, datetime) else local
    return _formatted_day(day, current_language(), year)


def format_day_or_dash(value: date | datetime | None, tz: ZoneInfo | None = None, year: bool = True) -> str:
    """``format_day``, or a dash where the record holds no day (None, or NaT: the
    platform's date was missing or unreadable)."""
    if value is None or value != value:  # NaT is the one day unequal to itself
        return "—"
    return format_day(value, tz, year)


@lru_cache(maxsize=8192)
def _formatted_day(day: date, language: str, year: bool) -> str:
    """Babel's formatting of one day, kept: a triage names the same few dozen days in
    hundreds of reasons, and each Babel call costs about 30 µs."""
    return dates.format_date(day, format=day_pattern(year, language), locale=babel_locale(language))


def format_clock(value: datetime | time, seconds: bool = False) -> str:
    """A wall time in the language's own way: "09:05" in English, "9.05" in Finnish."""
    if _english():
        return f"{value:%H:%M:%S}" if seconds else f"{value:%H:%M}"
    return dates.format_skeleton("Hms" if seconds else "Hm", value, locale=babel_locale())


def format_day_time(value: datetime, tz: ZoneInfo, year: bool = True, seconds: bool = False) -> str:
    """An instant as the service zone's day and wall time ("02 Dec 2026 09:05";
    "2.12.2026 9.05" in Finnish); a naive time is UTC, as the database stores it."""
    local = _local(value, tz)
    day, clock = format_day(local, year=year), format_clock(local, seconds)
    if _english():
        return f"{day} {clock}"
    return babel_locale().datetime_formats["medium"].replace("{1}", day).replace("{0}", clock)


# CLDR date symbols as d3-time-format directives, for the charts' axes and tooltips.
_CLDR_TO_D3 = {"dd": "%d", "d": "%-d", "MMM": "%b", "MM": "%m", "M": "%-m", "y": "%Y", "yyyy": "%Y", "LLL": "%b"}
_CLDR_FIELD = re.compile(r"'[^']*'|([a-zA-Z])\1*")


def d3_day_format(year: bool = True) -> str:
    """The day pattern as a d3 time format ("%-d.%-m." in Finnish), so a chart's axis
    writes days as the page around it does; months come from ``vega_time_locale``."""

    def convert(match: re.Match) -> str:
        text = match.group(0)
        if text.startswith("'"):
            return text.strip("'").replace("%", "%%")
        return _CLDR_TO_D3.get(text, text)

    return _CLDR_FIELD.sub(convert, day_pattern(year))


def vega_time_locale() -> dict[str, object]:
    """The run's language as a d3 time-format locale (Vega's ``config.locale.time``):
    month and day names from Babel, so an axis says "déc." in French, not "Dec"."""
    locale = babel_locale()
    days = locale.days["stand-alone"]
    sunday_first = [6, 0, 1, 2, 3, 4, 5]  # d3 counts weekdays from Sunday, CLDR from Monday
    return {
        "dateTime": "%x %X",
        "date": d3_day_format(),
        "time": "%H:%M:%S",
        "periods": ["AM", "PM"],
        "days": [days["wide"][i] for i in sunday_first],
        "shortDays": [days["abbreviated"][i] for i in sunday_first],
        "months": [locale.months["stand-alone"]["wide"][m] for m in range(1, 13)],
        "shortMonths": [locale.months["format"]["abbreviated"][m] for m in range(1, 13)],
    }


def vega_number_locale() -> dict[str, object]:
    """The run's language as a d3 number-format locale (Vega's ``config.locale.number``):
    decimal comma, grouping space and "50 %" on a chart's axis, as on the page around it."""
    locale = babel_locale()
    symbols = locale.number_symbols["latn"]
    pattern = locale.percent_formats[None].pattern
    before = pattern[: pattern.index("%")].lstrip("#,0.")  # the space before % in sv, nb, fi, fr
    return {
        "decimal": symbols["decimal"],
        "thousands": symbols["group"],
        "grouping": [3],
        "currency": ["", ""],
        "percent": before + "%",
        "minus": symbols["minusSign"],
    }
