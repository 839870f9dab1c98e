"""Chart builders: DataFrame in, Vega-Lite spec (a plain dict) out; no data access,
no Streamlit, no Altair.

A spec is written as a dict because Altair took about 140 ms to build and validate
each chart (the patient page draws four); a dict takes a few milliseconds, and it
is what ``st.vega_lite_chart`` and vl-convert read. Its rows are plain Python values
(dates as ISO strings without an offset, which Vega-Lite reads as wall time), so the
spec is JSON as it stands; tests/test_charts.py validates every builder's spec
against the Vega-Lite schema, which Altair did at run time.

Data sits inline in each layer (``data.values``), not in named ``datasets`` or at the top
level: Streamlit re-encodes those as Arrow on every run, about 2 ms a table (the one
single-view chart keeps a named dataset: see weekly_activity_chart).

Colour is never the only carrier of meaning: bands are labelled in text, and
reliable change, prorated scores and risk answers each have their own shape.
The band shading is a single-hue ramp (lightness only), safe for colour-blind
readers; marks use the Okabe-Ito palette.

Each chart carries a ``description``: Vega writes it as the chart's aria-label,
so a screen reader hears the figures in words (docs/accessibility.md).
"""

from __future__ import annotations

import math
import textwrap
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from dashboard import i18n
from dashboard.i18n import N_, ngettext
from dashboard.i18n import gettext as _
from dashboard.measures import INSTRUMENTS, Instrument, band_words, display_score
from dashboard.outcomes import DETERIORATED, IMPROVED, NO_CHANGE, NO_CRITERION, weeks_after
from dashboard.timeutil import UTC_ZONE, local_wall
from dashboard.trajectory import (
    BASELINE,
    ESCALATION_WORDS,
    HIGHER_ZONE,
    LOWER_ZONE,
    SAME_ZONE,
    Scale,
    bands_of,
    comparison,
    comparison_legend,
    comparison_words,
    points_text,
    scale_of,
    series_rows,
)

Spec = dict[str, Any]

VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.4.1.json"  # what Streamlit 1.67 draws
BAND_SHADES = ["#f4f4f4", "#fdebd9", "#fbd2ad", "#f6b47f", "#ee9453"]
INK = "#222222"
OKABE_BLUE, OKABE_VERMILLION, OKABE_GREEN = "#0072B2", "#D55E00", "#009E73"
OKABE_PURPLE = "#CC79A7"  # follow-up scores after the episode end
# A later score's shape says how it compares with the baseline (trajectory.COMPARISONS):
# down is better on every instrument here (higher = more severe, clinical-reference conventions).
COMPARISON_SHAPES = {
    BASELINE: "square",
    IMPROVED: "triangle-down",
    DETERIORATED: "triangle-up",
    NO_CHANGE: "circle",
    NO_CRITERION: "circle",
    HIGHER_ZONE: "triangle-up",
    LOWER_ZONE: "triangle-down",
    SAME_ZONE: "circle",
}


# ---------------------------------------------------------------- shared pieces


def plain(value: Any) -> Any:
    """One cell as JSON: a time as its ISO wall time, a missing value as None, a
    numpy or pandas scalar as the Python number it holds."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, datetime):  # pd.Timestamp too
        return value.isoformat()
    if isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if hasattr(value, "item"):  # numpy scalar
        return plain(value.item())
    return None if pd.isna(value) else value


def rows(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    """The frame's ``columns`` as a Vega-Lite ``values`` list, in its row order."""
    cells = [[plain(v) for v in frame[c].tolist()] for c in columns]
    return [dict(zip(columns, row)) for row in zip(*cells)]


def wall_times(times: pd.Series, tz: ZoneInfo) -> list[str | None]:
    """Stored UTC times as the service zone's wall times in ISO form, so the axis and
    tooltips name that zone's days (``timeutil.local_wall``)."""
    return [plain(t) for t in local_wall(times, tz).tolist()]


def values(data: list[dict[str, Any]]) -> Spec:
    return {"values": data}


def field(name: str, kind: str, **props: Any) -> Spec:
    """An encoding channel on a data field; ``kind``: quantitative, nominal, ordinal, temporal."""
    return {"field": name, "type": kind, **props}


def tip(name: str, kind: str, title: str | None = None, fmt: str | None = None) -> Spec:
    """A tooltip line (title and format only where given, as Vega-Lite's defaults differ)."""
    line = field(name, kind)
    if title is not None:
        line["title"] = title
    if fmt is not None:
        line["format"] = fmt
    return line


def date_axis(**props: Any) -> Spec:
    """Days as "05 Nov" ("2.12." in Finnish), horizontal, never overprinting each other."""
    return {"format": i18n.d3_day_format(year=False), "labelSeparation": 8, **props}


DEFAULT_TICKS = "ceil(width / 40)"  # Vega-Lite's tick count on a continuous axis


def day_ticks(times: list[str | None]) -> Spec:
    """Axis properties naming each day once over the span ``times`` cover (ISO wall times).

    Vega-Lite's ticks (one per 40 px) over a few days fall every few hours, each labelled
    with its day: "04 Nov" four times. At most one tick per whole day spanned makes d3 step
    a day or more (a long span keeps its own count); under a day, one tick per day named,
    at that day's first time."""
    stamps = sorted(pd.Timestamp(t) for t in times if t is not None)
    if not stamps:
        return {}
    days = (stamps[-1] - stamps[0]) / pd.Timedelta(days=1)
    if days >= 1:
        return {"tickCount": {"expr": f"min({DEFAULT_TICKS}, {math.floor(days)})"}}
    first_of_day: dict[Any, pd.Timestamp] = {}
    for stamp in stamps:
        first_of_day.setdefault(stamp.date(), stamp)
    return {"values": [plain(s) for s in first_of_day.values()]}


