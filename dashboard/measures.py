"""Instrument registry and scoring, exactly as docs/clinical-reference.md says.

The instruments are data (dashboard/instruments.toml and the service's
``DASHBOARD_INSTRUMENTS`` file, read by dashboard.instruments): items, ranges,
options, bands or zones, cut-offs, reliable change, risk item, proration. Values
the reference leaves to the service (PDSS cut-off, an RCI's SD and reliability)
are absent unless configured: the dashboard then says "no criterion" instead of
inventing one. Scoring is one path for every instrument: ``score_responses``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Mapping

import numpy as np
import pandas as pd

from dashboard.config import DEFAULTS, Config, ConfigError, Settings, load_config
from dashboard.i18n import gettext as _
from dashboard.i18n import ngettext
from dashboard.instruments import Instrument, load_registry


def _process_config() -> Config | None:
    try:
        return load_config()
    except ConfigError:  # the entry point reports the configuration error itself
        return None


class _ProcessRegistry(Mapping[str, Instrument]):
    """The process's registry, built from the configuration on first use rather than
    at import, so importing a module never reads configuration. Configuration is
    process-wide and fixed at start-up, like the rest of config."""

    @functools.cached_property
    def _registry(self) -> Mapping[str, Instrument]:
        config = _process_config()
        return config.instruments if config else load_registry(None, DEFAULTS)

    def __getitem__(self, code: str) -> Instrument:
        return self._registry[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._registry)

    def __len__(self) -> int:
        return len(self._registry)


INSTRUMENTS: Mapping[str, Instrument] = _ProcessRegistry()


def zone(instrument: str, score: float | None, escalated: bool = False) -> str | None:
    """The band (for AUDIT: the zone) of an unrounded score, moved one up, at most to the
    last, when the instrument's escalation rule fired (AUDIT items 4-6 >= 2 or items
    9-10 == 4, clinical-reference 4). None where the instrument has no bands."""
    inst = INSTRUMENTS.get(instrument)
    if inst is None or not inst.bands or score is None or (isinstance(score, float) and math.isnan(score)):
        return None
    index = -1
    for i, band in enumerate(inst.bands):
        if score >= band.low:
            index = i
    if index < 0:
        return None
    if escalated and inst.escalation:
        index = min(index + 1, len(inst.bands) - 1)
    return inst.bands[index].label


def band_label(
    instrument: str, score: float | None, *, not_applicable: bool = False, escalated: bool = False
) -> str | None:
    """Severity band of an (unrounded) score; None where the instrument has no bands, or
    where an item was not applicable (WSAS: the 4-item sum has no bands, reference 4)."""
    return None if not_applicable else zone(instrument, score, escalated)


def band_words(label: str | None) -> str | None:
    """A band or cut-off label of the registry in the run's language, as shown; the
    label itself stays the band's code in frames and exports (msgids extracted from
    instruments.toml by dashboard.i18n_extract). A service's own label has no
    translation and shows as written."""
    return _(label) if label else label


def reliable_change_index(instrument: str, before: float, after: float) -> float | None:
    """Jacobson-Truax RCI (clinical-reference 1.7), (after - before) / SE_difference, only
    where the service configured the SD and reliability (with their source); |RCI| > 1.96
    is reliable at p < .05. None otherwise: no criterion is invented."""
    inst = INSTRUMENTS.get(instrument)
    if inst is None or inst.rci_sd is None or inst.rci_reliability is None:
        return None
    return (after - before) / (inst.rci_sd * math.sqrt(2 * (1 - inst.rci_reliability)))


def score_subscales(frame: pd.DataFrame) -> pd.DataFrame:
    """Subscale sums (input: ``responses.subscale_stats``): ``score`` is the sum of the
    subscale's items when every one holds an allowed answer, else NaN (no proration:
    the reference gives no rule for subscales). Rows in the registry's subscale order."""
    size = {(code, s.name): len(s.items) for code, inst in INSTRUMENTS.items() for s in inst.subscales}
    order = {key: i for i, key in enumerate(size)}
    keys = list(zip(frame["instrument"], frame["subscale"]))
    complete = np.array([n == size.get(k) for n, k in zip(frame["n_valid_items"], keys)], dtype=bool)
    scored = frame.assign(
        score=np.where(complete, frame["valid_item_sum"].to_numpy(dtype=float), np.nan),
        _order=[order.get(k, len(order)) for k in keys],
    )
    return scored.sort_values(["response_id", "_order"], kind="stable").drop(columns="_order").reset_index(drop=True)


