"""Altair chart builders: DataFrame in, chart out (no data access, no Streamlit).

Colour is never the only carrier of meaning: bands are labelled in text, and
reliable change, prorated scores and risk answers each have their own shape.
The band shading is a single-hue ramp (lightness only), safe for colour-blind
readers; marks use the Okabe-Ito palette.

Each chart carries a ``description``: Vega writes it as the chart's aria-label,
so a screen reader hears the figures in words (docs/accessibility.md).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import altair as alt
import pandas as pd

from dashboard.measures import INSTRUMENTS, band_label, display_score
from dashboard.outcomes import DETERIORATED, IMPROVED, reliable_change
from dashboard.timeutil import UTC_ZONE, local_wall

BAND_SHADES = ["#f4f4f4", "#fdebd9", "#fbd2ad", "#f6b47f", "#ee9453"]
INK = "#222222"
OKABE_BLUE, OKABE_VERMILLION, OKABE_GREEN = "#0072B2", "#D55E00", "#009E73"
CHANGE_SHAPES = {"baseline": "square", IMPROVED: "triangle-down", DETERIORATED: "triangle-up", "other": "circle"}
CHANGE_LABELS = {
    "baseline": "baseline",
    IMPROVED: "reliably better than baseline",
    DETERIORATED: "reliably worse than baseline",
    "other": "no reliable change",
}


def _day(ts) -> str:
    stamp = pd.Timestamp(ts)
    return "an unknown date" if pd.isna(stamp) else f"{stamp:%d %b %Y}"


def trajectory_description(
    inst_name: str, points: pd.DataFrame, caseness: float | None, risk_count: int, clinic_count: int
) -> str:
    """The trajectory in words: first and last score, change, and what else is marked."""
    if points.empty:
        return f"{inst_name} score over time: no valid questionnaire yet."
    first, last = points.iloc[0], points.iloc[-1]
    text = (
        f"{inst_name} score over time: {len(points)} valid questionnaire(s) from {_day(first['date'])} to "
        f"{_day(last['date'])}; baseline {first['shown']} ({first['band']}), latest {last['shown']} "
        f"({last['band']}), {last['kind']}."
    )
    if caseness is not None:
        text += f" Dashed line at the cut-off {caseness:g}."
    if risk_count:
        text += f" {risk_count} risk answer(s) above 0 marked with diamonds, listed below the chart."
    if clinic_count:
        text += f" {clinic_count} clinic score(s) marked with crosses."
    return text


def legible(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """Axis, legend and title text in INK: Streamlit's chart theme draws them in
    #808495, 3.7:1 on white, under WCAG AA's 4.5:1 for small text."""
    return (
        chart.configure_axis(labelColor=INK, titleColor=INK)
        .configure_legend(labelColor=INK, titleColor=INK)
        .configure_title(color=INK)
    )


def trajectory_points(instrument: str, episode: pd.DataFrame, tz: ZoneInfo = UTC_ZONE) -> pd.DataFrame:
    """One row per valid response with what the chart shows about it; ``date`` is the
    service zone's wall time, so every day the chart names is that zone's day."""
    rows = episode[episode["instrument"] == instrument].sort_values("administered_at")
    if rows.empty:
        return pd.DataFrame(columns=["date", "score", "shown", "band", "kind", "prorated"])
    baseline = float(rows["score"].iloc[0])
    kinds = ["baseline"] + [
        rc if (rc := reliable_change(instrument, baseline, float(s))) in (IMPROVED, DETERIORATED) else "other"
        for s in rows["score"].iloc[1:]
    ]
    return pd.DataFrame(
        {
            "date": local_wall(rows["administered_at"], tz).to_numpy(),
            "score": rows["score"].astype(float).to_numpy(),
            "shown": [display_score(s) for s in rows["score"]],
            "band": [band_label(instrument, s) or "no bands defined" for s in rows["score"]],
            "kind": [CHANGE_LABELS[k] for k in kinds],
            "prorated": ["prorated (missing items)" if p else "all items answered" for p in rows["prorated"]],
        }
    )


