"""My patients: the viewer's caseload at a glance."""

import pandas as pd
import streamlit as st

from dashboard.flags import FLAG_KINDS, RISK_KINDS
from dashboard.measures import INSTRUMENTS
from dashboard.my_patients import filter_patients
from dashboard.text import md
from dashboard.timeutil import freshness_line
from dashboard.triage import ranked
from dashboard.ui import cached
from dashboard.ui.components.compact_list import CompactItem, compact_list, wide_table
from dashboard.ui.components.quality_note import team_quality_note
from dashboard.ui.components.selectable_table import selected_row
from dashboard.ui.context import get_context
from dashboard.ui.nav import open_patient
from dashboard.ui.session import data_version
from dashboard.ui.views import KEYBOARD_HINT, STATUS_LABELS, flag_titles, score_with_band

ctx = get_context()
st.title("My patients")
frame, as_of = cached.my_patients(ctx.platform, ctx.config.db_url, ctx.viewer, ctx.config.settings)
result, _ = cached.triage(
    ctx.platform,
    ctx.state,
    ctx.config.db_url,
    ctx.viewer,
    ctx.config.settings,
    ctx.config.timezone.key,
    None,
    (cached.writes(ctx.platform, ctx.state, ctx.config.db_url, ctx.viewer), data_version()),
)
flags = result.open_flags  # the same flags as Triage and the patient page, acknowledgements applied
by_patient = (
    flags.sort_values(["priority", "since"]).groupby("patient_id")["flag"].agg(lambda s: list(dict.fromkeys(s)))
)
frame = ranked(frame, flags).assign(
    flags=lambda f: f["patient_id"].map(by_patient).map(lambda v: flag_titles(v) if isinstance(v, list) else "")
)
st.caption(freshness_line(as_of, ctx.config.timezone))
team_quality_note(
    ctx.viewer.role, cached.data_quality(ctx.platform, ctx.config.db_url, ctx.viewer, ctx.config.settings)
)

if frame.empty:
    st.info("No patients are assigned to you in the platform yet.")
    st.stop()

left, right, search_col = st.columns([2, 2, 2])
programmes = left.multiselect("Programme", sorted(frame["programme"].dropna().unique()), placeholder="All programmes")
statuses = right.multiselect(
    "Status", list(STATUS_LABELS), default=["active"], format_func=STATUS_LABELS.get, placeholder="All statuses"
)
search = search_col.text_input(
    "Find patient code", placeholder="e.g. 0042", help="Part of the code, in any case; searches every status"
).strip()

shown, hidden_note = filter_patients(frame, programmes, statuses, search)

table = shown.assign(
    display_name=shown["display_name"].fillna(""),
    therapist=shown["therapist"].fillna("unassigned"),
    primary_instrument=shown["primary_instrument"].map(lambda c: INSTRUMENTS[c].name if c in INSTRUMENTS else c),
    latest=[
        score_with_band(s, b, p)
        for s, b, p in zip(shown["latest_score_display"], shown["latest_band"], shown["latest_prorated"])
    ],
    status=shown["status"].map(STATUS_LABELS).fillna("Not recorded"),
)
# Safety first: the code and the flags stay pinned on the left at any width, status beside them.
columns = [
    "code",
    "flags",
    "status",
    "display_name",
    "days_since_activity",
    "latest",
    "progress",
    "programme",
    "primary_instrument",
]
if ctx.viewer.role != "therapist":
    columns.insert(5, "therapist")

st.caption(f"{len(shown)} of {len(frame)} patients" + (" · searching every status" if search else ""))
if hidden_note:
    st.info(hidden_note, icon=":material/filter_alt:")
if shown.empty:
    st.info(
        f"No patient code contains “{md(search)}”."
        if search and not hidden_note
        else "No patients match these filters."
    )
else:
    with wide_table("patients"):
        st.caption(f"Select a row to open the patient. {KEYBOARD_HINT}")
        chosen_row = selected_row(
            table[columns],
            "my_patients_table",
            {
                "code": st.column_config.TextColumn(
                    "Patient", width=80, pinned=True, help="Pseudonymous platform code"
                ),
                "flags": st.column_config.TextColumn(
                    "Flags",
                    width=280,
                    pinned=True,
                    help="Current triage flags, most urgent first (see the patient page for reasons)",
                ),
                "status": st.column_config.TextColumn("Status", width=95),
                "display_name": st.column_config.TextColumn("Name", width=140),
                "programme": st.column_config.TextColumn("Programme"),
                "therapist": st.column_config.TextColumn("Therapist"),
                "progress": st.column_config.TextColumn(
                    "Progress", help="Current module (the lowest not yet completed) of the programme's modules"
                ),
                "days_since_activity": st.column_config.NumberColumn(
                    "Inactive",
                    width=75,
                    format="%d d",
                    help="Whole days since the latest login, exercise, questionnaire, message or module step",
                ),
                "primary_instrument": st.column_config.TextColumn("Measure"),
                "latest": st.column_config.TextColumn(
                    "Latest score", help="Latest valid score on the programme's primary measure, with its severity band"
                ),
            },
        )
    compact_list(
        "patients",
        [
            CompactItem(
                r.code,
                r.patient_id,
                r.status + ("" if pd.isna(r.days_since_activity) else f" · inactive {int(r.days_since_activity)} d"),
                r.flags or "no flags",
                urgent=r.flags.startswith(tuple(FLAG_KINDS[k].title for k in RISK_KINDS)),
            )
            for r in table.itertuples()
        ],
    )
    if chosen_row is not None:
        chosen = table.iloc[chosen_row]
        open_patient(chosen["code"], chosen["patient_id"])
