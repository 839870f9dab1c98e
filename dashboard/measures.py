"""Instrument registry and scoring, exactly as docs/clinical-reference.md says.

Every instrument fact (items, ranges, bands, cut-offs, reliable change, risk item,
proration) lives in ``INSTRUMENTS``, so a new instrument is one entry. Values the
reference leaves to the service (PDSS cut-off, ISI reliable change) are ``None``:
the dashboard then says "no criterion" instead of inventing one.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from dashboard.config import ConfigError, Settings, load_config
from dashboard.text import count_of


@dataclass(frozen=True)
class Band:
    low: int  # inclusive lower bound; a value belongs to the last band whose low <= value
    label: str


@dataclass(frozen=True)
class Instrument:
    code: str
    name: str
    n_items: int
    item_min: int
    item_max: int
    bands: tuple[Band, ...]
    caseness: int | None  # the cut-off line / caseness threshold (>=)
    reliable_change: int | None  # points, for improvement (decrease) and deterioration (increase)
    risk_item: int | None = None
    max_missing_items: int = 0  # missing items that may be prorated (reference 1.3)
    # A setting that overrides max_missing_items where the reference leaves it to the service (2.4).
    max_missing_setting: str | None = None
    # Response / remission where the reference defines them instead of recovery (ISI, section 4 [S28]).
    response_decrease: int | None = None
    remission_below: int | None = None

    @property
    def max_total(self) -> int:
        return self.n_items * self.item_max


BASE_INSTRUMENTS: dict[str, Instrument] = {
    i.code: i
    for i in (
        # clinical-reference 1.2-1.6
        Instrument(
            "PHQ9",
            "PHQ-9",
            9,
            0,
            3,
            (
                Band(0, "minimal"),
                Band(5, "mild"),
                Band(10, "moderate"),
                Band(15, "moderately severe"),
                Band(20, "severe"),
            ),
            caseness=10,
            reliable_change=6,
            risk_item=9,
            max_missing_items=2,
        ),
        # clinical-reference 2.2-2.4 (NHS caseness 8, not the screening cut-off 10)
        Instrument(
            "GAD7",
            "GAD-7",
            7,
            0,
            3,
            (Band(0, "minimal"), Band(5, "mild"), Band(10, "moderate"), Band(15, "severe")),
            caseness=8,
            reliable_change=4,
            max_missing_setting="gad7_max_missing_items",
        ),
        # clinical-reference 4 (ISI); no reliable-change criterion, cut-off line at 15 (clinical insomnia)
        Instrument(
            "ISI",
            "ISI",
            7,
            0,
            4,
            (
                Band(0, "no clinically significant insomnia"),
                Band(8, "subthreshold"),
                Band(15, "clinical, moderate"),
                Band(22, "clinical, severe"),
            ),
            caseness=15,
            reliable_change=None,
            response_decrease=8,
            remission_below=8,
        ),
        # clinical-reference 4 (PDSS): no bands, no cut-off, no reliable change unless configured
        Instrument("PDSS", "PDSS", 7, 0, 4, (), caseness=None, reliable_change=None),
    )
}


def build_registry(settings: Settings) -> dict[str, Instrument]:
    """The registry with the criteria a service may configure where the reference
    fixes none (PDSS cut-off and reliable change)."""
    registry = dict(BASE_INSTRUMENTS)
    registry["PDSS"] = replace(
        registry["PDSS"], caseness=settings.pdss_cutoff, reliable_change=settings.pdss_reliable_change
    )
    return registry


def _process_settings() -> Settings:
    try:
        return load_config().settings
    except ConfigError:  # the entry point reports the configuration error itself
        return Settings()


class _ProcessRegistry(Mapping[str, Instrument]):
    """The process's registry, built from the configuration on first use rather than
    at import, so importing a module never reads configuration. Configuration is
    process-wide and fixed at start-up, like the rest of config."""

    @functools.cached_property
    def _registry(self) -> dict[str, Instrument]:
        return build_registry(_process_settings())

    def __getitem__(self, code: str) -> Instrument:
        return self._registry[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._registry)

    def __len__(self) -> int:
        return len(self._registry)


INSTRUMENTS: Mapping[str, Instrument] = _ProcessRegistry()


def band_label(instrument: str, score: float | None) -> str | None:
    """Severity band of an (unrounded) score; None where the instrument has no bands."""
    inst = INSTRUMENTS.get(instrument)
    if inst is None or not inst.bands or score is None or (isinstance(score, float) and math.isnan(score)):
        return None
    label = None
    for band in inst.bands:
        if score >= band.low:
            label = band.label
    return label


def in_most_severe_band(instrument: str, score: float | None) -> bool:
    """The score is in the instrument's highest band ("severe" for PHQ-9 20-27,
    clinical-reference 1.2): handling a reason does not change it, so pages say so."""
    inst = INSTRUMENTS.get(instrument)
    return bool(inst is not None and inst.bands) and band_label(instrument, score) == inst.bands[-1].label


def display_score(score: float) -> int:
    """Round half up for display only (reference 1.3: stored values stay unrounded)."""
    return int(math.floor(score + 0.5))


def max_missing_items(instrument: Instrument, settings: Settings) -> int:
    if instrument.max_missing_setting:
        return int(getattr(settings, instrument.max_missing_setting))
    return instrument.max_missing_items


def score_responses(frame: pd.DataFrame, settings: Settings | None = None) -> pd.DataFrame:
    """Score aggregated responses (one row each) and say what was wrong with them.

    Input columns (from ``dashboard.responses``): ``instrument``, ``total_score``,
    ``n_item_rows`` (all item rows), ``n_valid_items`` (distinct in-range items),
    ``valid_item_sum``. Adds ``score`` (float, NaN when not scorable),
    ``prorated``, ``valid`` and ``quality`` (a data-quality note or None).

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

    has_items = item_rows > 0
    missing = n_items - answered
    complete = has_items & (missing == 0)
    proratable = has_items & (missing > 0) & (missing <= max_missing) & (answered > 0)
    total_only = ~has_items & ~np.isnan(total) & (total >= 0) & (total <= max_total)

    score = np.full(n, np.nan)
    score = np.where(complete, item_sum, score)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(proratable, item_sum * n_items / answered, score)
    score = np.where(total_only, total, score)
    score = np.where(known, score, np.nan)

    quality: list[str | None] = [None] * n
    # More rows than usable items: out of range, unknown item number, or an item repeated
    # (repeats that agree count once; repeats that disagree leave the item missing).
    out_of_range = item_rows > answered
    disagrees = complete & ~np.isnan(total) & (total != item_sum)
    noted = ~known | ~has_items | out_of_range | (missing > 0) | disagrees
    for i in np.flatnonzero(noted):  # words only for the few rows with a problem
        notes = []
        if not known[i]:
            notes.append(f"unknown instrument {frame['instrument'].iat[i]!r}")
        elif not has_items[i]:
            notes.append(
                "no item answers: total used" if total_only[i] else "no item answers and no usable total: not scored"
            )
        else:
            if out_of_range[i]:
                notes.append(
                    "item rows out of range, unknown or repeated: an item without one in-range answer is treated as missing"
                )
            if missing[i] > 0:
                verdict = "prorated" if proratable[i] else "not scored"
                notes.append(f"{count_of(int(missing[i]), 'item')} missing: {verdict}")
            if complete[i] and not np.isnan(total[i]) and total[i] != item_sum[i]:
                notes.append(f"stored total {int(total[i])} disagrees with item sum {int(item_sum[i])}: item sum used")
        quality[i] = "; ".join(notes) or None

    return frame.assign(score=score, prorated=proratable & known, valid=~np.isnan(score), quality=quality)
