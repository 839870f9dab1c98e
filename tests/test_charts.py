"""The chart builders through their Vega-Lite specs (no browser): what a clinician
would misread if labels overprinted, states shared an encoding or a panel overflowed."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from xml.etree import ElementTree

import altair
import jsonschema
import pandas as pd
import pytest
import vl_convert

from dashboard import charts
from dashboard.measures import INSTRUMENTS

SVG = "{http://www.w3.org/2000/svg}"
DAYS = pd.date_range("2026-07-13", periods=20, freq="4D")
NOW = pd.Timestamp("2026-10-01")


def layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


def mark_type(layer: dict) -> str:
    return layer["mark"] if isinstance(layer["mark"], str) else layer["mark"]["type"]


def phq9_with_many_risk_answers() -> dict:
    """Twenty PHQ-9s four days apart, seventeen item-9 answers above 0, a clinic score and a prorated one."""
    episode = pd.DataFrame(
        {
            "instrument": "PHQ9",
            "administered_at": DAYS,
            "score": [12, 14, 15, 17, 19, 18, 20, 21, 22, 24, 23, 25, 26, 27, 25, 24, 26, 27, 26, 27],
            "prorated": [i == 5 for i in range(20)],
        }
    )
    risk = pd.DataFrame({"date": DAYS[3:], "item_score": [1, 2, 3, 1, 2, 2, 3, 3, 1, 2, 3, 1, 2, 3, 2, 1, 3]})
    clinic = pd.DataFrame({"date": [DAYS[8] + pd.Timedelta(days=1)], "score": [25.0]})
    return charts.trajectory_chart("PHQ9", episode, risk, clinic)


def phq9_with_a_follow_up() -> dict:
    """Three PHQ-9s in the episode (16 -> 8), then two after its end: 7 and 14 weeks later."""
    episode = pd.DataFrame({"instrument": "PHQ9", "administered_at": DAYS[:3], "score": [16, 12, 8], "prorated": False})
    end = DAYS[2]
    later = [end + pd.Timedelta(weeks=7), end + pd.Timedelta(weeks=14)]
    follow_up = pd.DataFrame({"instrument": "PHQ9", "administered_at": later, "score": [7, 15], "prorated": False})
    return charts.trajectory_chart("PHQ9", episode, follow_up=follow_up, ended_at=end.to_pydatetime())


def test_follow_up_scores_are_their_own_marker_with_weeks_after_the_end_and_an_end_rule():
    spec = phq9_with_a_follow_up()
    follow = [layer for layer in layers(spec) if layer["mark"].get("color") == charts.OKABE_PURPLE]
    assert [(r["score"], r["label"], r["kind"]) for r in follow[0]["data"]["values"]] == [
        (7, "follow-up, 7 weeks after end", "reliably better than baseline"),  # 16 -> 7: a decrease of 9 >= 6
        (15, "follow-up, 14 weeks after end", "no reliable change"),
    ]
    (rule,) = [layer for layer in layers(spec) if layer["mark"].get("description") == "episode end"]
    assert "x" in rule["encoding"]
    line = next(layer for layer in layers(spec) if mark_type(layer) == "line")
    assert [r["score"] for r in line["data"]["values"]] == [16, 12, 8]  # the line is the episode's only
    assert charts.FOLLOW_UP_MARKER in follow[0]["encoding"]["shape"]["scale"]["domain"]
    assert "2 follow-up scores after the episode end" in spec["description"]
    assert any("14 weeks after end" in line for line in spec["title"]["subtitle"])


@pytest.mark.parametrize("width", [300, 700])
def test_a_point_on_the_last_day_is_drawn_whole_inside_the_plot(width):
    """Before: the follow-up answered on the chart's last day sat on the plot's right edge,
    half of its triangle under the band names (seen on a completed patient's page)."""
    svg = vl_convert.vegalite_to_svg({**phq9_with_a_follow_up(), "width": width})
    points = re.findall(r'aria-roledescription="point" transform="translate\(([-\d.]+),', svg)
    assert points
    half = 5  # the follow-up triangle reaches 4.541 px either side of its centre
    assert all(half <= float(x) <= width - half for x in points)


def test_trajectory_draws_no_text_inside_the_plot():
    """Every word sits where no mark can cover it: axes, title, legend, tooltip."""
    spec = phq9_with_many_risk_answers()
    assert [mark_type(layer) for layer in layers(spec) if mark_type(layer) == "text"] == []


def test_every_risk_answer_is_a_diamond_above_the_scale_with_its_value_in_the_tooltip():
    spec = phq9_with_many_risk_answers()
    diamonds = [
        layer for layer in layers(spec) if isinstance(layer["mark"], dict) and layer["mark"].get("shape") == "diamond"
    ]
    assert len(diamonds) == 1
    rows = diamonds[0]["data"]["values"]
    assert len(rows) == 17
    top = INSTRUMENTS["PHQ9"].max_total
    assert all(row["top"] > top + 0.5 for row in rows)  # in the strip above the top band, clear of the line
    assert spec["layer"][0]["encoding"]["y"]["scale"]["domain"][1] > rows[0]["top"]
    assert "answer" in [t["field"] for t in diamonds[0]["encoding"]["tooltip"]]
    assert sorted({row["answer"] for row in rows}) == [1, 2, 3]


# clinical-reference 1.3 and 2.2: the scores each band holds, and the cut-off line
REFERENCE_BANDS = {
    "PHQ9": [
        (0, 4, "minimal"),
        (5, 9, "mild"),
        (10, 14, "moderate"),
        (15, 19, "moderately severe"),
        (20, 27, "severe"),
    ],
    "GAD7": [(0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"), (15, 21, "severe")],
}
REFERENCE_CUT_OFF = {"PHQ9": 10, "GAD7": 8}


@pytest.mark.parametrize("instrument", list(REFERENCE_BANDS))
def test_bands_shade_the_reference_scores_and_the_cut_off_is_the_caseness_line(instrument):
    """Each band's rectangle covers exactly the whole scores the reference puts in it,
    says its name in its tooltip, and the dashed line sits at NHS caseness, labelled."""
    episode = pd.DataFrame({"instrument": instrument, "administered_at": DAYS[:2], "score": [12, 6], "prorated": False})
    spec = charts.trajectory_chart(instrument, episode)
    rect = next(layer for layer in layers(spec) if mark_type(layer) == "rect")
    drawn = [(row["low"], row["high"], row["band"]) for row in rect["data"]["values"]]
    expected = [(max(low - 0.5, -0.5), high + 0.5, name) for low, high, name in REFERENCE_BANDS[instrument]]
    assert drawn == expected
    assert rect["encoding"]["tooltip"] == [{"field": "band", "type": "nominal", "title": "Band"}]
    assert len({row["shade"] for row in rect["data"]["values"]}) == len(expected)  # one shade a band
    rule = next(layer for layer in layers(spec) if mark_type(layer) == "rule")
    cut_off = REFERENCE_CUT_OFF[instrument]
    assert rule["encoding"]["y"]["datum"] == cut_off and rule["mark"]["description"] == f"cut-off {cut_off}"
    assert f"Dashed line: cut-off {cut_off}" in spec["title"]["subtitle"]


def test_each_score_tooltip_names_date_score_band_change_and_items():
    spec = phq9_with_many_risk_answers()
    point = next(layer for layer in layers(spec) if mark_type(layer) == "point" and "stroke" in layer["mark"])
    assert [(t["title"], t.get("format")) for t in point["encoding"]["tooltip"]] == [
        ("Date", "%d %b %Y"),
        ("Score", None),
        ("Band", None),
        ("Versus baseline", None),
        ("Items", None),
    ]
    first, prorated = point["data"]["values"][0], point["data"]["values"][5]
    assert (first["date"], first["shown"], first["band"], first["kind"]) == (
        "2026-07-13T00:00:00",
        12,
        "moderate",
        "baseline",
    )
    assert prorated["prorated"] == "prorated (missing items)"


def test_descriptions_count_in_words_not_with_s_in_brackets():
    """A screen reader says "1 valid questionnaire", "17 risk answers", never "answer(s)"."""
    spec = phq9_with_many_risk_answers()
    assert "20 valid questionnaires from 13 Jul 2026" in spec["description"]
    assert "17 risk answers above 0" in spec["description"] and "1 clinic score marked" in spec["description"]
    one = pd.DataFrame({"instrument": "PHQ9", "administered_at": DAYS[:1], "score": [9], "prorated": False})
    assert "1 valid questionnaire from" in charts.trajectory_chart("PHQ9", one)["description"]
    weekly = pd.DataFrame({"week": [0, 1], "logins": [1, 0], "exercises": [2, 3]})
    assert charts.weekly_activity_chart(weekly)["description"].startswith(
        "Logins and exercises per treatment week, 2 weeks: 1 login and 5 exercises in all."
    )
    week = charts.trends_chart(trends().iloc[:1], 0.5)["description"]
    assert "1 week from" in week and "0 enrolments and 5 module completions" in week
    for spec in every_spec():
        assert "(s)" not in spec["description"]


def test_a_chart_with_nothing_to_draw_says_so():
    nothing = pd.DataFrame({"instrument": [], "administered_at": [], "score": [], "prorated": []})
    spec = charts.trajectory_chart("PHQ9", nothing)
    assert spec["title"]["subtitle"] == ["no valid questionnaire yet"]
    assert spec["description"] == "PHQ-9 score over time: no valid questionnaire yet."
    assert [mark_type(layer) for layer in layers(spec)] == ["rect", "rule"]  # bands and cut-off, no points
    assert charts.trends_chart(trends().iloc[:0], 0.5)["description"] == "Weekly trends: no weeks to show."


def test_phq9_axis_has_a_tick_every_5_and_band_names_on_their_own_axis():
    spec = phq9_with_many_risk_answers()
    axes = [layer["encoding"]["y"].get("axis") for layer in layers(spec)]
    shown = [axis for axis in axes if axis]  # every other layer has axis None
    left = [axis for axis in shown if axis.get("orient") != "right"]
    right = [axis for axis in shown if axis.get("orient") == "right"]
    assert [axis["values"] for axis in left] == [[0, 5, 10, 15, 20, 25]]
    assert len(right) == 1 and right[0]["labelOverlap"] is False
    assert spec["resolve"]["axis"]["y"] == "independent"


@pytest.mark.parametrize("instrument", [i for i in INSTRUMENTS if INSTRUMENTS[i].bands])
def test_band_names_have_room_on_the_right_axis(instrument):
    """Adjacent band labels (their lines, 11 px a line) never reach each other at the default height."""
    inst = INSTRUMENTS[instrument]
    episode = pd.DataFrame(
        {"instrument": instrument, "administered_at": DAYS[:2], "score": [10, 12], "prorated": False}
    )
    spec = charts.trajectory_chart(instrument, episode)
    axis = next(
        layer["encoding"]["y"]["axis"]
        for layer in layers(spec)
        if (layer["encoding"]["y"].get("axis") or {}).get("orient") == "right"
    )
    mids = axis["values"]
    assert mids == sorted(mids) and len(mids) == len(inst.bands)
    px_per_point = 240 / (inst.max_total + 0.5)
    lines = [len(charts.band_lines(b.label)) for b in inst.bands]
    for i in range(len(mids) - 1):
        needed = (lines[i] + lines[i + 1]) / 2 * 11 + 2
        assert (mids[i + 1] - mids[i]) * px_per_point >= needed, (inst.bands[i].label, inst.bands[i + 1].label)
    for band in inst.bands:
        assert repr(charts.band_lines(band.label)) in axis["labelExpr"]
        assert " ".join(charts.band_lines(band.label)) == band.label


def test_baseline_latest_and_cut_off_are_in_the_subtitle_not_over_the_points():
    spec = phq9_with_many_risk_answers()
    subtitle = spec["title"]["subtitle"]
    assert subtitle[0].startswith("Baseline 12 (moderate)")
    assert subtitle[1].startswith("Latest 27 (severe)") and subtitle[1].endswith("reliably worse")
    assert "cut-off 10" in subtitle[2] and "prorated" in subtitle[2]
    rule = next(layer for layer in layers(spec) if mark_type(layer) == "rule")
    assert rule["encoding"]["y"]["datum"] == 10


def test_trajectory_legend_names_every_marker_in_one_legend():
    spec = phq9_with_many_risk_answers()
    marked = [layer["encoding"] for layer in layers(spec) if "shape" in layer.get("encoding", {})]
    assert not any("color" in enc for enc in marked)  # a colour legend would list every marker twice
    domains = {tuple(enc["shape"]["scale"]["domain"]) for enc in marked}
    assert len(domains) == 1  # the same scale everywhere, so Vega-Lite draws one legend
    (domain,) = domains
    assert {"baseline", "reliably worse", charts.CLINIC_MARKER, "item 9 above 0"} <= set(domain)
    shapes = marked[0]["shape"]["scale"]["range"]
    assert len(set(shapes)) == len(shapes)
    fill = layers(spec)[[mark_type(layer) for layer in layers(spec)].index("point")]["mark"]["fill"]["expr"]
    assert charts.OKABE_VERMILLION in fill and "datum.value" in fill  # legend symbols coloured like the marks


def axis_labels(spec: dict, axis: str, width: int) -> list[str]:
    """The labels an axis ("X" or "Y") shows, rendered at ``width`` px as Streamlit sizes the chart."""
    root = ElementTree.fromstring(vl_convert.vegalite_to_svg({**spec, "width": width}))
    group = next(g for g in root.iter(f"{SVG}g") if (g.get("aria-label") or "").startswith(f"{axis}-axis"))
    return [
        text.text or ""
        for g in group.iter(f"{SVG}g")
        if "role-axis-label" in (g.get("class") or "")
        for text in g.iter(f"{SVG}text")
        if text.get("opacity") != "0"
    ]


@pytest.mark.parametrize("width", [300, 700, 1100])  # a phone's plot to a wide laptop's
@pytest.mark.parametrize(
    "times",
    [
        ["2026-11-04 09:00", "2026-11-11 09:00"],  # the reviewer's PHQ-9: 04 Nov ... 11 Nov, 8 days
        ["2026-11-04 09:00", "2026-11-05 14:00"],
        ["2026-11-04 20:00", "2026-11-05 08:00"],  # under a day, over midnight
        ["2026-11-04 09:00", "2026-11-04 17:00"],  # one day
        ["2026-11-04 09:00", "2026-11-08 09:00", "2026-11-18 09:00"],
    ],
)
def test_a_short_trajectory_names_each_day_once(times, width):
    """Before: ticks every few hours, each labelled with its day, so 8 days read
    "04 Nov 04 Nov 04 Nov 05 Nov ..." and the axis seemed to repeat itself."""
    episode = pd.DataFrame(
        {"instrument": "PHQ9", "administered_at": pd.to_datetime(times), "score": range(12, 12 + len(times))}
    ).assign(prorated=False)
    labels = axis_labels(charts.trajectory_chart("PHQ9", episode), "X", width)
    assert labels and len(labels) == len(set(labels)), labels


def test_a_long_trajectory_keeps_its_ticks():
    """76 days: at most one tick a day changes nothing, Vega-Lite's count (one per 40 px) stands."""
    spec = phq9_with_many_risk_answers()
    assert spec["layer"][-1]["encoding"]["x"]["axis"]["tickCount"] == {"expr": "min(ceil(width / 40), 76)"}
    default = json.loads(json.dumps(spec).replace('{"expr": "min(ceil(width / 40), 76)"}', '"-"'))
    for layer in default["layer"]:
        if layer["encoding"].get("x", {}).get("axis", {}).get("tickCount") == "-":
            del layer["encoding"]["x"]["axis"]["tickCount"]
    for width in (300, 1100):
        assert axis_labels(spec, "X", width) == axis_labels(default, "X", width)
    assert axis_labels(spec, "X", 300) == ["12 Jul", "26 Jul", "09 Aug", "23 Aug", "06 Sep", "20 Sep"]


@pytest.mark.parametrize("counts", [[0, 1, 0], [0, 3, 2], [0, 0, 0]])
def test_engagement_axis_counts_whole_events(counts):
    """Before: one login drew 0.0, 0.2, ... 1.0 events on the axis (and Streamlit 0.000000 on none)."""
    weekly = pd.DataFrame({"week": range(3), "logins": counts, "exercises": counts})
    labels = [label for label in axis_labels(charts.weekly_activity_chart(weekly), "Y", 300) if label]
    assert labels and all(label.isdigit() for label in labels), labels
    assert len(labels) == len(set(labels))


def test_engagement_with_no_logins_or_exercises_is_not_charted():
    """All zeros, or no weeks (an unknown enrolment date): the page says so in words instead."""
    zeros = pd.DataFrame({"week": range(3), "logins": 0, "exercises": 0, "from_patient": [0, 2, 0]})
    assert not charts.weekly_activity(zeros) and not charts.weekly_activity(zeros.iloc[:0])
    assert charts.weekly_activity(zeros.assign(exercises=[0, 0, 1]))


def timeline(states: list[str]) -> pd.DataFrame:
    enrolled = pd.Timestamp("2026-07-01")
    rows = []
    for k, state in enumerate(states, 1):
        due = enrolled + pd.Timedelta(days=10 * k)
        started = pd.NaT if state in ("overdue (not started)", "not started") else due - pd.Timedelta(days=8)
        done = {"completed": due - pd.Timedelta(days=1), "completed late": due + pd.Timedelta(days=9)}.get(
            state, pd.NaT
        )
        rows.append(
            {
                "position": k,
                "title": f"Module number {k}",
                "due_at": due,
                "started_at": started,
                "completed_at": done,
                "state": state,
            }
        )
    return pd.DataFrame(rows)


ALL_STATES = list(charts.STATE_STYLE)


def test_every_module_state_has_its_own_colour_and_shape():
    colours = [c for c, _ in charts.STATE_STYLE.values()]
    shapes = [s for _, s in charts.STATE_STYLE.values()]
    assert len(set(colours)) == len(colours) == len(set(shapes)) == len(shapes) == 6
    spec = charts.module_timeline_chart(timeline(ALL_STATES), NOW)
    marks = next(layer for layer in spec["layer"] if mark_type(layer) == "point")
    assert marks["encoding"]["color"]["scale"]["range"] == colours
    assert marks["encoding"]["shape"]["scale"]["range"] == shapes
    rows = marks["data"]["values"]
    assert [row["row"].split("|")[1] for row in rows] == ALL_STATES  # each row names its state beside its marker


@pytest.mark.parametrize("n", [1, 6, 8, 10])
def test_module_rows_have_room_for_two_label_lines(n):
    states = (ALL_STATES * 2)[:n]
    spec = charts.module_timeline_chart(timeline(states), NOW)
    plot = spec["height"] - charts.AXIS_PX
    assert plot / max(n, 2) >= 2 * 13 + 8


def test_module_labels_read_cleanly():
    spec = charts.module_timeline_chart(timeline(ALL_STATES), NOW)
    rows = spec["layer"][1]["data"]["values"]
    assert rows[4]["row"] == "5. Module number 5|overdue (not started)"  # drawn as two lines
    assert "((" not in spec["description"] and "))" not in spec["description"]
    assert "5. Module number 5: overdue (not started)" in spec["description"]


def trends(weeks: int = 12) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "week_end": pd.date_range("2026-06-07", periods=weeks, freq="7D"),
            "enrolments": range(weeks),
            "module_completions": [5] * weeks,
            "open_episodes": range(100, 100 + weeks),
            "recovery_rate": [None, 0.4] + [0.5] * (weeks - 2),
            "recovery_numerator": [1] * weeks,
            "recovery_denominator": [2] * weeks,
        }
    )


def test_trend_panels_keep_everything_inside_their_width():
    """Streamlit gives each panel the column's width: no y title or outside labels, and padding
    at the x scale's ends, so the latest week is never clipped."""
    spec = charts.trends_chart(trends(), 0.5)
    for panel in spec["vconcat"]:
        for layer in layers(panel):
            enc = layer["encoding"]
            if "x" in enc:
                assert enc["x"]["scale"]["padding"] >= 20 and enc["x"]["axis"]["labelBound"] is True
            axis = enc["y"]["axis"]
            assert axis["labelAlign"] == "left" and axis["labelPadding"] < 0 and axis["title"] is None
        assert panel["width"] == "container"  # Streamlit puts the column's width here, the HTML report a fixed one


def test_recovery_points_share_the_line_colour():
    spec = charts.trends_chart(trends(), 0.5)
    for panel in spec["vconcat"]:
        line = layers(panel)[0]["mark"]
        assert line["point"]["color"] == line["color"]
    recovery = spec["vconcat"][-1]
    assert "standard 50%" in recovery["title"]["text"]
    assert [mark_type(layer) for layer in recovery["layer"]] == ["line", "rule"]


@pytest.mark.parametrize("instrument", list(INSTRUMENTS))
@pytest.mark.parametrize("scores", [[], [9], [20, 8, 15]])
def test_every_instrument_charts_without_text_marks(instrument, scores):
    """Bands or none, no response, one or several: a valid spec, words only outside the plot."""
    episode = pd.DataFrame(
        {"instrument": instrument, "administered_at": DAYS[: len(scores)], "score": scores, "prorated": False}
    )
    spec = charts.trajectory_chart(instrument, episode)
    assert "text" not in [mark_type(layer) for layer in layers(spec)]
    assert spec["title"]["text"] == INSTRUMENTS[instrument].name


# ---------------------------------------------------------------- Caseload: drop-out by module

NARROW_PLOT_PX = 390 - 2 * 16 - charts.MODULE_LABEL_LIMIT_PX - 20  # a phone: page padding, module labels, axis gap
CHAR_PX = 7  # a generous average width of an 11 px axis-title character


def by_module() -> pd.DataFrame:
    """Module 1: 1 of 4 dropped out; 2: 3 of 3 (every starter); 3: none of 3; 4: nobody started yet."""
    return pd.DataFrame(
        {
            "position": [3, 1, 2, 4],
            "title": ["Thoughts and feelings", "Understanding depression", "Behavioural activation", "Staying well"],
            "started": [3, 4, 3, 0],
            "dropouts": [0, 1, 3, 0],
            "dropout_rate": [0.0, 0.25, 1.0, None],
        }
    )


def test_dropout_chart_lists_every_module_with_its_counts():
    spec = charts.dropout_chart(by_module())
    rows = spec["layer"][0]["data"]["values"]
    assert [(r["module"], r["label"]) for r in rows] == [
        ("1 · Understanding depression", "1 of 4 (25%)"),
        ("2 · Behavioural activation", "3 of 3 (100%)"),
        ("3 · Thoughts and feelings", "0 of 3 (0%)"),  # zero drop-out is listed, not left out
        ("4 · Staying well", "nobody started yet"),  # no rate, not "0 %"
    ]
    assert "module 3 · Thoughts and feelings: 0 of 3 (0%)" in spec["description"]
    bars, after, inside = spec["layer"]
    assert bars["encoding"]["x"]["scale"]["domain"] == [0, 1]  # programmes compare on one scale
    assert after["transform"] == [{"filter": "!datum.inside"}] and inside["transform"] == [{"filter": "datum.inside"}]
    assert [r["inside"] for r in rows] == [False, True, False, False]  # the 100 % label sits inside its bar


@pytest.mark.parametrize(
    "build",
    [
        lambda: charts.dropout_chart(by_module()),
        lambda: charts.funnel_chart(by_module().assign(eligible=[3, 4, 3, 2], share=[1.0, 1.0, 1.0, 0.0])),
    ],
)
def test_module_chart_titles_fit_a_phone_window(build):
    """Before: the y title "last module started" was clipped to "last module startec" by a
    short chart. Now no y title (each label names its module) and an x title that fits the
    plot left beside the module labels in a 390 px window."""
    spec = build()
    for layer in layers(spec):
        enc = layer["encoding"]
        assert enc["y"].get("title") is None
        assert enc["y"]["axis"]["labelLimit"] == charts.MODULE_LABEL_LIMIT_PX
        title = enc["x"].get("title")
        if title:
            assert len(title) * CHAR_PX <= NARROW_PLOT_PX, title


# ---------------------------------------------------------------- every builder: a valid, plain spec


def every_spec() -> list[dict]:
    """Every builder on full and empty inputs, as the pages, the report and the tests call them."""
    weekly = pd.DataFrame({"week": range(4), "logins": [0, 3, 1, 2], "exercises": [0, 1, 0, 4]})
    empty_scores = pd.DataFrame({"instrument": [], "administered_at": [], "score": [], "prorated": []})
    stages = by_module().assign(eligible=[3, 4, 3, 0], share=[1.0, 1.0, 1.0, None])
    return [
        phq9_with_many_risk_answers(),
        phq9_with_a_follow_up(),
        *(charts.trajectory_chart(i, empty_scores) for i in INSTRUMENTS),
        charts.weekly_activity_chart(weekly),
        charts.module_timeline_chart(timeline(ALL_STATES), NOW),
        charts.module_timeline_chart(timeline(["not started"]), NOW),
        charts.funnel_chart(stages),
        charts.dropout_chart(by_module()),
        charts.trends_chart(trends(), 0.5),
        charts.trends_chart(trends(), None),
        charts.trends_chart(trends().iloc[:0], 0.5),
    ]


@cache
def vega_lite_schema() -> dict:
    """The Vega-Lite JSON schema Altair ships (the version Streamlit draws)."""
    (path,) = Path(altair.__file__).parent.glob("vegalite/v*/schema/vega-lite-schema.json")
    return json.loads(path.read_text())


@pytest.mark.parametrize("index", range(len(every_spec())))
def test_every_spec_is_valid_vega_lite_and_plain_json(index):
    """Altair validated each chart as it built it; the dicts are checked here instead.
    Streamlit sends a spec with json.dumps: a numpy or pandas value would fail there."""
    spec = every_spec()[index]
    jsonschema.Draft7Validator(vega_lite_schema()).validate(spec)
    assert json.loads(json.dumps(spec, allow_nan=False)) == spec
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v")
    assert spec["description"]  # every chart is read out in words