def legible(spec: Spec) -> Spec:
    """A top-level spec with axis, legend and title text in INK: Streamlit's chart theme
    draws them in #808495, 3.7:1 on white, under WCAG AA's 4.5:1 for small text."""
    return {
        "$schema": VEGA_LITE_SCHEMA,
        "config": {
            "view": {"continuousWidth": 300, "continuousHeight": 300},
            "axis": {"labelColor": INK, "titleColor": INK},
            "legend": {"labelColor": INK, "titleColor": INK},
            "title": {"color": INK},
            "locale": {"time": i18n.vega_time_locale(), "number": i18n.vega_number_locale()},  # the run's language
        },
        **spec,
    }


def rule_layer(y: Spec, color: str, dash: list[int], description: str | None = None) -> Spec:
    """A horizontal dashed line (a cut-off, a standard) at the value ``y`` encodes."""
    mark: Spec = {"type": "rule", "color": color, "strokeDash": dash}
    if description is not None:
        mark["description"] = description
    return {"mark": mark, "encoding": {"y": y}}


def _day(ts) -> str:
    """A day in a chart's words: "05 Nov 2026" in English, the language's own in another."""
    stamp = pd.Timestamp(ts)
    return _("an unknown date") if pd.isna(stamp) else i18n.format_day(stamp.to_pydatetime())


# ---------------------------------------------------------------- symptom trajectory


Point = dict[str, Any]  # one response as the chart draws it (trajectory_points), in the run's language
NO_BANDS = N_("no bands defined")
ALL_ITEMS = N_("all items answered")  # a point's "prorated" words when no item was missing


def trajectory_description(
    inst_name: str, points: list[Point], caseness: float | None, risk_count: int, clinic_count: int, bands: bool = True
) -> str:
    """The trajectory in words: first and last score, change, and what else is marked."""
    if not points:
        return _("{instrument} score over time: no valid questionnaire yet.").format(instrument=inst_name)
    first, last = points[0], points[-1]
    text = ngettext(
        "{instrument} score over time: {n} valid questionnaire from {first} to {last}; baseline {baseline} "
        "({baseline_band}), latest {latest} ({latest_band}), {versus}.",
        "{instrument} score over time: {n} valid questionnaires from {first} to {last}; baseline {baseline} "
        "({baseline_band}), latest {latest} ({latest_band}), {versus}.",
        len(points),
    ).format(
        instrument=inst_name,
        n=i18n.format_number(len(points)),
        first=_day(first["date"]),
        last=_day(last["date"]),
        baseline=first["shown"],
        baseline_band=first["band"],
        latest=last["shown"],
        latest_band=last["band"],
        versus=last["kind"],
    )
    if caseness is not None:
        text += _(" Dashed line at the cut-off {cut_off}.").format(cut_off=points_text(caseness))
    if not bands:
        text += _(" No bands: the reference defines none for this score.")
    if risk_count:
        text += ngettext(
            " {n} risk answer above 0 marked with diamonds, listed below the chart.",
            " {n} risk answers above 0 marked with diamonds, listed below the chart.",
            risk_count,
        ).format(n=i18n.format_number(risk_count))
    if clinic_count:
        text += ngettext(
            " {n} clinic score marked with crosses.", " {n} clinic scores marked with crosses.", clinic_count
        ).format(n=i18n.format_number(clinic_count))
    return text


def trajectory_points(scale: Scale, episode: pd.DataFrame, tz: ZoneInfo = UTC_ZONE) -> list[Point]:
    """One row per valid response on this scale with what the chart shows about it, oldest
    first; ``date`` is the service zone's wall time, so every day the chart names is that
    zone's day. ``kind`` says how it compares with the baseline: reliable change where the
    scale has a criterion, "no reliable-change criterion" where it has none, the zone
    transition on AUDIT (its zone with the item rule applied)."""
    responses = series_rows(episode, scale)
    if responses.empty:
        return []
    scores = [float(s) for s in responses["score"].tolist()]
    bands = bands_of(scale, responses)
    up = [bool(e) for e in responses["escalated"]] if "escalated" in responses else [False] * len(scores)
    kinds = [BASELINE] + [comparison(scale, scores[0], s, bands[0], b) for s, b in zip(scores[1:], bands[1:])]
    no_bands = _("no bands, {sum}").format(sum=scale.sum_name) if scale.not_applicable else _(NO_BANDS)
    return [
        {
            "date": date,
            "score": score,
            "shown": display_score(score),
            "band": (band_words(band) + (", " + _(ESCALATION_WORDS) if escalated else "")) if band else no_bands,
            "kind": comparison_words(kind),
            "prorated": _("prorated (missing items)") if prorated else _(ALL_ITEMS),
            "marker": comparison_legend(kind),
            "escalated": escalated,
        }
        for date, score, kind, prorated, band, escalated in zip(
            wall_times(responses["administered_at"], tz), scores, kinds, responses["prorated"].tolist(), bands, up
        )
    ]


def band_rows(scale: Scale) -> list[dict[str, Any]]:
    """Each severity band's edges on the chart's scale (half a point outside the scores
    it holds, so a score sits inside its band), its name, shade and middle."""
    top = scale.top + 0.5
    lows = [b.low for b in scale.bands]
    highs = [low - 0.5 for low in lows[1:]] + [top]
    shades = BAND_SHADES[: len(lows)] if len(lows) <= len(BAND_SHADES) else BAND_SHADES * 2
    bands = []
    for i, (band, high, shade) in enumerate(zip(scale.bands, highs, shades)):
        low = max(band.low - 0.5, -0.5) if i else -0.5
        mid = (max(low, 0) + min(high, scale.top)) / 2
        bands.append({"low": low, "high": high, "band": band_words(band.label), "shade": shade, "mid": mid})
    return bands


RISK_STRIP = 3.0  # score points above the scale's top, where the risk answers sit clear of the trajectory
LEGEND_COLUMNS = 2
LEGEND_ROW_CHARS = 40  # two columns' longest labels together beyond this overflow a 390 px column: one column


