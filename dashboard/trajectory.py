"""What one instrument's trajectory shows, read from the registry alone: its scale,
bands or zones, cut-off line, and how each later score compares with the baseline
(reliable change, "no criterion", or AUDIT's zone transitions). The patient page's
chart (dashboard.charts) and its outcome rows (dashboard.patient) both read this one
definition, so a chart never draws a band or line the table does not name.

Where the reference fixes no band, cut-off or reliable-change criterion, the scale
has none (clinical-reference 4: "do not invent bands"). An instrument whose
not-applicable item was not applicable (WSAS item 1, work) is a series of its own:
the shorter sum (0-32) without the full total's bands, cut-off or criterion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard import i18n
from dashboard.i18n import N_, ngettext
from dashboard.i18n import gettext as _
from dashboard.instruments import Band
from dashboard.measures import INSTRUMENTS, band_label, band_words
from dashboard.outcomes import DETERIORATED, IMPROVED, NO_CHANGE, NO_CRITERION, reliable_change

BASELINE = "baseline"
# codes, and their English words (translated where shown: comparison_words)
HIGHER_ZONE, LOWER_ZONE, SAME_ZONE = (
    N_("higher zone than baseline"),
    N_("lower zone than baseline"),
    N_("same zone as baseline"),
)
# How a later score compares with the baseline: (its words, its legend entry), in English;
# comparison_words and comparison_legend give them in the run's language.
COMPARISONS: dict[str, tuple[str, str]] = {
    BASELINE: (N_("baseline"), N_("baseline")),
    IMPROVED: (N_("reliably better than baseline"), N_("reliably better")),
    DETERIORATED: (N_("reliably worse than baseline"), N_("reliably worse")),
    NO_CHANGE: (N_("no reliable change"), N_("no reliable change")),
    NO_CRITERION: (N_("no reliable-change criterion"), N_("later score (no criterion)")),
    HIGHER_ZONE: (HIGHER_ZONE, N_("higher zone")),
    LOWER_ZONE: (LOWER_ZONE, N_("lower zone")),
    SAME_ZONE: (SAME_ZONE, N_("same zone")),
}
ESCALATION_WORDS = N_("one zone up by the item rule")  # shown as _(ESCALATION_WORDS)


def comparison_words(kind: str) -> str:
    """How a later score compares with the baseline, in the run's language (a COMPARISONS key)."""
    return _(COMPARISONS[kind][0])


def comparison_legend(kind: str) -> str:
    """The comparison's legend entry in the run's language."""
    return _(COMPARISONS[kind][1])


def points_text(value: float) -> str:
    """A criterion's or cut-off's figure as shown: three significant digits, the language's separators."""
    return i18n.format_number(float(f"{value:.3g}"))


@dataclass(frozen=True)
class Scale:
    """One trajectory's scale and criteria."""

    instrument: str
    not_applicable: bool  # the instrument's not-applicable item was not applicable: the shorter sum
    name: str
    sum_name: str  # "total", or "4-item sum" without the not-applicable item
    top: int  # the highest total of this sum
    bands: tuple[Band, ...]  # () where none apply
    cut_off: float | None
    cut_off_label: str | None
    zones: bool  # the bands are zones and change is reported as zone transitions (AUDIT)
    criterion: float | None  # reliable-change points; None: no criterion
    criterion_source: str | None

    @property
    def comparisons(self) -> tuple[str, ...]:
        """The comparisons this scale's later scores can have, baseline first (its legend)."""
        if self.zones:
            return (BASELINE, HIGHER_ZONE, LOWER_ZONE, SAME_ZONE)
        if self.criterion is None:
            return (BASELINE, NO_CRITERION)
        return (BASELINE, IMPROVED, DETERIORATED, NO_CHANGE)

    @property
    def criterion_text(self) -> str:
        """The change criterion in words, with its source beside the figure (clinical-reference 1.7)."""
        if self.zones:
            return _("not a change measure: zone transitions (clinical-reference 4)")
        if self.criterion is None:
            if self.not_applicable:
                return _("none for the {sum}").format(sum=self.sum_name)
            return _("none in the reference (a service may configure an RCI, clinical-reference 1.7)")
        return _("{figure} points ({source})").format(
            figure=points_text(self.criterion), source=self.criterion_source or _("source not recorded")
        )


def scale_of(instrument: str, not_applicable: bool = False) -> Scale:
    """The scale of ``instrument``'s total, or of its sum without the not-applicable item
    (its names in the run's language: a scale is built where it is shown, never cached)."""
    inst = INSTRUMENTS[instrument]
    if not_applicable and inst.not_applicable_item:
        item = inst.not_applicable_item
        sum_name = _("{n}-item sum").format(n=inst.n_items - 1)
        what = band_words(inst.item_labels[item - 1]) if inst.item_labels else _("item {n}").format(n=item)
        return Scale(
            instrument,
            True,
            _("{instrument}, {item} not applicable ({sum})").format(instrument=inst.name, item=what, sum=sum_name),
            sum_name,
            inst.max_total - max(inst.options(item)),
            (),
            None,
            None,
            False,
            None,
            None,
        )
    return Scale(
        instrument,
        False,
        inst.name,
        _("total"),
        inst.max_total,
        inst.bands,
        inst.caseness,
        inst.caseness_label,
        not inst.change_instrument and bool(inst.bands),
        inst.reliable_change if inst.change_instrument else None,
        inst.reliable_change_source,
    )