def display_score(score: float) -> int:
    """Round half up for display only (reference 1.3: stored values stay unrounded)."""
    return int(math.floor(score + 0.5))


def score_words(
    instrument: str, score: float, when: str | None = None, *, escalated: bool = False, not_applicable: bool = False
) -> str:
    """A score as the lists and the morning digest say it, from the registry alone:
    '30 · severe (OCI-R, 12 Nov)', '12 · zone II hazardous (AUDIT, 12 Nov)' (', one
    zone up' when the escalation rule moved it), '18 · 4-item sum, work not applicable
    (WSAS, 12 Nov)'; an instrument with a cut-off but no bands: '25 (SPIN, 12 Nov)',
    with ' · at or above cut-off 19' appended when it is (compared unrounded, 1.3);
    nothing more where the registry defines neither. ``when``: the day, if any."""
    inst = INSTRUMENTS.get(instrument)
    text = f"{display_score(score)}"
    band = band_label(instrument, score, not_applicable=not_applicable, escalated=escalated)
    if band:
        text += " · " + str(band_words(band)) + (_(", one zone up") if band != zone(instrument, score) else "")
    elif not_applicable and inst is not None and inst.not_applicable_item:
        label = (
            band_words(inst.item_labels[inst.not_applicable_item - 1])
            if inst.item_labels
            else _item_words(inst, inst.not_applicable_item)
        )
        text += " · " + _("{n}-item sum, {item} not applicable").format(n=inst.n_items - 1, item=label)
    name = inst.name if inst is not None else instrument
    text += f" ({name}, {when})" if when else f" ({name})"
    cut = inst.caseness if inst is not None and not inst.bands and not not_applicable else None
    if cut is not None and score >= cut:
        text += " · " + _("at or above cut-off {cut}").format(cut=f"{cut:g}")
    return text


def max_missing_items(instrument: Instrument, settings: Settings) -> int:
    if instrument.max_missing_setting:
        return int(getattr(settings, instrument.max_missing_setting))
    return instrument.max_missing_items


RULE_COLUMNS = ("n_invalid_options", "n_na_items", "escalated")


def _options_text(inst: Instrument) -> str:
    """An instrument's allowed answers in the run's language ("items 9-10: only 0, 2, 4")."""
    return "; ".join(
        _("items {first}-{last}: only {values}").format(
            first=r.items[0], last=r.items[-1], values=", ".join(map(str, r.values))
        )
        if len(r.items) > 1
        else _("item {n}: only {values}").format(n=r.items[0], values=", ".join(map(str, r.values)))
        for r in inst.allowed_values
    )


def _item_words(inst: Instrument, item: int) -> str:
    """An item as a note names it: "item 1 (work)", the label in the run's language."""
    if inst.item_labels:
        return _("item {n} ({label})").format(n=item, label=band_words(inst.item_labels[item - 1]))
    return _("item {n}").format(n=item)