def legend_columns(markers: list[str]) -> int:
    """Two legend columns, or one where the entries are too long for two side by side
    (a language's longer words: Finnish "ei luotettavaa muutosta")."""
    widest = [max((len(m) for m in markers[i::LEGEND_COLUMNS]), default=0) for i in range(LEGEND_COLUMNS)]
    return LEGEND_COLUMNS if sum(widest) <= LEGEND_ROW_CHARS else 1


TITLE_PX, SUBTITLE_PX, AXIS_PX, LEGEND_ROW_PX = 24, 16, 30, 30  # room each takes, for a plot of the height asked
TICK_STEP = 5  # y ticks every 5 points on every instrument (0, 5, ..., 25 on PHQ-9)


def risk_marker(inst: Instrument) -> str:
    return _("item {n} above 0").format(n=inst.risk_item)


# legend entries, in English (shown as _(...)); short: the legend cuts labels at 150 px
CLINIC_MARKER = N_("clinic PHQ-9 (GP)")
ESCALATION_MARKER = N_("zone up by item rule")  # AUDIT: an arrow over a score whose zone the rule moved up
FOLLOW_UP_MARKER = N_("follow-up after the end")


def follow_up_points(
    scale: Scale, follow_up: pd.DataFrame, ended_at: datetime, baseline: Point | None, tz: ZoneInfo = UTC_ZONE
) -> list[Point]:
    """The follow-up scores on this scale (patient.follow_up_responses), each labelled
    "follow-up, N weeks after end" and compared with the episode's baseline."""
    rows = series_rows(follow_up, scale)
    if rows.empty:
        return []
    scores = [float(v) for v in rows["score"].tolist()]
    bands = bands_of(scale, rows)
    return [
        {
            "date": date,
            "score": score,
            "shown": display_score(score),
            "band": band_words(band) or _(NO_BANDS),
            "kind": comparison_words(comparison(scale, baseline["score"], score, baseline["raw_band"], band))
            if baseline is not None
            else _("no baseline in the episode"),
            "label": ngettext(
                "follow-up, {n} week after end", "follow-up, {n} weeks after end", weeks_after(at, ended_at)
            ).format(n=weeks_after(at, ended_at)),
            "marker": _(FOLLOW_UP_MARKER),
        }
        for date, at, score, band in zip(
            wall_times(rows["administered_at"], tz), rows["administered_at"], scores, bands
        )
    ]


BAND_LINE_CHARS = 14  # a band name's words packed into lines this long (the longest word, psychopathology, is 15)


def band_lines(label: str) -> list[str]:
    """A band's name as the lines the right axis draws: "zone III" / "harmful", never
    one word a line, so AUDIT's narrow zone III (16-19) has room beside zone IV."""
    return textwrap.wrap(label, BAND_LINE_CHARS, break_long_words=False) or [label]


def band_label_expr(bands: list[dict[str, Any]]) -> str:
    """Vega expression naming the band whose middle is ``datum.value``, as its lines (band_lines)."""
    cases = " : ".join(f"datum.value == {b['mid']:g} ? {band_lines(b['band'])!r}" for b in bands)
    return f"{cases} : ''"


def band_layer(bands: list[dict[str, Any]], y_scale: Spec) -> Spec:
    """The severity bands as shaded rectangles, named on a right-hand axis of their own."""
    axis = {
        "orient": "right",
        "title": None,
        "values": [b["mid"] for b in bands],
        "labelExpr": band_label_expr(bands),
        "ticks": False,
        "domain": False,
        "grid": False,
        "labelOverlap": False,
        "labelFontSize": 10,
        "labelLineHeight": 11,
    }
    return {
        "data": values([{k: b[k] for k in ("low", "high", "band", "shade")} for b in bands]),
        "mark": {"type": "rect", "opacity": 0.9, "clip": True},
        "encoding": {
            "y": field("low", "quantitative", scale=y_scale, axis=axis),
            "y2": {"field": "high"},
            "color": field("shade", "nominal", scale=None),
            "tooltip": [tip("band", "nominal", _("Band"))],
        },
    }


SUBTITLE_CHARS = 56  # a subtitle line longer than this is wrapped: a 390 px window cuts it with an ellipsis


def trajectory_subtitle(points: list[Point], caseness: float | None) -> list[str]:
    """Baseline, latest and the cut-off in words, above the plot where no mark can cover
    them, each line wrapped so a phone shows all of it (the date at a line's end too)."""
    if not points:
        return [_("no valid questionnaire yet")]
    first, last = points[0], points[-1]
    lines = [
        _("Baseline {score} ({band}), {day}").format(score=first["shown"], band=first["band"], day=_day(first["date"]))
    ]
    if len(points) > 1:
        versus = "" if last["kind"] == comparison_words(NO_CRITERION) else f": {last['marker']}"  # the legend says so
        lines.append(
            _("Latest {score} ({band}), {day}").format(score=last["shown"], band=last["band"], day=_day(last["date"]))
            + versus
        )
    notes = [_("dashed line: cut-off {cut_off}").format(cut_off=points_text(caseness))] if caseness is not None else []
    if any(p["prorated"] != _(ALL_ITEMS) for p in points):
        notes.append(_("hollow marker: prorated (items missing)"))
    lines += [" · ".join(notes).capitalize()] if notes else []
    return [part for line in lines for part in textwrap.wrap(line, SUBTITLE_CHARS, subsequent_indent="  ")]


def point_layer(data: list[dict[str, Any]], mark: Spec, x: Spec, y: Spec, shape: Spec, tooltip: list[Spec]) -> Spec:
    """One kind of marker on the trajectory: its shape from the one legend, its date first in the tooltip."""
    return {
        "data": values(data),
        "mark": {"type": "point", **mark},
        "encoding": {
            "x": x,
            "y": y,
            "shape": shape,
            "tooltip": [tip("date", "temporal", _("Date"), i18n.d3_day_format()), *tooltip],
        },
    }


