"""Altair chart builders: DataFrame in, chart out (no data access, no Streamlit).

Colour is never the only carrier of meaning: bands are labelled in text, and
reliable change, prorated scores and risk answers each have their own shape.
The band shading is a single-hue ramp (lightness only), safe for colour-blind
readers; marks use the Okabe-Ito palette.

Each chart carries a ``description``: Vega writes it as the chart's aria-label,
so a screen reader hears the figures in words (docs/accessibility.md).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from dashboard.measures import INSTRUMENTS, band_label, display_score
from dashboard.outcomes import DETERIORATED, IMPROVED, reliable_change

BAND_SHADES = ["#f4f4f4", "#fdebd9", "#fbd2ad", "#f6b47f", "#ee9453"]
INK = "#222222"
OKABE_BLUE, OKABE_VERMILLION, OKABE_GREEN = "#0072B2", "#D55E00", "#009E73"
CHANGE_SHAPES = {"baseline": "square", IMPROVED: "triangle-down", DETERIORATED: "triangle-up", "other": "circle"}
CHANGE_LABELS = {"baseline": "baseline", IMPROVED: "reliably better than baseline",
                 DETERIORATED: "reliably worse than baseline", "other": "no reliable change"}


def _day(ts) -> str:
    stamp = pd.Timestamp(ts)
    return "an unknown date" if pd.isna(stamp) else f"{stamp:%d %b %Y}"


def trajectory_description(inst_name: str, points: pd.DataFrame, caseness: float | None,
                           risk_count: int, clinic_count: int) -> str:
    """The trajectory in words: first and last score, change, and what else is marked."""
    if points.empty:
        return f"{inst_name} score over time: no valid questionnaire yet."
    first, last = points.iloc[0], points.iloc[-1]
    text = (f"{inst_name} score over time: {len(points)} valid questionnaire(s) from {_day(first['date'])} to "
            f"{_day(last['date'])}; baseline {first['shown']} ({first['band']}), latest {last['shown']} "
            f"({last['band']}), {last['kind']}.")
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
    return (chart.configure_axis(labelColor=INK, titleColor=INK).configure_legend(labelColor=INK, titleColor=INK)
            .configure_title(color=INK))


def trajectory_points(instrument: str, episode: pd.DataFrame) -> pd.DataFrame:
    """One row per valid response with what the chart shows about it."""
    rows = episode[episode["instrument"] == instrument].sort_values("administered_at")
    if rows.empty:
        return pd.DataFrame(columns=["date", "score", "shown", "band", "kind", "prorated"])
    baseline = float(rows["score"].iloc[0])
    kinds = ["baseline"] + [
        rc if (rc := reliable_change(instrument, baseline, float(s))) in (IMPROVED, DETERIORATED) else "other"
        for s in rows["score"].iloc[1:]
    ]
    return pd.DataFrame({
        "date": rows["administered_at"].to_numpy(),
        "score": rows["score"].astype(float).to_numpy(),
        "shown": [display_score(s) for s in rows["score"]],
        "band": [band_label(instrument, s) or "no bands defined" for s in rows["score"]],
        "kind": [CHANGE_LABELS[k] for k in kinds],
        "prorated": ["prorated (missing items)" if p else "all items answered" for p in rows["prorated"]],
    })


def band_frame(instrument: str) -> pd.DataFrame:
    inst = INSTRUMENTS[instrument]
    lows = [b.low for b in inst.bands]
    highs = [*(low for low in lows[1:]), inst.max_total + 0.5]
    return pd.DataFrame({
        "low": [max(low - 0.5, -0.5) if i else -0.5 for i, low in enumerate(lows)],
        "high": [h - 0.5 if h != inst.max_total + 0.5 else h for h in highs],
        "band": [b.label for b in inst.bands],
        "shade": BAND_SHADES[: len(lows)] if len(lows) <= len(BAND_SHADES) else BAND_SHADES * 2,
    })


def trajectory_chart(instrument: str, episode: pd.DataFrame, risk_answers: pd.DataFrame | None = None,
                     clinic: pd.DataFrame | None = None, height: int = 300) -> alt.LayerChart:
    """Score over time for one instrument.

    ``risk_answers``: rows with ``date`` and ``item_score`` (risk item > 0), drawn
    as labelled diamonds along the top of the chart. ``clinic``: rows with
    ``date`` and ``score`` taken by a GP in clinic, drawn as labelled crosses,
    apart from the line: they never enter baseline, outcomes or flags.
    """
    inst = INSTRUMENTS[instrument]
    points = trajectory_points(instrument, episode)
    y_scale = alt.Scale(domain=[0, inst.max_total], nice=False)
    x = alt.X("date:T", title=None, axis=alt.Axis(format="%d %b", labelAngle=0))
    layers: list[alt.Chart] = []
    if inst.bands:
        bands = band_frame(instrument)
        layers.append(
            alt.Chart(bands).mark_rect(opacity=0.9).encode(
                y=alt.Y("low:Q", scale=y_scale, title=f"{inst.name} score"), y2="high:Q",
                color=alt.Color("shade:N", scale=None), tooltip=[alt.Tooltip("band:N", title="Band")],
            )
        )
        layers.append(
            alt.Chart(bands).mark_text(align="right", baseline="middle", dx=-4, color=INK, fontSize=10).encode(
                y=alt.Y("mid:Q", scale=y_scale), x=alt.value("width"), text="band:N",
            ).transform_calculate(mid="(datum.low + datum.high) / 2")
        )
    if inst.caseness is not None:
        cut = alt.Chart(pd.DataFrame({"label": [f"cut-off {inst.caseness}"]}))
        layers.append(cut.mark_rule(strokeDash=[6, 4], color=INK, description=f"cut-off {inst.caseness}").encode(y=alt.Y(datum=inst.caseness, scale=y_scale)))
        layers.append(cut.mark_text(align="left", dx=4, dy=-7, color=INK, fontSize=10).encode(
            y=alt.Y(datum=inst.caseness, scale=y_scale), x=alt.value(0), text="label:N"))
    if not points.empty:
        base = alt.Chart(points).encode(x=x, y=alt.Y("score:Q", scale=y_scale, title=f"{inst.name} score"))
        tooltip = [alt.Tooltip("date:T", title="Date", format="%d %b %Y"), alt.Tooltip("shown:Q", title="Score"),
                   alt.Tooltip("band:N", title="Band"), alt.Tooltip("kind:N", title="Versus baseline"),
                   alt.Tooltip("prorated:N", title="Items")]
        layers.append(base.mark_line(color=OKABE_BLUE, strokeWidth=2))
        layers.append(base.mark_point(size=90, strokeWidth=2, color=OKABE_BLUE).encode(
            shape=alt.Shape("kind:N", title=None, scale=alt.Scale(
                domain=list(CHANGE_LABELS.values()), range=list(CHANGE_SHAPES.values())),
                legend=alt.Legend(orient="bottom", labelLimit=0, columns=2)),
            fill=alt.condition("datum.prorated == 'all items answered'", alt.value(OKABE_BLUE), alt.value("white")),
            tooltip=tooltip,
        ))
        # Text on the baseline and the latest point only; the shapes and legend mark the rest.
        ends = points.iloc[[0, -1]].drop_duplicates(subset=["date"])
        labelled = ends.assign(tag=ends["kind"].map({
            CHANGE_LABELS["baseline"]: "baseline", CHANGE_LABELS[IMPROVED]: "reliably better",
            CHANGE_LABELS[DETERIORATED]: "reliably worse", CHANGE_LABELS["other"]: "no reliable change"}))
        layers.append(alt.Chart(labelled).mark_text(dy=-14, fontSize=10, color=INK).encode(
            x=x, y=alt.Y("score:Q", scale=y_scale), text="tag:N"))
        prorated = points[points["prorated"] != "all items answered"]
        if not prorated.empty:
            layers.append(alt.Chart(prorated).mark_text(dy=16, fontSize=10, color=INK, text="prorated").encode(
                x=x, y=alt.Y("score:Q", scale=y_scale)))
    if clinic is not None and not clinic.empty:
        marks = clinic.assign(label="clinic")
        layers.append(alt.Chart(marks).mark_point(shape="cross", size=160, filled=True, color=INK).encode(
            x=x, y=alt.Y("score:Q", scale=y_scale),
            tooltip=[alt.Tooltip("date:T", title="Date", format="%d %b %Y"), alt.Tooltip("score:Q", title="Clinic PHQ-9"),
                     alt.Tooltip("label:N", title="Source")]))
        layers.append(alt.Chart(marks).mark_text(dy=-14, fontSize=10, color=INK).encode(
            x=x, y=alt.Y("score:Q", scale=y_scale), text="label:N"))
    if risk_answers is not None and not risk_answers.empty:
        risk = risk_answers.assign(label=[f"item {inst.risk_item} = {int(v)}" for v in risk_answers["item_score"]],
                                   top=inst.max_total)
        layers.append(alt.Chart(risk).mark_point(shape="diamond", size=140, filled=True, color=OKABE_VERMILLION).encode(
            x=x, y=alt.Y("top:Q", scale=y_scale),
            tooltip=[alt.Tooltip("date:T", title="Date", format="%d %b %Y"), alt.Tooltip("label:N", title="Risk answer")]))
        # the label in ink: vermillion text on the top band's shade would be under 2:1
        layers.append(alt.Chart(risk).mark_text(dy=14, fontSize=10, color=INK).encode(
            x=x, y=alt.Y("top:Q", scale=y_scale), text="label:N"))
    description = trajectory_description(
        inst.name, points, inst.caseness, 0 if risk_answers is None else len(risk_answers),
        0 if clinic is None else len(clinic))
    return legible(alt.layer(*layers).properties(height=height, title=f"{inst.name}", description=description)
                   .resolve_scale(color="independent"))


def weekly_activity_chart(weekly: pd.DataFrame, height: int = 220) -> alt.Chart:
    long = weekly.melt(id_vars="week", value_vars=["logins", "exercises"], var_name="kind", value_name="count")
    return legible(alt.Chart(long).mark_bar().encode(
        x=alt.X("week:O", title="Treatment week", axis=alt.Axis(labelAngle=0)),
        xOffset="kind:N",
        y=alt.Y("count:Q", title="Events"),
        color=alt.Color("kind:N", title=None, scale=alt.Scale(range=[OKABE_BLUE, OKABE_GREEN]), legend=alt.Legend(orient="bottom")),
        tooltip=["week:O", "kind:N", "count:Q"],
    ).properties(height=height, description=(
        f"Logins and exercises per treatment week, {len(weekly)} week(s): {int(weekly['logins'].sum())} logins and "
        f"{int(weekly['exercises'].sum())} exercises in all. Each week's numbers are also in a table.")))


STATE_STYLE = {  # state: (colour, dash) — the state is also written on each row
    "completed": (OKABE_BLUE, []), "completed late": (OKABE_BLUE, [4, 2]), "in progress": (OKABE_GREEN, []),
    "overdue (started)": (OKABE_VERMILLION, []), "overdue (not started)": (OKABE_VERMILLION, [2, 2]),
    "not started": ("#9a9a9a", [2, 2]),
}


def module_timeline_chart(timeline: pd.DataFrame, now, height_per_module: int = 30) -> alt.LayerChart:
    """Each module's start-to-completion bar against its due date (a tick); the
    state is written in the module's label, and overdue modules are vermillion."""
    frame = timeline.assign(
        label=[f"{p}. {t} ({state})" for p, t, state in zip(timeline["position"], timeline["title"], timeline["state"])],
        start=timeline["started_at"],
        end=timeline["completed_at"].fillna(pd.Timestamp(now)).where(timeline["started_at"].notna()),
    )
    order = list(frame["label"])
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=360, labelOverlap=False))
    times = pd.concat([frame["due_at"], frame["started_at"], pd.Series([pd.Timestamp(now)])]).dropna()  # due dates
    x_scale = alt.Scale(domain=[times.min() - pd.Timedelta(days=7), times.max() + pd.Timedelta(days=2)])  # may be unknown
    colour = alt.Color("state:N", title=None, scale=alt.Scale(domain=list(STATE_STYLE), range=[c for c, _ in STATE_STYLE.values()]),
                       legend=alt.Legend(orient="bottom", columns=3, labelLimit=0))
    tooltip = [alt.Tooltip("label:N", title="Module"), alt.Tooltip("due_at:T", title="Due", format="%d %b"),
               alt.Tooltip("started_at:T", title="Started", format="%d %b"),
               alt.Tooltip("completed_at:T", title="Completed", format="%d %b"), alt.Tooltip("state:N", title="State")]
    bars = alt.Chart(frame.dropna(subset=["start"])).mark_bar(height=12, cornerRadius=2).encode(
        x=alt.X("start:T", title=None, scale=x_scale, axis=alt.Axis(format="%d %b", labelAngle=0)), x2="end:T",
        y=y, color=colour, tooltip=tooltip)
    due = alt.Chart(frame).mark_tick(thickness=2, size=18, color=INK).encode(
        x=alt.X("due_at:T", scale=x_scale), y=y, tooltip=tooltip)
    today = alt.Chart(pd.DataFrame({"now": [pd.Timestamp(now)]})).mark_rule(color="#6b6b6b", strokeDash=[3, 3]).encode(
        x=alt.X("now:T", scale=x_scale))
    description = ("Module timeline, each module's start to completion against its due date: "
                   + "; ".join(frame["label"]) + ".")
    return legible(alt.layer(bars, due, today).properties(height=max(120, height_per_module * len(frame)),
                                                          description=description))