def score_responses(frame: pd.DataFrame, settings: Settings | None = None) -> pd.DataFrame:
    """Score aggregated responses (one row each) and say what was wrong with them.

    Input columns (from ``dashboard.responses``): ``instrument``, ``total_score``,
    ``n_item_rows`` (all item rows), ``n_valid_items`` (distinct in-range items given
    one of their allowed values), ``valid_item_sum``, and the RULE_COLUMNS (absent
    reads as 0): ``n_invalid_options`` (in range but not an allowed value: AUDIT items
    9-10), ``n_na_items`` (the instrument's not-applicable item recorded with a NULL
    score: WSAS item 1) and ``escalated`` (the escalation rule fired). Adds ``score``
    (float, NaN when not scorable), ``prorated``, ``valid``, ``not_applicable`` (the
    score is the sum without the N/A item: no bands), ``escalated`` (bool),
    ``scoring_issue`` (a platform problem other than those two) and ``quality``
    (a data-quality note or None).

    docs/design.md: the item sum wins over a disagreeing ``total_score``; the total is
    used only when there are no items. An out-of-range item counts as missing.
    """
    settings = settings or Settings()
    n = len(frame)
    # Per distinct instrument code, then spread by code: a team's responses are 10^5 rows.
    codes, uniques = pd.factorize(frame["instrument"], use_na_sentinel=False)
    inst = [INSTRUMENTS.get(code) for code in uniques]
    known = np.array([i is not None for i in inst], dtype=bool)[codes]
    n_items = np.array([i.n_items if i else 0 for i in inst], dtype=float)[codes]
    max_missing = np.array([max_missing_items(i, settings) if i else 0 for i in inst], dtype=float)[codes]
    max_total = np.array([i.max_total if i else 0 for i in inst], dtype=float)[codes]
    item_rows = frame["n_item_rows"].fillna(0).to_numpy(dtype=float)
    answered = frame["n_valid_items"].fillna(0).to_numpy(dtype=float)
    item_sum = frame["valid_item_sum"].fillna(0).to_numpy(dtype=float)
    total = pd.to_numeric(frame["total_score"], errors="coerce").to_numpy(dtype=float)
    rule = {c: frame[c].fillna(0).to_numpy(dtype=float) if c in frame else np.zeros(n) for c in RULE_COLUMNS}
    invalid_options, na_items = rule["n_invalid_options"], rule["n_na_items"]

    has_items = item_rows > 0
    applicable = n_items - na_items  # WSAS with work N/A: 4 items (clinical-reference 4)
    missing = applicable - answered
    complete = has_items & (missing == 0)
    proratable = has_items & (missing > 0) & (missing <= max_missing) & (answered > 0)
    total_only = ~has_items & ~np.isnan(total) & (total >= 0) & (total <= max_total)

    score = np.full(n, np.nan)
    score = np.where(complete, item_sum, score)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(proratable, item_sum * applicable / answered, score)
    score = np.where(total_only, total, score)
    score = np.where(known, score, np.nan)
    valid = ~np.isnan(score)

    quality: list[str | None] = [None] * n
    # More rows than usable items: out of range, unknown item number, or an item repeated
    # (repeats that agree count once; repeats that disagree leave the item missing).
    out_of_range = item_rows > answered + na_items + invalid_options
    disagrees = complete & ~np.isnan(total) & (total != item_sum)
    issue = known & (~has_items | out_of_range | (missing > invalid_options) | disagrees)
    noted = ~known | issue | (invalid_options > 0) | (na_items > 0)
    for i in np.flatnonzero(noted):  # words only for the few rows with a problem
        notes = []
        entry = inst[codes[i]]
        if entry is None:
            notes.append(_("unknown instrument {code}").format(code=repr(frame["instrument"].iat[i])))
        elif not has_items[i]:
            notes.append(
                _("no item answers: total used")
                if total_only[i]
                else _("no item answers and no usable total: not scored")
            )
        else:
            if na_items[i] > 0 and entry.not_applicable_item:
                notes.append(
                    _("{item} not applicable: {n}-item sum, without the {max}-point bands").format(
                        item=_item_words(entry, entry.not_applicable_item), n=int(applicable[i]), max=entry.max_total
                    )
                )
            if invalid_options[i] > 0:
                notes.append(
                    ngettext(
                        "{n} answer not among the item's options ({options}): treated as missing",
                        "{n} answers not among the item's options ({options}): treated as missing",
                        int(invalid_options[i]),
                    ).format(n=int(invalid_options[i]), options=_options_text(entry))
                )
            if out_of_range[i]:
                notes.append(
                    _(
                        "item rows out of range, unknown or repeated: an item without one in-range answer is treated as missing"
                    )
                )
            if missing[i] > 0:
                n_missing = int(missing[i])
                notes.append(
                    (
                        ngettext("{n} item missing: prorated", "{n} items missing: prorated", n_missing)
                        if proratable[i]
                        else ngettext("{n} item missing: not scored", "{n} items missing: not scored", n_missing)
                    ).format(n=n_missing)
                )
            if complete[i] and not np.isnan(total[i]) and total[i] != item_sum[i]:
                notes.append(
                    _("stored total {total} disagrees with item sum {sum}: item sum used").format(
                        total=int(total[i]), sum=int(item_sum[i])
                    )
                )
        quality[i] = "; ".join(notes) or None

    return frame.assign(
        score=score,
        prorated=proratable & known,
        valid=valid,
        not_applicable=valid & has_items & (na_items > 0),
        escalated=valid & (rule["escalated"] > 0),
        scoring_issue=issue,
        quality=quality,
    )