def trajectory_chart(
    instrument: str,
    episode: pd.DataFrame,
    risk_answers: pd.DataFrame | None = None,
    clinic: pd.DataFrame | None = None,
    tz: ZoneInfo = UTC_ZONE,
    height: int = 240,
    not_applicable: bool = False,
    follow_up: pd.DataFrame | None = None,
    ended_at: datetime | None = None,
) -> Spec:
    """Score over time for one instrument, with no text inside the plot, so no label can
    overprint another: band names on the right axis, baseline and latest in the subtitle,
    markers and the cut-off in the legend, each risk answer's value in its tooltip.

    ``risk_answers``: rows with ``date`` and ``item_score`` (risk item > 0), drawn
    as diamonds in a strip above the scale. ``clinic``: rows with ``date`` and
    ``score`` taken by a GP in clinic, drawn as crosses apart from the line: they
    never enter baseline, outcomes or flags. ``tz``: the service time zone, whose days
    the axis, tooltips and subtitle name (the clinic dates are already its days).
    ``not_applicable``: the responses whose not-applicable item was not applicable (WSAS
    work), as their shorter sum on its own scale, without the full total's bands or line.
    Bands, the cut-off line and the change markers are the scale's (dashboard.trajectory):
    none where the reference defines none; AUDIT's markers are zone transitions, and an
    arrow marks a zone the item rule moved up. ``follow_up``: scores after the episode
    ``ended_at`` (patient.follow_up_responses), drawn apart from the episode's line with their
    weeks after the end, and a dotted rule marks the end; they never enter baseline or latest.
    """
    inst = INSTRUMENTS[instrument]
    scale = scale_of(instrument, not_applicable)
    points = trajectory_points(scale, episode, tz)
    has_risk = risk_answers is not None and not risk_answers.empty
    has_clinic = clinic is not None and not clinic.empty
    has_escalation = any(p["escalated"] for p in points)
    first = None
    if points:
        first = {**points[0], "raw_band": bands_of(scale, series_rows(episode, scale))[0]}
    later = (
        follow_up_points(scale, follow_up, ended_at, first, tz)
        if follow_up is not None and ended_at is not None
        else []
    )
    end_rule = (
        [{"date": wall_times(pd.Series([pd.Timestamp(ended_at)]), tz)[0], "label": _("episode end")}] if later else []
    )
    top = scale.top + 0.5 + (RISK_STRIP if has_risk else 0)
    y_scale = {"domain": [0, top], "nice": False}
    clinic_marks = (
        [
            {"date": plain(date), "score": plain(score), "marker": _(CLINIC_MARKER), "label": _("clinic")}
            for date, score in zip(clinic["date"].tolist(), clinic["score"].tolist())
        ]
        if has_clinic
        else []
    )
    strip = scale.top + 0.5 + RISK_STRIP / 2
    risk = (
        [
            {"date": date, "marker": risk_marker(inst), "top": strip, "answer": int(answer)}
            for date, answer in zip(wall_times(risk_answers["date"], tz), risk_answers["item_score"].tolist())
        ]
        if has_risk
        else []
    )
    dates = [row["date"] for row in [*points, *clinic_marks, *risk, *later, *end_rule]]  # every layer's x, on one scale
    # Padding: a point on the first or last day (a follow-up answered today) is drawn whole
    # inside the plot, not cut by its edge under the band names.
    x = field(
        "date",
        "temporal",
        title=None,
        scale={"padding": 10},
        axis=date_axis(labelAngle=0, labelOverlap=True, **day_ticks(dates)),
    )
    # the legend's entries are the markers' words in the run's language (the data's "marker" too)
    markers = (
        [comparison_legend(k) for k in scale.comparisons]
        + ([_(ESCALATION_MARKER)] if has_escalation else [])
        + ([_(CLINIC_MARKER)] if has_clinic else [])
        + ([risk_marker(inst)] if has_risk else [])
        + ([_(FOLLOW_UP_MARKER)] if later else [])
    )
    styles = {
        **{comparison_legend(k): (COMPARISON_SHAPES[k], OKABE_BLUE) for k in scale.comparisons},
        _(ESCALATION_MARKER): ("arrow", INK),
        _(CLINIC_MARKER): ("cross", INK),
        risk_marker(inst): ("diamond", OKABE_VERMILLION),
        _(FOLLOW_UP_MARKER): ("triangle-right", OKABE_PURPLE),
    }
    # One legend, from the shape channel, each symbol coloured like its marks (a colour
    # channel's legend is not merged into it in Streamlit, so every marker was listed twice).
    # Vega-Lite copies the first marker layer's fill into the legend's symbols, where
    # datum.value is the entry: the expression colours a mark by its marker, a symbol by its entry.
    by_marker = (
        " : ".join(f"(datum.marker || datum.value) == {m!r} ? {styles[m][1]!r}" for m in markers) + f" : {INK!r}"
    )
    columns = legend_columns(markers)
    legend = {"title": None, "orient": "bottom", "columns": columns, "labelLimit": 150, "symbolSize": 100}
    shape = field(
        "marker", "nominal", scale={"domain": markers, "range": [styles[m][0] for m in markers]}, legend=legend
    )
    hidden_y = {"scale": y_scale, "axis": None}  # the other layers draw no y axis of their own
    score_y = field("score", "quantitative", **hidden_y)
    layers: list[Spec] = []
    if scale.bands:
        layers.append(band_layer(band_rows(scale), y_scale))
    if scale.cut_off is not None:
        label = _("cut-off {cut_off}").format(cut_off=points_text(scale.cut_off))
        layers.append(
            {"data": values([{"line": label}])}
            | rule_layer({"datum": plain(scale.cut_off), **hidden_y}, INK, [6, 4], description=label)
        )
    y_title = (
        f"{inst.name} {scale.sum_name}"
        if scale.not_applicable
        else _("{instrument} score").format(instrument=inst.name)
    )
    if points:
        data = values(points)
        y_axis = {"values": list(range(0, scale.top + 1, TICK_STEP)), "title": y_title}
        layers.append(
            {
                "data": data,
                "mark": {"type": "line", "color": OKABE_BLUE, "strokeWidth": 2},
                "encoding": {
                    "x": x,
                    "y": field("score", "quantitative", scale=y_scale, title=y_title, axis=y_axis),
                },
            }
        )
        hollow = f"datum.prorated && datum.prorated != {_(ALL_ITEMS)!r}"  # prorated: white inside
        fill = {"expr": f"{hollow} ? 'white' : ({by_marker})"}
        mark = {"size": 90, "strokeWidth": 2, "filled": True, "stroke": {"expr": by_marker}, "fill": fill}
        tooltip = [
            tip("shown", "quantitative", _("Score")),
            tip("band", "nominal", _("Band")),
            tip("kind", "nominal", _("Versus baseline")),
            tip("prorated", "nominal", _("Items")),
        ]
        layers.append(point_layer(points, mark, x, score_y, shape, tooltip))
    if has_escalation:  # an arrow just above each score whose zone the item rule moved up
        arrows = [{**p, "marker": _(ESCALATION_MARKER)} for p in points if p["escalated"]]
        mark = {"size": 110, "filled": True, "color": INK, "yOffset": -16}
        layers.append(point_layer(arrows, mark, x, score_y, shape, [tip("band", "nominal", _("Zone"))]))
    if has_clinic:
        mark = {"shape": "cross", "size": 160, "filled": True, "color": INK}
        tooltip = [tip("score", "quantitative", _("Clinic PHQ-9")), tip("label", "nominal", _("Source"))]
        layers.append(point_layer(clinic_marks, mark, x, score_y, shape, tooltip))
    if later:
        layers.append(
            {
                "data": values(end_rule),
                "mark": {"type": "rule", "color": INK, "strokeDash": [2, 3], "description": _("episode end")},
                "encoding": {"x": x, "tooltip": [tip("date", "temporal", _("Episode end"), i18n.d3_day_format())]},
            }
        )
        mark = {"size": 110, "strokeWidth": 2, "filled": True, "color": OKABE_PURPLE}
        tooltip = [
            tip("shown", "quantitative", _("Score")),
            tip("band", "nominal", _("Band")),
            tip("kind", "nominal", _("Versus baseline")),
            tip("label", "nominal", _("When")),
        ]
        layers.append(point_layer(later, mark, x, score_y, shape, tooltip))
    if has_risk:
        mark = {"shape": "diamond", "size": 120, "filled": True, "opacity": 0.85, "color": OKABE_VERMILLION}
        tooltip = [tip("answer", "quantitative", _("Item {n} answer").format(n=inst.risk_item))]
        layers.append(point_layer(risk, mark, x, field("top", "quantitative", **hidden_y), shape, tooltip))
    description = trajectory_description(
        scale.name,
        points,
        scale.cut_off,
        len(risk_answers) if has_risk else 0,
        len(clinic) if has_clinic else 0,
        bool(scale.bands),
    )
    subtitle = trajectory_subtitle(points, scale.cut_off)
    if later:
        last = later[-1]
        description += ngettext(
            " {n} follow-up score after the episode end on {day}, marked with purple triangles; "
            "the latest {score} ({band}), {when}.",
            " {n} follow-up scores after the episode end on {day}, marked with purple triangles; "
            "the latest {score} ({band}), {when}.",
            len(later),
        ).format(
            n=i18n.format_number(len(later)),
            day=_day(ended_at),
            score=last["shown"],
            band=last["band"],
            when=last["label"],
        )
        subtitle += textwrap.wrap(
            _("Follow-up {score} ({band}), {day}: {when}; dotted line: episode end").format(
                score=last["shown"], band=last["band"], day=_day(last["date"]), when=last["label"]
            ),
            SUBTITLE_CHARS,
            subsequent_indent="  ",
        )
    # Streamlit fits the whole chart (title and legend included) into its height: add theirs to the plot's
    outer = height + TITLE_PX + SUBTITLE_PX * len(subtitle) + AXIS_PX + LEGEND_ROW_PX * -(-len(markers) // columns)
    return legible(
        {
            "layer": layers,
            "height": outer,
            "title": {"text": scale.name, "anchor": "start", "subtitle": subtitle},
            "description": description,
            "resolve": {"axis": {"y": "independent"}},
        }
    )


# ---------------------------------------------------------------- engagement


# Whole events: no "0.5" logins, no "0.000000". A count up to 1 still gets a tick at 0.5 (tickMinStep
# allows two steps over one unit), so a tick between whole numbers is left unlabelled.
COUNT_AXIS = {"format": "d", "tickMinStep": 1, "labelExpr": "datum.value % 1 ? '' : datum.label"}


def weekly_activity(weekly: pd.DataFrame) -> bool:
    """Whether there is a login or an exercise to chart: an all-zero chart says less than a sentence."""
    return bool(weekly[["logins", "exercises"]].to_numpy().sum())


ACTIVITY_SERIES = {"logins": N_("logins"), "exercises": N_("exercises")}  # a column: its legend entry


def weekly_activity_chart(weekly: pd.DataFrame, height: int = 220) -> Spec:
    """Logins and exercises side by side per treatment week, counted in whole events."""
    weeks = [plain(w) for w in weekly["week"].tolist()]
    long = [  # "kind" holds the series' name as the legend shows it
        {"week": week, "kind": _(ACTIVITY_SERIES[kind]), "count": plain(count)}
        for kind in ("logins", "exercises")
        for week, count in zip(weeks, weekly[kind].tolist())
    ]
    logins, exercises = int(weekly["logins"].sum()), int(weekly["exercises"].sum())
    series = [_(ACTIVITY_SERIES["exercises"]), _(ACTIVITY_SERIES["logins"])]  # English's alphabetical order
    # A single view, not a layer of one (Streamlit lays out a layer's plot taller in the same
    # height), with its data as a named dataset, as Altair wrote it: Streamlit draws top-level
    # ``values`` a pixel apart. Either way it is sent as Arrow (about 2 ms a run).
    return legible(
        {
            "data": {"name": "weekly"},
            "datasets": {"weekly": long},
            "mark": {"type": "bar"},
            "encoding": {
                "x": field("week", "ordinal", title=_("Treatment week"), axis={"labelAngle": 0}),
                "xOffset": field("kind", "nominal", sort=series),
                "y": field("count", "quantitative", title=_("Events"), axis=COUNT_AXIS),
                "color": field(
                    "kind",
                    "nominal",
                    title=None,
                    # the series in a fixed order, so each keeps its colour in every language
                    scale={"domain": series, "range": [OKABE_BLUE, OKABE_GREEN]},
                    legend={"orient": "bottom"},
                ),
                "tooltip": [
                    tip("week", "ordinal", _("week")),
                    tip("kind", "nominal", _("kind")),
                    tip("count", "quantitative", _("count")),
                ],
            },
            "height": height,
            "description": (
                ngettext(
                    "Logins and exercises per treatment week, {n} week: ",
                    "Logins and exercises per treatment week, {n} weeks: ",
                    len(weekly),
                ).format(n=i18n.format_number(len(weekly)))
                + ngettext("{n} login", "{n} logins", logins).format(n=i18n.format_number(logins))
                + _(" and ")
                + ngettext("{n} exercise", "{n} exercises", exercises).format(n=i18n.format_number(exercises))
                + _(" in all. Each week's numbers are also in a table.")
            ),
        }
    )


# ---------------------------------------------------------------- module timeline

STATE_STYLE = {  # state: (colour, shape); every state differs in both, and is written on its row
    "completed": (OKABE_BLUE, "square"),
    "completed late": ("#882255", "triangle-down"),
    "in progress": (OKABE_GREEN, "triangle-right"),
    "overdue (started)": (OKABE_VERMILLION, "triangle-up"),
    "overdue (not started)": (INK, "diamond"),
    "not started": ("#6b6b6b", "circle"),
}
MODULE_ROW_PX = 40  # two label lines (title, state) and a gap


def module_timeline_chart(
    timeline: pd.DataFrame, now, tz: ZoneInfo = UTC_ZONE, height_per_module: int = MODULE_ROW_PX
) -> Spec:
    """Each module's start-to-completion bar against its due date (a tick), ending in
    a marker whose colour and shape both say the state; the state is also written
    under the module's title, on the same row. Times are drawn as ``tz`` wall times,
    so the axis and tooltips name the service zone's days."""
    now = local_wall(pd.Series([pd.Timestamp(now)]), tz).iloc[0]
    walls = {c: local_wall(timeline[c], tz).tolist() for c in ("due_at", "started_at", "completed_at")}
    modules = []  # one dict a module: its row's fields as wall-time Timestamps (or NaT)
    for position, title, state, due_at, started_at, completed_at in zip(
        timeline["position"].tolist(), timeline["title"].tolist(), timeline["state"].tolist(), *walls.values()
    ):
        module = f"{position}. {title}"
        shown = _(state)  # the state's words; ``state`` stays its code for the colour and shape
        end = pd.NaT if pd.isna(started_at) else (now if pd.isna(completed_at) else completed_at)
        modules.append(
            {
                "module": module,
                "state": state,
                "state_words": shown,
                "due_at": due_at,
                "started_at": started_at,
                "completed_at": completed_at,
                "row": f"{module}|{shown}",
                "start": started_at,
                "end": end,
                "marker_at": due_at if pd.isna(end) else end,
            }
        )
    y = field(
        "row",
        "nominal",
        sort=[m["row"] for m in modules],
        title=None,
        axis={"labelExpr": "split(datum.label, '|')", "labelLimit": 220, "labelOverlap": False, "labelLineHeight": 13},
    )
    times = [t for t in [*walls["due_at"], *walls["started_at"], now] if not pd.isna(t)]  # due dates may be unknown
    x_scale = {"domain": [plain(min(times) - pd.Timedelta(days=7)), plain(max(times) + pd.Timedelta(days=4))]}
    # No legend: each row names its state beside its marker, and a legend under the plot
    # starts where the labels end, so at 390 px half of it fell outside the column.
    colour = field(
        "state",
        "nominal",
        scale={"domain": list(STATE_STYLE), "range": [c for c, _ in STATE_STYLE.values()]},
        legend=None,
    )
    shape = field(
        "state",
        "nominal",
        scale={"domain": list(STATE_STYLE), "range": [s for _label, s in STATE_STYLE.values()]},
        legend=None,
    )
    tooltip = [
        tip("module", "nominal", _("Module")),
        tip("state_words", "nominal", _("State")),
        tip("due_at", "temporal", _("Due"), i18n.d3_day_format(year=False)),
        tip("started_at", "temporal", _("Started"), i18n.d3_day_format(year=False)),
        tip("completed_at", "temporal", _("Completed"), i18n.d3_day_format(year=False)),
    ]
    columns = ["module", "state", "state_words", "due_at", "started_at", "completed_at", "row"]
    every = values([{c: plain(m[c]) for c in [*columns, "marker_at"]} for m in modules])
    bars = {
        "data": values(
            [{c: plain(m[c]) for c in [*columns, "start", "end"]} for m in modules if not pd.isna(m["start"])]
        ),
        "mark": {"type": "bar", "height": 12, "cornerRadius": 2},
        "encoding": {
            "x": field("start", "temporal", title=None, scale=x_scale, axis=date_axis(labelAngle=0)),
            "x2": {"field": "end"},
            "y": y,
            "color": colour,
            "tooltip": tooltip,
        },
    }
    due = {
        "data": every,
        "mark": {"type": "tick", "thickness": 2, "size": 22, "color": INK},
        "encoding": {"x": field("due_at", "temporal", scale=x_scale), "y": y, "tooltip": tooltip},
    }
    today = {
        "data": values([{"now": plain(now)}]),
        "mark": {"type": "rule", "color": "#6b6b6b", "strokeDash": [3, 3]},
        "encoding": {"x": field("now", "temporal", scale=x_scale)},
    }
    # the marker just past the bar's end (or on the due tick when not started), outlined so its shape reads on any bar
    marks = {
        "data": every,
        "mark": {
            "type": "point",
            "size": 120,
            "filled": True,
            "opacity": 1,
            "stroke": "white",
            "strokeWidth": 1.5,
            "xOffset": 7,
        },
        "encoding": {
            "x": field("marker_at", "temporal", scale=x_scale),
            "y": y,
            "color": colour,
            "shape": shape,
            "tooltip": tooltip,
        },
    }
    description = _("Module timeline, each module's start to completion against its due date: {modules}.").format(
        modules="; ".join(f"{m['module']}: {m['state_words']}" for m in modules)
    )
    return legible(
        {
            "layer": [bars, due, today, marks],
            "description": description,
            "height": height_per_module * max(len(modules), 2) + AXIS_PX,
        }
    )


# ---------------------------------------------------------------- Caseload

MODULE_LABEL_LIMIT_PX = 170  # module names are cut with an ellipsis beyond this, so the bars keep room at 390 px
BAR_LABEL_INSIDE = 0.5  # on a 0-100 % scale a label sits inside a bar this long or longer, after a shorter one


def module_names(frame: pd.DataFrame, sep: str) -> list[str]:
    """ "3 · Thoughts and feelings", or "3" where the module has no title."""
    return [
        f"{int(p)}{sep}{t}" if isinstance(t, str) else f"{int(p)}" for p, t in zip(frame["position"], frame["title"])
    ]


def module_y(order: list[str]) -> Spec:
    """Modules down the side in programme order, no title (each label names its module)."""
    return field(
        "module", "nominal", sort=order, title=None, axis={"labelLimit": MODULE_LABEL_LIMIT_PX, "labelOverlap": False}
    )


def bar_labels(data: list[dict[str, Any]], y: Spec, x_field: str, inside_color: str) -> list[Spec]:
    """A bar's label after a short bar and inside a long one (key ``inside``), so no
    label runs off the plot at 100 %. ``inside_color`` must keep 4.5:1 on the bar."""
    encoding = {"x": field(x_field, "quantitative"), "y": y, "text": field("label", "nominal")}
    return [
        {
            "data": values(data),
            "mark": {"type": "text", "align": "left", "dx": 4, "color": INK},
            "encoding": encoding,
            "transform": [{"filter": "!datum.inside"}],
        },
        {
            "data": values(data),
            "mark": {"type": "text", "align": "right", "dx": -4, "color": inside_color},
            "encoding": encoding,
            "transform": [{"filter": "datum.inside"}],
        },
    ]


def module_bars(
    data: list[dict[str, Any]], y: Spec, x: Spec, color: str, tooltip: list[Spec], inside_color: str
) -> list[Spec]:
    """One bar a module with its label (bars, then the labels after and inside them)."""
    bars = {
        "data": values(data),
        "mark": {"type": "bar", "color": color},
        "encoding": {"x": x, "y": y, "tooltip": tooltip},
    }
    return [bars, *bar_labels(data, y, x["field"], inside_color)]


def funnel_chart(stages: pd.DataFrame, height_per_module: int = 30) -> Spec:
    """One programme's module funnel: share of counted patients who started module k,
    labelled with the counts (a bar's length alone hides a small denominator)."""
    data = stages.assign(
        module=module_names(stages, " · "),
        label=[
            f"{int(s)}/{int(e)}" + ("" if e else " " + _("(none yet)"))
            for s, e in zip(stages["started"], stages["eligible"])
        ],
        share=stages["share"].fillna(0.0),
    )
    data = data.assign(inside=data["share"] >= BAR_LABEL_INSIDE)
    ordered = data.sort_values("position")
    y = module_y(ordered["module"].tolist())
    x = field("share", "quantitative", title=_("started the module"), scale={"domain": [0, 1]}, axis={"format": "%"})
    tooltip = [
        tip("module", "nominal", _("module")),
        tip("started", "quantitative", _("started")),
        tip("eligible", "quantitative", _("counted")),
        tip("share", "quantitative", _("share"), fmt=".0%"),
    ]
    description = _("Patients who started each module, of those counted: {modules}.").format(
        modules="; ".join(
            _("module {module}: {label}").format(module=m, label=label)
            for m, label in zip(ordered["module"], ordered["label"])
        )
    )
    return legible(
        {
            "layer": module_bars(
                rows(data, ["module", "share", "started", "eligible", "label", "inside"]),
                y,
                x,
                OKABE_BLUE,
                tooltip,
                "white",
            ),
            "description": description,
            "height": max(80, height_per_module * len(data)),
            "width": "container",
        }
    )


DROPOUT_X_TITLE = N_("drop-out rate")  # short enough for a 390 px window; each label holds "n of N" who started


def dropout_text(dropouts, started, rate) -> str:
    """A bar's label: its counts first (a short bar over a small denominator is not a small problem)."""
    if not started:
        return _("nobody started yet")
    return _("{dropouts} of {started} ({rate})").format(
        dropouts=int(dropouts), started=int(started), rate=i18n.format_percent(rate)
    )


def dropout_chart(by_module: pd.DataFrame, height_per_module: int = 30) -> Spec:
    """One programme's drop-out rate at each module: drop-outs whose last module started
    was k, of the patients who started k. Every module has a row, zero drop-out too, and
    each bar says its counts (a bar's length alone hides a small denominator). A label
    sits inside a long bar and after a short one, so it never runs off the plot."""
    data = by_module.sort_values("position")
    data = data.assign(module=module_names(data, " · "), rate=data["dropout_rate"].astype(float).fillna(0.0))
    data = data.assign(
        label=[dropout_text(d, s, r) for d, s, r in zip(data["dropouts"], data["started"], data["rate"])],
        inside=data["rate"] >= BAR_LABEL_INSIDE,
    )
    y = module_y(data["module"].tolist())
    x = field(
        "rate", "quantitative", title=_(DROPOUT_X_TITLE), scale={"domain": [0, 1]}, axis={"format": "%", "tickCount": 5}
    )
    tooltip = [
        tip("module", "nominal", _("module")),
        tip("started", "quantitative", _("started")),
        tip("dropouts", "quantitative", _("dropped out")),
        tip("label", "nominal", _("drop-out")),
    ]
    description = _("Drop-out rate at each module, of the patients who started it: {modules}.").format(
        modules="; ".join(
            _("module {module}: {label}").format(module=m, label=label)
            for m, label in zip(data["module"], data["label"])
        )
    )
    # black keeps 5.4:1 on vermillion; white only 3.9:1
    layers = module_bars(
        rows(data, ["module", "rate", "started", "dropouts", "label", "inside"]),
        y,
        x,
        OKABE_VERMILLION,
        tooltip,
        "black",
    )
    return legible(
        {
            "layer": layers,
            "description": description,
            "height": max(80, height_per_module * len(data)),
            "width": "container",
        }
    )


TREND_SERIES = {
    "enrolments": N_("Enrolments"),
    "module_completions": N_("Module completions"),
    "open_episodes": N_("Active patients"),
}
TREND_EDGE_PX = (
    32  # room inside each panel at both ends: the y labels on the left, the latest week's point on the right
)
INSIDE_AXIS = {  # y labels drawn inside the plot, so nothing sits outside the width Streamlit gives the panel
    "labelAlign": "left",
    "labelPadding": -4,
    "ticks": False,
    "domain": False,
    "title": None,
    "labelBaseline": "bottom",
}


def trend_line(data: list[dict[str, Any]], x: Spec, y: Spec, color: str, tooltip: list[Spec]) -> Spec:
    """A weekly line with a dot on each week (a gap where a week has no value)."""
    return {
        "data": values(data),
        "mark": {"type": "line", "color": color, "point": {"filled": True, "size": 40, "color": color}},
        "encoding": {"x": x, "y": y, "tooltip": tooltip},
    }


def trend_panel(name: str, height: int, spec: Spec) -> Spec:
    return {**spec, "height": height, "width": "container", "title": {"text": name, "anchor": "start", "fontSize": 12}}


def trends_chart(trends: pd.DataFrame, target_recovery: float | None, height: int = 110) -> Spec:
    """Weekly counts, each on its own scale, and the recovery rate with the
    standard as a dashed rule; suppressed weeks (too few courses) are gaps.

    Streamlit sets each panel's width to the column's, so nothing may sit outside
    the plot: the y labels are drawn inside it, the series named in each panel's
    title, and the x scale leaves room at both ends, so the latest week is never clipped.
    """
    x = field("week_end", "temporal", title=None, scale={"padding": TREND_EDGE_PX}, axis=date_axis(labelBound=True))
    week = tip("week_end", "temporal", _("week ending"), i18n.d3_day_format())
    panels = [
        trend_panel(
            _(name),
            height,
            trend_line(
                rows(trends.rename(columns={column: "n"}), ["week_end", "n"]),
                x,
                field("n", "quantitative", axis={"tickMinStep": 1, **INSIDE_AXIS}),
                OKABE_BLUE,
                [week, tip("n", "quantitative", _(name))],
            ),
        )
        for column, name in TREND_SERIES.items()
    ]
    rates = trends.assign(
        label=[f"{n}/{d}" for n, d in zip(trends["recovery_numerator"], trends["recovery_denominator"])]
    )
    percent_axis = {"format": "%", **INSIDE_AXIS}
    layers = [
        trend_line(
            rows(rates, ["week_end", "recovery_rate", "label"]),
            x,
            field("recovery_rate", "quantitative", scale={"domain": [0, 1]}, axis=percent_axis),
            OKABE_GREEN,
            [
                week,
                tip("recovery_rate", "quantitative", _("recovery"), ".0%"),
                tip("label", "nominal", _("recovered/at caseness")),
            ],
        )
    ]
    name = _("Recovery")
    if target_recovery is not None:
        name = _("Recovery (dashed line: standard {rate})").format(rate=i18n.format_percent(target_recovery))
        layers.append(
            {"data": values([{"y": plain(target_recovery)}])}
            | rule_layer(field("y", "quantitative", axis=percent_axis), INK, [4, 4])
        )
    panels.append(trend_panel(name, height, {"layer": layers}))
    return legible(
        {"vconcat": panels, "description": trends_description(trends), "resolve": {"scale": {"x": "shared"}}}
    )


def trends_description(trends: pd.DataFrame) -> str:
    """Totals and end points in words; every weekly value is in the Trends CSV."""
    if trends.empty:
        return _("Weekly trends: no weeks to show.")
    ends = trends.sort_values("week_end")
    first, last = ends.iloc[0], ends.iloc[-1]
    judged = ends.dropna(subset=["recovery_rate"])
    recovery = (
        ngettext(
            "recovery shown for {n} week, latest {rate}", "recovery shown for {n} weeks, latest {rate}", len(judged)
        ).format(n=len(judged), rate=i18n.format_percent(judged["recovery_rate"].iloc[-1]))
        if not judged.empty
        else _("too few finished courses for a weekly recovery rate")
    )
    enrolments, completions = int(ends["enrolments"].sum()), int(ends["module_completions"].sum())
    return _(
        "Weekly trends, {weeks} from {start} to {end}: {enrolments} and {completions} in all; "
        "active patients {first} then {last}; {recovery}."
    ).format(
        weeks=ngettext("{n} week", "{n} weeks", len(ends)).format(n=len(ends)),
        start=_day(first["week_end"]),
        end=_day(last["week_end"]),
        enrolments=ngettext("{n} enrolment", "{n} enrolments", enrolments).format(n=enrolments),
        completions=ngettext("{n} module completion", "{n} module completions", completions).format(n=completions),
        first=int(first["open_episodes"]),
        last=int(last["open_episodes"]),
        recovery=recovery,
    )