def band_frame(instrument: str) -> pd.DataFrame:
    inst = INSTRUMENTS[instrument]
    lows = [b.low for b in inst.bands]
    highs = [*(low for low in lows[1:]), inst.max_total + 0.5]
    return pd.DataFrame(
        {
            "low": [max(low - 0.5, -0.5) if i else -0.5 for i, low in enumerate(lows)],
            "high": [h - 0.5 if h != inst.max_total + 0.5 else h for h in highs],
            "band": [b.label for b in inst.bands],
            "shade": BAND_SHADES[: len(lows)] if len(lows) <= len(BAND_SHADES) else BAND_SHADES * 2,
        }
    )


RISK_STRIP = 3.0  # score points above the scale's top, where the risk answers sit clear of the trajectory
LEGEND_COLUMNS = 2
TITLE_PX, SUBTITLE_PX, AXIS_PX, LEGEND_ROW_PX = 24, 16, 30, 30  # room each takes, for a plot of the height asked
TICK_STEP = 5  # y ticks every 5 points on every instrument (0, 5, ..., 25 on PHQ-9)
ENDS = {
    CHANGE_LABELS["baseline"]: "baseline",
    CHANGE_LABELS[IMPROVED]: "reliably better",
    CHANGE_LABELS[DETERIORATED]: "reliably worse",
    CHANGE_LABELS["other"]: "no reliable change",
}


def risk_marker(inst) -> str:
    return f"item {inst.risk_item} above 0"


CLINIC_MARKER = "clinic PHQ-9 (GP)"


def band_label_expr(bands: pd.DataFrame) -> str:
    """Vega expression naming the band whose middle is ``datum.value``, split into words (one a line)."""
    cases = " : ".join(f"datum.value == {mid:g} ? {name!r}" for mid, name in zip(bands["mid"], bands["band"]))
    return f"split({cases} : '', ' ')"


def trajectory_subtitle(points: pd.DataFrame, caseness: float | None) -> list[str]:
    """Baseline, latest and the cut-off in words, above the plot where no mark can cover them."""
    if points.empty:
        return ["no valid questionnaire yet"]
    first, last = points.iloc[0], points.iloc[-1]
    lines = [f"Baseline {first['shown']} ({first['band']}), {_day(first['date'])}"]
    if len(points) > 1:
        lines.append(f"Latest {last['shown']} ({last['band']}), {_day(last['date'])}: {ENDS[last['kind']]}")
    notes = [f"dashed line: cut-off {caseness:g}"] if caseness is not None else []
    if (points["prorated"] != "all items answered").any():
        notes.append("hollow marker: prorated (items missing)")
    return lines + ([" · ".join(notes).capitalize()] if notes else [])