# ---------------------------------------------------------------- Caseload


def funnel_chart(stages: pd.DataFrame, height_per_module: int = 30) -> alt.LayerChart:
    """One programme's module funnel: share of counted patients who started module k,
    labelled with the counts (a bar's length alone hides a small denominator)."""
    data = stages.assign(
        module=[f"{int(p)} · {t}" if isinstance(t, str) else f"{int(p)}" for p, t in zip(stages["position"], stages["title"])],
        label=[f"{int(s)}/{int(e)}" + ("" if e else " (none yet)") for s, e in zip(stages["started"], stages["eligible"])],
        share=stages["share"].fillna(0.0),
    )
    order = list(data.sort_values("position")["module"])
    y = alt.Y("module:N", sort=order, title=None, axis=alt.Axis(labelLimit=260, labelOverlap=False))
    bars = alt.Chart(data).mark_bar(color=OKABE_BLUE).encode(
        y=y, x=alt.X("share:Q", title="started the module", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        tooltip=[alt.Tooltip("module:N"), alt.Tooltip("started:Q", title="started"),
                 alt.Tooltip("eligible:Q", title="counted"), alt.Tooltip("share:Q", format=".0%")])
    text = alt.Chart(data).mark_text(align="left", dx=4, color=INK).encode(y=y, x="share:Q", text="label:N")
    description = "Patients who started each module, of those counted: " + "; ".join(
        f"module {m}: {label}" for m, label in zip(data.sort_values("position")["module"],
                                                   data.sort_values("position")["label"])) + "."
    return legible((bars + text).properties(height=max(80, height_per_module * len(data)), width="container",
                                            description=description))


def dropout_chart(dropouts: pd.DataFrame, height_per_module: int = 30) -> alt.LayerChart:
    """Drop-outs by the last module they started (0 = never started one)."""
    data = dropouts.assign(module=[
        "not started" if int(p) == 0 else (f"{int(p)} · {t}" if isinstance(t, str) else f"{int(p)}")
        for p, t in zip(dropouts["position"], dropouts["title"])])
    order = list(data.sort_values("position")["module"])
    y = alt.Y("module:N", sort=order, title="last module started", axis=alt.Axis(labelLimit=260, labelOverlap=False))
    bars = alt.Chart(data).mark_bar(color=OKABE_VERMILLION).encode(
        y=y, x=alt.X("dropouts:Q", title="drop-outs", axis=alt.Axis(tickMinStep=1)),
        tooltip=["module:N", "dropouts:Q"])
    text = alt.Chart(data).mark_text(align="left", dx=4, color=INK).encode(y=y, x="dropouts:Q", text="dropouts:Q")
    ordered = data.sort_values("position")
    description = "Drop-outs by the last module started: " + "; ".join(
        f"{m}: {int(n)}" for m, n in zip(ordered["module"], ordered["dropouts"])) + "."
    return legible((bars + text).properties(height=max(80, height_per_module * len(data)), width="container",
                                            description=description))


TREND_SERIES = {"enrolments": "Enrolments", "module_completions": "Module completions", "open_episodes": "Active patients"}


def trends_chart(trends: pd.DataFrame, target_recovery: float | None, height: int = 110) -> alt.VConcatChart:
    """Weekly counts, each on its own scale, and the recovery rate with the
    standard as a labelled rule; suppressed weeks (too few courses) are gaps."""
    counts = trends.melt(id_vars=["week_end"], value_vars=list(TREND_SERIES), var_name="series", value_name="n")
    counts["series"] = counts["series"].map(TREND_SERIES)
    x = alt.X("week_end:T", title="week ending", axis=alt.Axis(format="%d %b"))
    charts = [
        alt.Chart(counts[counts["series"] == name]).mark_line(point=True, color=OKABE_BLUE).encode(
            x=x, y=alt.Y("n:Q", title=name, axis=alt.Axis(tickMinStep=1)),
            tooltip=[alt.Tooltip("week_end:T", title="week ending", format="%d %b %Y"), alt.Tooltip("n:Q", title=name)],
        ).properties(height=height, width="container")
        for name in TREND_SERIES.values()
    ]
    rates = trends.assign(label=[f"{n}/{d}" for n, d in zip(trends["recovery_numerator"], trends["recovery_denominator"])])
    recovery = alt.Chart(rates).mark_line(point=True, color=OKABE_GREEN).encode(
        x=x, y=alt.Y("recovery_rate:Q", title="Recovery", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        tooltip=[alt.Tooltip("week_end:T", title="week ending", format="%d %b %Y"),
                 alt.Tooltip("recovery_rate:Q", format=".0%", title="recovery"), alt.Tooltip("label:N", title="recovered/at caseness")])
    layers = [recovery]
    if target_recovery is not None:
        rule = pd.DataFrame({"y": [target_recovery], "text": [f"standard {target_recovery:.0%}"]})
        layers += [alt.Chart(rule).mark_rule(strokeDash=[4, 4], color=INK).encode(y="y:Q"),
                   alt.Chart(rule).mark_text(align="left", dy=-6, x=4, color=INK).encode(y="y:Q", text="text:N")]
    charts.append(alt.layer(*layers).properties(height=height, width="container"))
    return legible(alt.vconcat(*charts).resolve_scale(x="shared").properties(description=trends_description(trends)))


def trends_description(trends: pd.DataFrame) -> str:
    """Totals and end points in words; every weekly value is in the Trends CSV."""
    if trends.empty:
        return "Weekly trends: no weeks to show."
    ends = trends.sort_values("week_end")
    first, last = ends.iloc[0], ends.iloc[-1]
    judged = ends.dropna(subset=["recovery_rate"])
    recovery = (f"recovery shown for {len(judged)} week(s), latest {judged['recovery_rate'].iloc[-1]:.0%}"
                if not judged.empty else "too few finished courses for a weekly recovery rate")
    return (f"Weekly trends, {len(ends)} weeks from {_day(first['week_end'])} to {_day(last['week_end'])}: "
            f"{int(ends['enrolments'].sum())} enrolments and {int(ends['module_completions'].sum())} module completions "
            f"in all; active patients {int(first['open_episodes'])} then {int(last['open_episodes'])}; {recovery}.")