def answered(episode: pd.DataFrame, primary: str | None) -> list[str]:
    """Every registry instrument with a valid response in the episode: the programme's
    primary measure first, then PHQ-9 and GAD-7, then the registry's order."""
    present = set(episode.loc[episode["valid"], "instrument"]) if "valid" in episode else set(episode["instrument"])
    order = dict.fromkeys([primary, "PHQ9", "GAD7", *INSTRUMENTS])
    return [code for code in order if code in INSTRUMENTS and code in present]


def series_rows(episode: pd.DataFrame, scale: Scale) -> pd.DataFrame:
    """The episode's responses on this scale, oldest first. Numpy masks and order: a
    patient page asks this about two dozen times of a few dozen rows (already in time
    order as read), where each pandas filter or sort costs more than the rows."""
    keep = episode["instrument"].to_numpy() == scale.instrument
    if "not_applicable" in episode:
        keep &= episode["not_applicable"].to_numpy(dtype=bool) == scale.not_applicable
    elif scale.not_applicable:
        keep[:] = False
    rows = episode[keep]
    keys = [rows["administered_at"].to_numpy()]
    if "response_id" in rows:
        keys.insert(0, rows["response_id"].to_numpy())
    order = np.lexsort(keys)
    return rows if (order == np.arange(len(order))).all() else rows.iloc[order]


def scales(episode: pd.DataFrame, primary: str | None) -> list[Scale]:
    """One scale per trajectory the patient has: each instrument answered, and its
    shorter sum where the not-applicable item was not applicable."""
    both = [
        (scale_of(c), scale_of(c, True)) if INSTRUMENTS[c].not_applicable_item else (scale_of(c),)
        for c in answered(episode, primary)
    ]
    return [scale for pair in both for scale in pair if not series_rows(episode, scale).empty]


def band_of(scale: Scale, score: float, escalated: bool = False) -> str | None:
    """The band (AUDIT: the zone, one up when the item rule fired) of a score on this scale;
    None where the scale has no bands."""
    return band_label(scale.instrument, score, not_applicable=scale.not_applicable, escalated=escalated)


def zone_index(scale: Scale, band: str | None) -> int | None:
    labels = [b.label for b in scale.bands]
    return labels.index(band) if band in labels else None


def comparison(scale: Scale, baseline: float, score: float, base_band: str | None, band: str | None) -> str:
    """How a later score compares with the baseline on this scale (a COMPARISONS key)."""
    if scale.zones:
        before, after = zone_index(scale, base_band), zone_index(scale, band)
        if before is None or after is None or before == after:
            return SAME_ZONE
        return HIGHER_ZONE if after > before else LOWER_ZONE
    if scale.not_applicable:
        return NO_CRITERION
    return reliable_change(scale.instrument, baseline, score)


@dataclass(frozen=True)
class Transition:
    """A change of zone between two consecutive responses (AUDIT, clinical-reference 4)."""

    at: pd.Timestamp
    before: str
    after: str
    steps: int  # zones moved: positive up, negative down

    @property
    def words(self) -> str:
        return f"{band_words(self.before)} \u2192 {band_words(self.after)} ({moved(self.steps)})"


def escalation_text(instrument: str) -> str:
    """The instrument's one-zone-up rules in words, from the registry (AUDIT: "one of items
    4, 5, 6 at 2 or more, or one of items 9, 10 at 4 or more", clinical-reference 4)."""
    parts = [
        (
            _("one of items {items} at {at_least} or more")
            if rule.of == "any"
            else _("the sum of items {items} at {at_least} or more")
        ).format(items=", ".join(map(str, rule.items)), at_least=rule.at_least)
        for rule in INSTRUMENTS[instrument].escalation
    ]
    return _(", or ").join(parts)


def moved(steps: int) -> str:
    """Zones moved in words: "1 zone up", "2 zones down", "same zone"."""
    if not steps:
        return _("same zone")
    if steps > 0:
        return ngettext("{n} zone up", "{n} zones up", steps).format(n=steps)
    return ngettext("{n} zone down", "{n} zones down", -steps).format(n=-steps)


def zone_transitions(scale: Scale, rows: pd.DataFrame) -> list[Transition]:
    """Each change of zone from one response to the next, with the item rule applied."""
    if not scale.zones:
        return []
    bands = bands_of(scale, rows)
    return [
        Transition(at, before, after, zone_index(scale, after) - zone_index(scale, before))
        for at, before, after in zip(rows["administered_at"].iloc[1:], bands, bands[1:])
        if before != after and before is not None and after is not None
    ]


def _escalated(rows: pd.DataFrame) -> list[bool]:
    return [bool(e) for e in rows["escalated"]] if "escalated" in rows else [False] * len(rows)


def bands_of(scale: Scale, rows: pd.DataFrame) -> list[str | None]:
    """Each response's band or zone on this scale (the item rule applied)."""
    return [band_of(scale, float(s), e) for s, e in zip(rows["score"], _escalated(rows))]