def trajectory_chart(
    instrument: str,
    episode: pd.DataFrame,
    risk_answers: pd.DataFrame | None = None,
    clinic: pd.DataFrame | None = None,
    tz: ZoneInfo = UTC_ZONE,
    height: int = 240,
) -> alt.LayerChart:
    """Score over time for one instrument, with no text inside the plot, so no label can
    overprint another: band names on the right axis, baseline and latest in the subtitle,
    markers and the cut-off in the legend, each risk answer's value in its tooltip.

    ``risk_answers``: rows with ``date`` and ``item_score`` (risk item > 0), drawn
    as diamonds in a strip above the scale. ``clinic``: rows with ``date`` and
    ``score`` taken by a GP in clinic, drawn as crosses apart from the line: they
    never enter baseline, outcomes or flags. ``tz``: the service time zone, whose days
    the axis, tooltips and subtitle name (the clinic dates are already its days).
    """
    inst = INSTRUMENTS[instrument]
    points = trajectory_points(instrument, episode, tz)
    has_risk = risk_answers is not None and not risk_answers.empty
    has_clinic = clinic is not None and not clinic.empty
    top = inst.max_total + 0.5 + (RISK_STRIP if has_risk else 0)
    y_scale = alt.Scale(domain=[0, top], nice=False)
    hidden = None  # the other layers draw no y axis of their own
    x = alt.X("date:T", title=None, axis=alt.Axis(format="%d %b", labelAngle=0, labelOverlap=True, labelSeparation=8))
    markers = [*ENDS.values()] + ([CLINIC_MARKER] if has_clinic else []) + ([risk_marker(inst)] if has_risk else [])
    styles = {
        **{ENDS[label]: (CHANGE_SHAPES[k], OKABE_BLUE) for k, label in CHANGE_LABELS.items()},
        CLINIC_MARKER: ("cross", INK),
        risk_marker(inst): ("diamond", OKABE_VERMILLION),
    }
    # One legend, from the shape channel, each symbol coloured like its marks (a colour
    # channel's legend is not merged into it in Streamlit, so every marker was listed twice).
    # Vega-Lite copies the first marker layer's fill into the legend's symbols, where
    # datum.value is the entry: the expression colours a mark by its marker, a symbol by its entry.
    by_marker = (
        " : ".join(f"(datum.marker || datum.value) == {m!r} ? {styles[m][1]!r}" for m in markers) + f" : {INK!r}"
    )
    legend = alt.Legend(title=None, orient="bottom", columns=LEGEND_COLUMNS, labelLimit=150, symbolSize=100)
    shape = alt.Shape("marker:N", scale=alt.Scale(domain=markers, range=[styles[m][0] for m in markers]), legend=legend)
    layers: list[alt.Chart] = []
    if inst.bands:
        bands = band_frame(instrument).assign(
            mid=lambda b: (b["low"].clip(lower=0) + b["high"].clip(upper=inst.max_total)) / 2
        )
        layers.append(
            alt.Chart(bands)
            .mark_rect(opacity=0.9, clip=True)
            .encode(
                y=alt.Y(
                    "low:Q",
                    scale=y_scale,
                    axis=alt.Axis(
                        orient="right",
                        title=None,
                        values=list(bands["mid"]),
                        labelExpr=band_label_expr(bands),
                        ticks=False,
                        domain=False,
                        grid=False,
                        labelOverlap=False,
                        labelFontSize=10,
                        labelLineHeight=11,
                    ),
                ),
                y2="high:Q",
                color=alt.Color("shade:N", scale=None),
                tooltip=[alt.Tooltip("band:N", title="Band")],
            )
        )
    if inst.caseness is not None:
        label = f"cut-off {inst.caseness:g}"
        layers.append(
            alt.Chart(pd.DataFrame({"line": [label]}))
            .mark_rule(color=INK, strokeDash=[6, 4], description=label)
            .encode(y=alt.Y(datum=inst.caseness, scale=y_scale, axis=hidden))
        )
    y_axis = alt.Axis(values=list(range(0, inst.max_total + 1, TICK_STEP)), title=f"{inst.name} score")
    if not points.empty:
        data = points.assign(marker=points["kind"].map(ENDS))
        base = alt.Chart(data).encode(x=x, y=alt.Y("score:Q", scale=y_scale, title=f"{inst.name} score", axis=y_axis))
        tooltip = [
            alt.Tooltip("date:T", title="Date", format="%d %b %Y"),
            alt.Tooltip("shown:Q", title="Score"),
            alt.Tooltip("band:N", title="Band"),
            alt.Tooltip("kind:N", title="Versus baseline"),
            alt.Tooltip("prorated:N", title="Items"),
        ]
        layers.append(base.mark_line(color=OKABE_BLUE, strokeWidth=2))
        hollow = "datum.prorated && datum.prorated != 'all items answered'"  # prorated: white inside
        layers.append(
            base.mark_point(
                size=90,
                strokeWidth=2,
                filled=True,
                stroke={"expr": by_marker},
                fill={"expr": f"{hollow} ? 'white' : ({by_marker})"},
            ).encode(y=alt.Y("score:Q", scale=y_scale, axis=hidden), shape=shape, tooltip=tooltip)
        )
    if has_clinic:
        marks = clinic.assign(marker=CLINIC_MARKER, label="clinic")
        layers.append(
            alt.Chart(marks)
            .mark_point(shape="cross", size=160, filled=True, color=INK)
            .encode(
                x=x,
                y=alt.Y("score:Q", scale=y_scale, axis=hidden),
                shape=shape,
                tooltip=[
                    alt.Tooltip("date:T", title="Date", format="%d %b %Y"),
                    alt.Tooltip("score:Q", title="Clinic PHQ-9"),
                    alt.Tooltip("label:N", title="Source"),
                ],
            )
        )
    if has_risk:
        risk = risk_answers.assign(
            date=local_wall(risk_answers["date"], tz),
            marker=risk_marker(inst),
            top=inst.max_total + 0.5 + RISK_STRIP / 2,
            answer=[int(v) for v in risk_answers["item_score"]],
        )
        layers.append(
            alt.Chart(risk)
            .mark_point(shape="diamond", size=120, filled=True, opacity=0.85, color=OKABE_VERMILLION)
            .encode(
                x=x,
                y=alt.Y("top:Q", scale=y_scale, axis=hidden),
                shape=shape,
                tooltip=[
                    alt.Tooltip("date:T", title="Date", format="%d %b %Y"),
                    alt.Tooltip("answer:Q", title=f"Item {inst.risk_item} answer"),
                ],
            )
        )
    description = trajectory_description(
        inst.name, points, inst.caseness, len(risk_answers) if has_risk else 0, len(clinic) if has_clinic else 0
    )
    subtitle = trajectory_subtitle(points, inst.caseness)
    title = alt.Title(inst.name, subtitle=subtitle, anchor="start")
    # Streamlit fits the whole chart (title and legend included) into its height: add theirs to the plot's
    outer = (
        height + TITLE_PX + SUBTITLE_PX * len(subtitle) + AXIS_PX + LEGEND_ROW_PX * -(-len(markers) // LEGEND_COLUMNS)
    )
    return legible(
        alt.layer(*layers).properties(height=outer, title=title, description=description).resolve_axis(y="independent")
    )


def weekly_activity_chart(weekly: pd.DataFrame, height: int = 220) -> alt.Chart:
    long = weekly.melt(id_vars="week", value_vars=["logins", "exercises"], var_name="kind", value_name="count")
    return legible(
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("week:O", title="Treatment week", axis=alt.Axis(labelAngle=0)),
            xOffset="kind:N",
            y=alt.Y("count:Q", title="Events"),
            color=alt.Color(
                "kind:N",
                title=None,
                scale=alt.Scale(range=[OKABE_BLUE, OKABE_GREEN]),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=["week:O", "kind:N", "count:Q"],
        )
        .properties(
            height=height,
            description=(
                f"Logins and exercises per treatment week, {len(weekly)} week(s): {int(weekly['logins'].sum())} logins and "
                f"{int(weekly['exercises'].sum())} exercises in all. Each week's numbers are also in a table."
            ),
        )
    )


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
) -> alt.LayerChart:
    """Each module's start-to-completion bar against its due date (a tick), ending in
    a marker whose colour and shape both say the state; the state is also written
    under the module's title, on the same row. Times are drawn as ``tz`` wall times,
    so the axis and tooltips name the service zone's days."""
    timeline = timeline.assign(**{c: local_wall(timeline[c], tz) for c in ("due_at", "started_at", "completed_at")})
    now = local_wall(pd.Series([pd.Timestamp(now)]), tz).iloc[0]
    frame = timeline.assign(
        module=[f"{p}. {t}" for p, t in zip(timeline["position"], timeline["title"])],
        start=timeline["started_at"],
        end=timeline["completed_at"].fillna(pd.Timestamp(now)).where(timeline["started_at"].notna()),
    )
    frame = frame.assign(
        row=[f"{m}|{s}" for m, s in zip(frame["module"], frame["state"])],
        marker_at=frame["end"].fillna(frame["due_at"]),
    )
    y = alt.Y(
        "row:N",
        sort=list(frame["row"]),
        title=None,
        axis=alt.Axis(labelExpr="split(datum.label, '|')", labelLimit=220, labelOverlap=False, labelLineHeight=13),
    )
    times = pd.concat([frame["due_at"], frame["started_at"], pd.Series([pd.Timestamp(now)])]).dropna()  # due dates
    x_scale = alt.Scale(
        domain=[times.min() - pd.Timedelta(days=7), times.max() + pd.Timedelta(days=4)]
    )  # may be unknown
    # No legend: each row names its state beside its marker, and a legend under the plot
    # starts where the labels end, so at 390 px half of it fell outside the column.
    legend = None
    colours = alt.Scale(domain=list(STATE_STYLE), range=[c for c, _ in STATE_STYLE.values()])
    colour = alt.Color("state:N", scale=colours, legend=legend)
    shape = alt.Shape(
        "state:N", scale=alt.Scale(domain=list(STATE_STYLE), range=[s for _, s in STATE_STYLE.values()]), legend=legend
    )
    tooltip = [
        alt.Tooltip("module:N", title="Module"),
        alt.Tooltip("state:N", title="State"),
        alt.Tooltip("due_at:T", title="Due", format="%d %b"),
        alt.Tooltip("started_at:T", title="Started", format="%d %b"),
        alt.Tooltip("completed_at:T", title="Completed", format="%d %b"),
    ]
    x = alt.X("start:T", title=None, scale=x_scale, axis=alt.Axis(format="%d %b", labelAngle=0, labelSeparation=8))
    bars = (
        alt.Chart(frame.dropna(subset=["start"]))
        .mark_bar(height=12, cornerRadius=2)
        .encode(x=x, x2="end:T", y=y, color=colour, tooltip=tooltip)
    )
    due = (
        alt.Chart(frame)
        .mark_tick(thickness=2, size=22, color=INK)
        .encode(x=alt.X("due_at:T", scale=x_scale), y=y, tooltip=tooltip)
    )
    # the marker just past the bar's end (or on the due tick when not started), outlined so its shape reads on any bar
    marks = (
        alt.Chart(frame)
        .mark_point(size=120, filled=True, opacity=1, stroke="white", strokeWidth=1.5, xOffset=7)
        .encode(x=alt.X("marker_at:T", scale=x_scale), y=y, color=colour, shape=shape, tooltip=tooltip)
    )
    today = (
        alt.Chart(pd.DataFrame({"now": [pd.Timestamp(now)]}))
        .mark_rule(color="#6b6b6b", strokeDash=[3, 3])
        .encode(x=alt.X("now:T", scale=x_scale))
    )
    description = (
        "Module timeline, each module's start to completion against its due date: "
        + "; ".join(f"{m}: {s}" for m, s in zip(frame["module"], frame["state"]))
        + "."
    )
    return legible(
        alt.layer(bars, due, today, marks).properties(
            height=height_per_module * max(len(frame), 2) + AXIS_PX, description=description
        )
    )


