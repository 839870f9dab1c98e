"""The instrument registry as data: ``instruments.toml`` shipped with the package,
adjusted or extended by a service's own file (``DASHBOARD_INSTRUMENTS``).

Every instrument fact (items, ranges, options, bands or zones, cut-off, reliable
change, risk item, proration, subscales, the LOINC form and answer lists the FHIR
export writes) is read from those files and validated once, at start-up: a file
that cannot work is refused with a message naming the file, the instrument and the
field, never a traceback later on a page. Adding an instrument needs no code. This
module imports nothing of the dashboard, so ``dashboard.config`` can load the
registry with the rest of the configuration.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

SHIPPED_FILE = Path(__file__).resolve().parent / "instruments.toml"
CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,19}$")  # responses.instrument and dash_response_facts hold 20 characters
ESCALATION_OF = ("any", "sum")
# Settings that predate the file and adjust one field of one instrument (README, Settings).
SETTING_FIELDS: dict[str, tuple[str, str]] = {
    "pdss_cutoff": ("PDSS", "caseness"),
    "pdss_reliable_change": ("PDSS", "reliable_change"),
}
# The NHS pair's own measures (clinical-reference 3.2): never an ADSM.
NOT_ADSM = {
    "PHQ9": "PHQ-9 is the depression measure of the NHS pair, never its anxiety measure (clinical-reference 3.2)",
    "GAD7": "GAD-7 is the default anxiety measure, with its own caseness (clinical-reference 2.2 and 3.3)",
}
Z_95 = 1.96  # clinical-reference 1.7: |RCI| > 1.96 is reliable at p < .05


class InstrumentFileError(ValueError):
    """An instrument file that cannot work; config.load_config reports it as a ConfigError."""


@dataclass(frozen=True)
class Band:
    low: int  # inclusive; a value belongs to the last band whose low <= value
    label: str
    high: int | None = None  # inclusive upper bound (the file always gives it)


@dataclass(frozen=True)
class Subscale:
    name: str
    items: tuple[int, ...]


@dataclass(frozen=True)
class AllowedValues:
    """Items whose answers are restricted to these values (AUDIT items 9-10: 0, 2, 4)."""

    items: tuple[int, ...]
    values: tuple[int, ...]


@dataclass(frozen=True)
class Escalation:
    """Move one zone up when ``of`` ("any": one item, "sum": the items' sum) of these
    items scores at least ``at_least`` (AUDIT, clinical-reference 4)."""

    items: tuple[int, ...]
    at_least: int
    of: str = "any"


@dataclass(frozen=True)
class Answer:
    """One answer of a LOINC answer list (an ``LA`` code), for one item score."""

    code: str
    display: str


@dataclass(frozen=True)
class Instrument:
    code: str
    name: str
    n_items: int
    item_min: int
    item_max: int
    bands: tuple[Band, ...]
    caseness: float | None  # the cut-off line / caseness threshold (>=); None: no criterion
    reliable_change: float | None  # points, improvement (decrease) and deterioration (increase)
    risk_item: int | None = None
    max_missing_items: int = 0  # missing items that may be prorated (reference 1.3)
    # A setting that overrides max_missing_items where the reference leaves it to the service (2.4).
    max_missing_setting: str | None = None
    # Response / remission where the reference defines them instead of recovery (ISI, section 4 [S28]).
    response_decrease: int | None = None
    remission_below: int | None = None
    caseness_label: str | None = None
    subscales: tuple[Subscale, ...] = ()
    allowed_values: tuple[AllowedValues, ...] = ()
    not_applicable_item: int | None = None  # an item that may be recorded as "not applicable" (NULL score)
    escalation: tuple[Escalation, ...] = ()  # the bands are zones moved up by these rules
    change_instrument: bool = True  # False: reliable change does not apply (AUDIT: zone transitions)
    reliable_change_source: str | None = None
    rci_sd: float | None = None
    rci_reliability: float | None = None
    rci_source: str | None = None
    # The caseness cut-off (>=) when this instrument is the anxiety-disorder-specific measure
    # (ADSM) paired with PHQ-9 in NHS-style outcomes (clinical-reference 3.3), with its source.
    # The reference fixes none: only a service that sets it (and a reliable-change criterion)
    # has its outcomes use the ADSM instead of GAD-7.
    adsm_caseness: float | None = None
    adsm_source: str | None = None
    item_labels: tuple[str, ...] = ()
    # The LOINC form (clinical-reference 7.1), all or none: the FHIR export writes its
    # Questionnaire, response, items and panel from these, else a total under Caseboard's code.
    item_texts: tuple[str, ...] = ()  # the questions, abridged as in the reference
    loinc_panel: str | None = None
    loinc_panel_display: str | None = None
    loinc_total: str | None = None
    loinc_total_display: str | None = None
    loinc_items: tuple[str, ...] = ()
    loinc_answers: tuple[Answer, ...] = ()  # the answer list's answers, for scores item_min, item_min + 1, ...
    source: str | None = None
    note: str | None = None

    def options(self, item: int) -> tuple[int, ...]:
        """The scores item ``item`` may take."""
        for rule in self.allowed_values:
            if item in rule.items:
                return rule.values
        return tuple(range(self.item_min, self.item_max + 1))

    @property
    def max_total(self) -> int:
        return sum(max(self.options(i)) for i in range(1, self.n_items + 1))

    @property
    def min_total(self) -> int:
        return sum(min(self.options(i)) for i in range(1, self.n_items + 1))

    @property
    def has_loinc(self) -> bool:
        return self.loinc_total is not None

    def answer(self, score: int) -> Answer:
        """The LOINC answer of an item score (clinical-reference 7.1)."""
        return self.loinc_answers[score - self.item_min]


def rci_criterion(sd: float, reliability: float) -> float:
    """Jacobson-Truax reliable-change criterion in points (clinical-reference 1.7):
    1.96 x SD x sqrt(2 x (1 - r))."""
    return Z_95 * sd * math.sqrt(2 * (1 - reliability))


# ---------------------------------------------------------------- reading the files

_INT, _NUM, _STR, _BOOL = "an integer", "a number", "a string", "true or false"
REQUIRED = ("name", "n_items", "item_min", "item_max")
SCALARS: dict[str, str] = {
    "name": _STR,
    "n_items": _INT,
    "item_min": _INT,
    "item_max": _INT,
    "caseness": _NUM,
    "caseness_label": _STR,
    "reliable_change": _NUM,
    "reliable_change_source": _STR,
    "risk_item": _INT,
    "max_missing_items": _INT,
    "max_missing_setting": _STR,
    "response_decrease": _INT,
    "remission_below": _INT,
    "not_applicable_item": _INT,
    "change_instrument": _BOOL,
    "rci_sd": _NUM,
    "rci_reliability": _NUM,
    "rci_source": _STR,
    "adsm_caseness": _NUM,
    "adsm_source": _STR,
    "loinc_panel": _STR,
    "loinc_panel_display": _STR,
    "loinc_total": _STR,
    "loinc_total_display": _STR,
    "loinc_answers": _STR,
    "source": _STR,
    "note": _STR,
}
LISTS = ("bands", "subscales", "allowed_values", "escalation", "item_labels", "item_texts", "loinc_items")
KEYS = (*SCALARS, *LISTS)
# The LOINC form comes whole: the export cannot write a panel without its items or answers.
LOINC_KEYS = (
    "loinc_panel",
    "loinc_panel_display",
    "loinc_total",
    "loinc_total_display",
    "loinc_items",
    "loinc_answers",
    "item_texts",
)
ANSWER_LISTS = "answer_lists"  # [answer_lists] NAME = [{code, display}]: LOINC answer lists instruments share
TOP_LEVEL = ("instruments", "overrides")


class _Where:
    """Names the file, the instrument and the field in every refusal."""

    def __init__(self, file: Path | str, code: str, field: str = "") -> None:
        self.file, self.code, self.field = file, code, field

    def at(self, field: str) -> _Where:
        return _Where(self.file, self.code, field)

    def fail(self, problem: str) -> InstrumentFileError:
        field = f", field {self.field!r}" if self.field else ""
        return InstrumentFileError(f"{self.file}: instrument {self.code!r}{field}: {problem}")


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise InstrumentFileError(f"{path}: instrument file not found") from None
    except OSError as exc:
        raise InstrumentFileError(f"{path}: instrument file cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InstrumentFileError(f"{path}: not valid TOML: {exc}") from None


def _tables(path: Path, data: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, dict[str, dict]]:
    unknown = [k for k in data if k not in (*allowed, ANSWER_LISTS)]
    if unknown:
        known = [f"[{a}.CODE]" for a in allowed] + [f"[{ANSWER_LISTS}]"]
        raise InstrumentFileError(f"{path}: unknown top-level key {unknown[0]!r}; known: {', '.join(known)}")
    out: dict[str, dict[str, dict]] = {}
    for top in allowed:
        section = data.get(top, {})
        if not isinstance(section, dict) or any(not isinstance(v, dict) for v in section.values()):
            raise InstrumentFileError(f"{path}: [{top}] must hold one table per instrument, e.g. [{top}.OCIR]")
        out[top] = section
    return out


def _check_keys(where: _Where, entry: Mapping[str, Any], required: tuple[str, ...]) -> None:
    for key in entry:
        if key not in KEYS:
            raise where.at(key).fail(f"unknown key; known: {', '.join(KEYS)}")
    for key in required:
        if key not in entry:
            raise where.at(key).fail("missing required key")
    for key, kind in SCALARS.items():
        if key in entry:
            _check_kind(where.at(key), entry[key], kind)
    for key in LISTS:
        if key in entry and not isinstance(entry[key], list | dict if key == "subscales" else list):
            raise where.at(key).fail("must be a table" if key == "subscales" else "must be a list")


def _check_kind(where: _Where, value: Any, kind: str) -> None:
    ok = {
        _INT: isinstance(value, int) and not isinstance(value, bool),
        _NUM: isinstance(value, int | float) and not isinstance(value, bool),
        _STR: isinstance(value, str) and bool(value.strip()),
        _BOOL: isinstance(value, bool),
    }[kind]
    if not ok:
        raise where.fail(f"must be {kind}, got {value!r}")


def _items(where: _Where, value: Any, n_items: int) -> tuple[int, ...]:
    """A non-empty list of distinct item numbers within 1..n_items."""
    if not isinstance(value, list) or not value:
        raise where.fail("must be a non-empty list of item numbers")
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= n_items:
            raise where.fail(f"item {item!r} is not an item of this instrument (1-{n_items})")
    if len(set(value)) != len(value):
        raise where.fail(f"item numbers repeat: {value}")
    return tuple(value)


def _table(where: _Where, value: Any, keys: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise where.fail(f"each entry must be a table with {', '.join(keys)}, got {value!r}")
    for key in value:
        if key not in keys + optional:
            raise where.fail(f"unknown key {key!r} in an entry; known: {', '.join(keys + optional)}")
    for key in keys:
        if key not in value:
            raise where.fail(f"an entry lacks {key!r}")
    return value


def _bands(where: _Where, entries: list, low_total: int, high_total: int) -> tuple[Band, ...]:
    bands: list[Band] = []
    for raw in entries:
        entry = _table(where, raw, ("low", "high", "label"))
        for key in ("low", "high"):
            _check_kind(where, entry[key], _INT)
        _check_kind(where, entry["label"], _STR)
        band = Band(entry["low"], entry["label"], entry["high"])
        assert band.high is not None
        if band.low > band.high:
            raise where.fail(f"band {band.label!r} runs from {band.low} down to {band.high}")
        if band.low < low_total or band.high > high_total:
            raise where.fail(
                f"band {band.label!r} ({band.low}-{band.high}) is outside the total's range {low_total}-{high_total}"
            )
        if bands:
            prev = bands[-1]
            assert prev.high is not None
            if band.low < prev.low:
                raise where.fail(f"bands are not in order: {band.label!r} ({band.low}) comes after {prev.label!r}")
            if band.low <= prev.high:
                raise where.fail(
                    f"band {band.label!r} ({band.low}-{band.high}) overlaps {prev.label!r} ({prev.low}-{prev.high})"
                )
            if band.low > prev.high + 1:
                raise where.fail(f"no band covers {prev.high + 1}-{band.low - 1}")
        bands.append(band)
    if bands and (bands[0].low != low_total or bands[-1].high != high_total):
        raise where.fail(
            f"the bands cover {bands[0].low}-{bands[-1].high}, not the whole total {low_total}-{high_total}"
        )
    return tuple(bands)


def _in_range(where: _Where, value: float | None, lo: float, hi: float, what: str) -> None:
    if value is not None and not lo <= value <= hi:
        raise where.fail(f"{what} {value} is outside {lo}-{hi}")


def _build(
    where: _Where,
    code: str,
    e: Mapping[str, Any],
    setting_names: Collection[str],
    answer_lists: Mapping[str, tuple[Answer, ...]],
) -> Instrument:
    """One validated Instrument from a complete entry (shipped, added, or merged with an override)."""
    n_items, item_min, item_max = e["n_items"], e["item_min"], e["item_max"]
    if n_items < 1:
        raise where.at("n_items").fail(f"must be at least 1, got {n_items}")
    if item_min < 0:
        raise where.at("item_min").fail(f"scores are never negative, got {item_min}")
    if item_max <= item_min:
        raise where.at("item_max").fail(f"must be above item_min ({item_min}), got {item_max}")
    allowed: list[AllowedValues] = []
    seen: set[int] = set()
    for raw in e.get("allowed_values", []):
        w = where.at("allowed_values")
        entry = _table(w, raw, ("items", "values"))
        items = _items(w, entry["items"], n_items)
        if seen & set(items):
            raise w.fail(f"item {sorted(seen & set(items))[0]} has two lists of allowed values")
        seen |= set(items)
        values = entry["values"]
        if not isinstance(values, list) or not values or len(set(values)) != len(values):
            raise w.fail(f"values must be a non-empty list of distinct scores, got {values!r}")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, int) or not item_min <= v <= item_max:
                raise w.fail(f"value {v!r} is outside the item range {item_min}-{item_max}")
        allowed.append(AllowedValues(items, tuple(sorted(values))))
    # Totals from the options, before bands and cut-offs are checked against them.
    draft = Instrument(code, e["name"], n_items, item_min, item_max, (), None, None, allowed_values=tuple(allowed))
    low_total, high_total = draft.min_total, draft.max_total
    bands = _bands(where.at("bands"), e.get("bands", []), low_total, high_total)
    caseness = e.get("caseness")
    _in_range(where.at("caseness"), caseness, low_total + 1, high_total, "cut-off")
    change = e.get("change_instrument", True)
    reliable = e.get("reliable_change")
    sd, r, rci_source = e.get("rci_sd"), e.get("rci_reliability"), e.get("rci_source")
    reliable_source = e.get("reliable_change_source")
    if reliable is not None:
        if not change:
            raise where.at("reliable_change").fail(
                "this instrument is not a change instrument (change_instrument = false)"
            )
        _in_range(where.at("reliable_change"), reliable, 1, high_total - low_total, "reliable change")
    if (sd is None) != (r is None):
        raise where.at("rci_reliability" if r is None else "rci_sd").fail(
            "the Jacobson-Truax RCI needs both rci_sd and rci_reliability"
        )
    if sd is not None:
        if not change:
            raise where.at("rci_sd").fail("this instrument is not a change instrument (change_instrument = false)")
        if reliable is not None:
            raise where.at("rci_sd").fail(
                f"reliable_change {reliable} is fixed: a published criterion is never recomputed (clinical-reference 1.7)"
            )
        if sd <= 0:
            raise where.at("rci_sd").fail(f"must be above 0, got {sd}")
        if not 0 < r < 1:
            raise where.at("rci_reliability").fail(f"must be between 0 and 1 (exclusive), got {r}")
        if rci_source is None:
            raise where.at("rci_source").fail("say where rci_sd and rci_reliability come from (clinical-reference 1.7)")
        reliable = rci_criterion(sd, r)
        reliable_source = f"Jacobson-Truax RCI, SD {sd:g}, reliability {r:g} ({rci_source})"
    elif rci_source is not None:
        raise where.at("rci_source").fail("given without rci_sd and rci_reliability")
    adsm_caseness, adsm_source = _adsm(where, e, reliable, change, low_total, high_total)
    for key in ("risk_item", "not_applicable_item"):
        if key in e and not 1 <= e[key] <= n_items:
            raise where.at(key).fail(f"item {e[key]} is not an item of this instrument (1-{n_items})")
    max_missing = e.get("max_missing_items", 0)
    if not 0 <= max_missing < n_items:
        raise where.at("max_missing_items").fail(f"must be 0-{n_items - 1}, got {max_missing}")
    setting = e.get("max_missing_setting")
    if setting is not None and setting not in setting_names:
        raise where.at("max_missing_setting").fail(f"no setting {setting!r}")
    _in_range(where.at("response_decrease"), e.get("response_decrease"), 1, high_total - low_total, "response decrease")
    _in_range(where.at("remission_below"), e.get("remission_below"), low_total + 1, high_total, "remission threshold")
    subscales_raw = e.get("subscales", {})
    if not isinstance(subscales_raw, dict):
        raise where.at("subscales").fail("must be a table of name = [item numbers]")
    subscales = tuple(
        Subscale(name, _items(where.at("subscales"), items, n_items)) for name, items in subscales_raw.items()
    )
    escalation = []
    for raw in e.get("escalation", []):
        w = where.at("escalation")
        if len(bands) < 2:
            raise w.fail("moves a score one zone up, so it needs at least two bands")
        entry = _table(w, raw, ("items", "at_least"), ("of",))
        items = _items(w, entry["items"], n_items)
        of = entry.get("of", "any")
        if of not in ESCALATION_OF:
            raise w.fail(f"'of' must be one of {', '.join(ESCALATION_OF)}, got {of!r}")
        _check_kind(w, entry["at_least"], _INT)
        top = max(max(draft.options(i)) for i in items) if of == "any" else sum(max(draft.options(i)) for i in items)
        if not 1 <= entry["at_least"] <= top:
            raise w.fail(f"at_least {entry['at_least']} is outside 1-{top} for items {list(items)}")
        escalation.append(Escalation(items, entry["at_least"], of))
    answers = _loinc(where, e, answer_lists)
    for key in ("item_labels", "item_texts", "loinc_items"):
        values = e.get(key, [])
        if values and (len(values) != n_items or not all(isinstance(v, str) and v for v in values)):
            raise where.at(key).fail(f"must list {n_items} strings, one per item, got {len(values)}")
    return replace(
        draft,
        bands=bands,
        caseness=caseness,
        reliable_change=reliable,
        risk_item=e.get("risk_item"),
        max_missing_items=max_missing,
        max_missing_setting=setting,
        response_decrease=e.get("response_decrease"),
        remission_below=e.get("remission_below"),
        caseness_label=e.get("caseness_label"),
        subscales=subscales,
        not_applicable_item=e.get("not_applicable_item"),
        escalation=tuple(escalation),
        change_instrument=change,
        reliable_change_source=reliable_source,
        rci_sd=sd,
        rci_reliability=r,
        rci_source=rci_source,
        adsm_caseness=adsm_caseness,
        adsm_source=adsm_source,
        item_labels=tuple(e.get("item_labels", ())),
        item_texts=tuple(e.get("item_texts", ())),
        loinc_panel=e.get("loinc_panel"),
        loinc_panel_display=e.get("loinc_panel_display"),
        loinc_total=e.get("loinc_total"),
        loinc_total_display=e.get("loinc_total_display"),
        loinc_items=tuple(e.get("loinc_items", ())),
        loinc_answers=answers,
        source=e.get("source"),
        note=e.get("note"),
    )


def _adsm(
    where: _Where, e: Mapping[str, Any], reliable: float | None, change: bool, low_total: int, high_total: int
) -> tuple[float | None, str | None]:
    """The ADSM caseness and its source (clinical-reference 3.3), both or neither, on a
    change instrument with a reliable-change criterion: the paired outcome needs both values."""
    caseness, source = e.get("adsm_caseness"), e.get("adsm_source")
    if caseness is None:
        if source is not None:
            raise where.at("adsm_source").fail("given without adsm_caseness")
        return None, None
    w = where.at("adsm_caseness")
    if where.code in NOT_ADSM:
        raise w.fail(NOT_ADSM[where.code])
    if not change:
        raise w.fail("this instrument is not a change instrument (change_instrument = false)")
    _in_range(w, caseness, low_total + 1, high_total, "ADSM caseness")
    if reliable is None:
        raise w.fail(
            "an ADSM's paired outcome needs a reliable-change criterion too: reliable_change, or rci_sd + "
            "rci_reliability + rci_source (clinical-reference 3.3)"
        )
    if source is None:
        raise where.at("adsm_source").fail("say where adsm_caseness comes from (the reference fixes none, 3.3)")
    return caseness, source


def _answer_lists(path: Path, data: dict[str, Any]) -> dict[str, tuple[Answer, ...]]:
    """The file's ``[answer_lists]``: NAME = [{code, display}, ...], one answer per score."""
    section = data.get(ANSWER_LISTS, {})
    if not isinstance(section, dict):
        raise InstrumentFileError(f"{path}: [{ANSWER_LISTS}] must hold NAME = [{{code, display}}, ...]")
    lists = {}
    for name, entries in section.items():
        where = f"{path}: answer list {name!r}"
        if not isinstance(entries, list) or not entries:
            raise InstrumentFileError(f"{where}: must be a non-empty list of {{code, display}}, one per score")
        answers = []
        for raw in entries:
            if not isinstance(raw, dict) or set(raw) != {"code", "display"}:
                raise InstrumentFileError(f"{where}: each answer must be {{code, display}}, got {raw!r}")
            if not all(isinstance(v, str) and v.strip() for v in raw.values()):
                raise InstrumentFileError(f"{where}: code and display must be strings, got {raw!r}")
            answers.append(Answer(raw["code"], raw["display"]))
        lists[name] = tuple(answers)
    return lists


def _loinc(where: _Where, e: Mapping[str, Any], answer_lists: Mapping[str, tuple[Answer, ...]]) -> tuple[Answer, ...]:
    """Checks the LOINC form is whole or absent; its answers, one per item score."""
    given = [k for k in LOINC_KEYS if k in e]
    if not given:
        return ()
    if missing := [k for k in LOINC_KEYS if k not in e]:
        raise where.at(missing[0]).fail(f"the LOINC form needs all of {', '.join(LOINC_KEYS)} (given {given[0]!r})")
    name = e["loinc_answers"]
    if name not in answer_lists:
        known = ", ".join(answer_lists) or "none"
        raise where.at("loinc_answers").fail(f"no answer list {name!r} under [{ANSWER_LISTS}]; known: {known}")
    answers = answer_lists[name]
    scores = e["item_max"] - e["item_min"] + 1
    if len(answers) != scores:
        raise where.at("loinc_answers").fail(
            f"answer list {name!r} has {len(answers)} answers, the items score {e['item_min']}-{e['item_max']} "
            f"({scores})"
        )
    return answers


def _check_code(path: Path, code: str) -> None:
    if not CODE.match(code):
        raise InstrumentFileError(
            f"{path}: instrument code {code!r} must be capital letters, digits or _ (at most 20, e.g. OCIR)"
        )


def load_registry(
    service_file: Path | None = None,
    setting_names: Collection[str] = (),
    settings: Mapping[str, Any] | None = None,
    shipped_file: Path = SHIPPED_FILE,
) -> dict[str, Instrument]:
    """The shipped instruments, then the service file's ``[overrides.CODE]`` (fields of
    a shipped instrument) and ``[instruments.CODE]`` (new instruments), then the
    settings of SETTING_FIELDS. Raises InstrumentFileError naming file, instrument and field."""
    shipped_data = _read(shipped_file)
    shipped = _tables(shipped_file, shipped_data, ("instruments",))["instruments"]
    answer_lists = _answer_lists(shipped_file, shipped_data)
    entries: dict[str, tuple[Path | str, dict[str, Any]]] = {}  # code: (where it was last set, entry)
    for code, entry in shipped.items():
        _check_code(shipped_file, code)
        _check_keys(_Where(shipped_file, code), entry, REQUIRED)
        entries[code] = (shipped_file, dict(entry))
    if service_file is not None:
        service_data = _read(service_file)
        service = _tables(service_file, service_data, TOP_LEVEL)
        for name, answers in _answer_lists(service_file, service_data).items():
            if name in answer_lists:
                raise InstrumentFileError(
                    f"{service_file}: answer list {name!r} is already defined by the package; use it by its name"
                )
            answer_lists[name] = answers
        for code, override in service["overrides"].items():
            if code not in entries:
                raise InstrumentFileError(
                    f"{service_file}: [overrides.{code}] adjusts an unknown instrument {code!r}; "
                    f"known: {', '.join(entries)} (a new one goes under [instruments.{code}])"
                )
            _check_keys(_Where(service_file, code), override, ())
            entries[code] = (service_file, {**entries[code][1], **override})
        for code, entry in service["instruments"].items():
            _check_code(service_file, code)
            if code in entries:
                raise InstrumentFileError(
                    f"{service_file}: [instruments.{code}] is already defined by the package; "
                    f"adjust it under [overrides.{code}] instead"
                )
            _check_keys(_Where(service_file, code), entry, REQUIRED)
            entries[code] = (service_file, dict(entry))
    for name, (code, key) in SETTING_FIELDS.items():
        value = (settings or {}).get(name)
        if value is None or code not in entries:
            continue
        path, entry = entries[code]
        if entry.get(key) is not None or (key == "reliable_change" and entry.get("rci_sd") is not None):
            raise InstrumentFileError(
                f"{path}: instrument {code!r}, field {key!r}: also set by the setting {name!r}; set it in one place"
            )
        entries[code] = (f"{path} with the setting {name!r}", {**entry, key: value})
    return {
        code: _build(_Where(path, code), code, entry, setting_names, answer_lists)
        for code, (path, entry) in entries.items()
    }