# ---------------------------------------------------------------- Caseload

MODULE_LABEL_LIMIT_PX = 170  # module names are cut with an ellipsis beyond this, so the bars keep room at 390 px


def funnel_chart(stages: pd.DataFrame, height_per_module: int = 30) -> alt.LayerChart:
    """One programme's module funnel: share of counted patients who started module k,
    labelled with the counts (a bar's length alone hides a small denominator)."""
    data = stages.assign(
        module=[
            f"{int(p)} · {t}" if isinstance(t, str) else f"{int(p)}"
            for p, t in zip(stages["position"], stages["title"])
        ],
        label=[
            f"{int(s)}/{int(e)}" + ("" if e else " (none yet)") for s, e in zip(stages["started"], stages["eligible"])
        ],
        share=stages["share"].fillna(0.0),
    )
    order = list(data.sort_values("position")["module"])
    y = alt.Y("module:N", sort=order, title=None, axis=alt.Axis(labelLimit=MODULE_LABEL_LIMIT_PX, labelOverlap=False))
    bars = (
        alt.Chart(data)
        .mark_bar(color=OKABE_BLUE)
        .encode(
            y=y,
            x=alt.X("share:Q", title="started the module", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            tooltip=[
                alt.Tooltip("module:N"),
                alt.Tooltip("started:Q", title="started"),
                alt.Tooltip("eligible:Q", title="counted"),
                alt.Tooltip("share:Q", format=".0%"),
            ],
        )
    )
    after, inside = bar_labels(data.assign(inside=data["share"] >= BAR_LABEL_INSIDE), y, "share", "white")
    description = (
        "Patients who started each module, of those counted: "
        + "; ".join(
            f"module {m}: {label}"
            for m, label in zip(data.sort_values("position")["module"], data.sort_values("position")["label"])
        )
        + "."
    )
    return legible(
        (bars + after + inside).properties(
            height=max(80, height_per_module * len(data)), width="container", description=description
        )
    )


BAR_LABEL_INSIDE = 0.5  # on a 0-100 % scale a label sits inside a bar this long or longer, after a shorter one


def bar_labels(data: pd.DataFrame, y: alt.Y, x_field: str, inside_color: str) -> tuple[alt.Chart, alt.Chart]:
    """A bar's label after a short bar and inside a long one (column ``inside``), so no
    label runs off the plot at 100 %. ``inside_color`` must keep 4.5:1 on the bar."""
    base = alt.Chart(data).encode(y=y, x=alt.X(f"{x_field}:Q"), text="label:N")
    return (
        base.transform_filter("!datum.inside").mark_text(align="left", dx=4, color=INK),
        base.transform_filter("datum.inside").mark_text(align="right", dx=-4, color=inside_color),
    )


DROPOUT_X_TITLE = "drop-out rate"  # short enough for a 390 px window; each label holds "n of N" who started


def dropout_text(dropouts, started, rate) -> str:
    """A bar's label: its counts first (a short bar over a small denominator is not a small problem)."""
    return "nobody started yet" if not started else f"{int(dropouts)} of {int(started)} ({rate:.0%})"


def dropout_chart(by_module: pd.DataFrame, height_per_module: int = 30) -> alt.LayerChart:
    """One programme's drop-out rate at each module: drop-outs whose last module started
    was k, of the patients who started k. Every module has a row, zero drop-out too, and
    each bar says its counts (a bar's length alone hides a small denominator). A label
    sits inside a long bar and after a short one, so it never runs off the plot."""
    data = by_module.sort_values("position")
    data = data.assign(
        module=[
            f"{int(p)} · {t}" if isinstance(t, str) else f"{int(p)}" for p, t in zip(data["position"], data["title"])
        ],
        rate=data["dropout_rate"].astype(float).fillna(0.0),
    )
    data["label"] = [dropout_text(d, s, r) for d, s, r in zip(data["dropouts"], data["started"], data["rate"])]
    data["inside"] = data["rate"] >= BAR_LABEL_INSIDE
    y = alt.Y(
        "module:N",
        sort=list(data["module"]),
        title=None,
        axis=alt.Axis(labelLimit=MODULE_LABEL_LIMIT_PX, labelOverlap=False),
    )
    x = alt.X(
        "rate:Q",
        title=DROPOUT_X_TITLE,
        scale=alt.Scale(domain=[0, 1]),
        axis=alt.Axis(format="%", tickCount=5),
    )
    bars = (
        alt.Chart(data)
        .mark_bar(color=OKABE_VERMILLION)
        .encode(
            y=y,
            x=x,
            tooltip=[
                alt.Tooltip("module:N"),
                alt.Tooltip("started:Q", title="started"),
                alt.Tooltip("dropouts:Q", title="dropped out"),
                alt.Tooltip("label:N", title="drop-out"),
            ],
        )
    )
    after, inside = bar_labels(data, y, "rate", "black")  # black keeps 5.4:1 on vermillion; white only 3.9:1
    description = (
        "Drop-out rate at each module, of the patients who started it: "
        + "; ".join(f"module {m}: {label}" for m, label in zip(data["module"], data["label"]))
        + "."
    )
    return legible(
        (bars + after + inside).properties(
            height=max(80, height_per_module * len(data)), width="container", description=description
        )
    )


TREND_SERIES = {
    "enrolments": "Enrolments",
    "module_completions": "Module completions",
    "open_episodes": "Active patients",
}
TREND_EDGE_PX = (
    32  # room inside each panel at both ends: the y labels on the left, the latest week's point on the right
)


def trends_chart(trends: pd.DataFrame, target_recovery: float | None, height: int = 110) -> alt.VConcatChart:
    """Weekly counts, each on its own scale, and the recovery rate with the
    standard as a dashed rule; suppressed weeks (too few courses) are gaps.

    Streamlit sets each panel's width to the column's, so nothing may sit outside
    the plot: the y labels are drawn inside it, the series named in each panel's
    title, and the x scale leaves room at both ends, so the latest week is never clipped.
    """
    counts = trends.melt(id_vars=["week_end"], value_vars=list(TREND_SERIES), var_name="series", value_name="n")
    counts["series"] = counts["series"].map(TREND_SERIES)
    x = alt.X(
        "week_end:T",
        title=None,
        scale=alt.Scale(padding=TREND_EDGE_PX),
        axis=alt.Axis(format="%d %b", labelSeparation=8, labelBound=True),
    )
    inside = {
        "labelAlign": "left",
        "labelPadding": -4,
        "ticks": False,
        "domain": False,
        "title": None,
        "labelBaseline": "bottom",
    }
    charts = [
        alt.Chart(counts[counts["series"] == name])
        .mark_line(point=alt.OverlayMarkDef(filled=True, size=40, color=OKABE_BLUE), color=OKABE_BLUE)
        .encode(
            x=x,
            y=alt.Y("n:Q", axis=alt.Axis(tickMinStep=1, **inside)),
            tooltip=[alt.Tooltip("week_end:T", title="week ending", format="%d %b %Y"), alt.Tooltip("n:Q", title=name)],
        )
        .properties(height=height, width="container", title=alt.Title(name, anchor="start", fontSize=12))
        for name in TREND_SERIES.values()
    ]
    rates = trends.assign(
        label=[f"{n}/{d}" for n, d in zip(trends["recovery_numerator"], trends["recovery_denominator"])]
    )
    recovery = (
        alt.Chart(rates)
        .mark_line(point=alt.OverlayMarkDef(filled=True, size=40, color=OKABE_GREEN), color=OKABE_GREEN)
        .encode(
            x=x,
            y=alt.Y("recovery_rate:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%", **inside)),
            tooltip=[
                alt.Tooltip("week_end:T", title="week ending", format="%d %b %Y"),
                alt.Tooltip("recovery_rate:Q", format=".0%", title="recovery"),
                alt.Tooltip("label:N", title="recovered/at caseness"),
            ],
        )
    )
    layers = [recovery]
    name = "Recovery"
    if target_recovery is not None:
        name += f" (dashed line: standard {target_recovery:.0%})"
        layers.append(
            alt.Chart(pd.DataFrame({"y": [target_recovery]}))
            .mark_rule(strokeDash=[4, 4], color=INK)
            .encode(y=alt.Y("y:Q", axis=alt.Axis(format="%", **inside)))
        )
    charts.append(
        alt.layer(*layers).properties(
            height=height, width="container", title=alt.Title(name, anchor="start", fontSize=12)
        )
    )
    return legible(alt.vconcat(*charts).resolve_scale(x="shared").properties(description=trends_description(trends)))


def trends_description(trends: pd.DataFrame) -> str:
    """Totals and end points in words; every weekly value is in the Trends CSV."""
    if trends.empty:
        return "Weekly trends: no weeks to show."
    ends = trends.sort_values("week_end")
    first, last = ends.iloc[0], ends.iloc[-1]
    judged = ends.dropna(subset=["recovery_rate"])
    recovery = (
        f"recovery shown for {len(judged)} week(s), latest {judged['recovery_rate'].iloc[-1]:.0%}"
        if not judged.empty
        else "too few finished courses for a weekly recovery rate"
    )
    return (
        f"Weekly trends, {len(ends)} weeks from {_day(first['week_end'])} to {_day(last['week_end'])}: "
        f"{int(ends['enrolments'].sum())} enrolments and {int(ends['module_completions'].sum())} module completions "
        f"in all; active patients {int(first['open_episodes'])} then {int(last['open_episodes'])}; {recovery}."
    )
