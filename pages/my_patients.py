"""My patients: the viewer's caseload at a glance."""

import pandas as pd
import streamlit as st

from dashboard.flags import RISK_KINDS, title
from dashboard.i18n import gettext as _
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
st.title(_("My patients"))
frame, as_of = cached.my_patients(ctx.platform, ctx.config.db_url, ctx.viewer, ctx.config.settings)
result, _triaged_at = cached.triage(  # not `_`: that is gettext here
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
    st.info(_("No patients are assigned to you in the platform yet."))
    st.stop()

left, right, search_col = st.columns([2, 2, 2])
programmes = left.multiselect(
    _("Programme"), sorted(frame["programme"].dropna().unique()), placeholder=_("All programmes")
)
statuses = right.multiselect(
    _("Status"),
    list(STATUS_LABELS),
    default=["active"],
    format_func=lambda s: _(STATUS_LABELS[s]),
    placeholder=_("All statuses"),
)
search = search_col.text_input(
    _("Find patient code"),
    placeholder=_("e.g. 0042"),
    help=_("Part of the code, in any case; searches every status"),
).strip()

shown, hidden_note = filter_patients(frame, programmes, statuses, search)

table = shown.assign(
    display_name=shown["display_name"].fillna(""),
    therapist=shown["therapist"].fillna(_("unassigned")),
    primary_instrument=shown["primary_instrument"].map(lambda c: INSTRUMENTS[c].name if c in INSTRUMENTS else c),
    latest=[
        score_with_band(s, b, p)
        for s, b, p in zip(shown["latest_score_display"], shown["latest_band"], shown["latest_prorated"])
    ],
    status=shown["status"].map(lambda s: _(STATUS_LABELS[s]) if s in STATUS_LABELS else _("Not recorded")),
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

st.caption(
    _("{shown} of {total} patients").format(shown=len(shown), total=len(frame))
    + (_(" · searching every status") if search else "")
)
if hidden_note:
    st.info(hidden_note, icon=":material/filter_alt:")
if shown.empty:
    st.info(
        _("No patient code contains “{search}”.").format(search=md(search))
        if search and not hidden_note
        else _("No patients match these filters.")
    )
else:
    with wide_table("patients"):
        st.caption(_("Select a row to open the patient.") + " " + _(KEYBOARD_HINT))
        chosen_row = selected_row(
            table[columns],
            "my_patients_table",
            {
                "code": st.column_config.TextColumn(
                    _("Patient"), width=80, pinned=True, help=_("Pseudonymous platform code")
                ),
                "flags": st.column_config.TextColumn(
                    _("Flags"),
                    width=280,
                    pinned=True,
                    help=_("Current triage flags, most urgent first (see the patient page for reasons)"),
                ),
                "status": st.column_config.TextColumn(_("Status"), width=95),
                "display_name": st.column_config.TextColumn(_("Name"), width=140),
                "programme": st.column_config.TextColumn(_("Programme")),
                "therapist": st.column_config.TextColumn(_("Therapist")),
                "progress": st.column_config.TextColumn(
                    _("Progress"), help=_("Current module (the lowest not yet completed) of the programme's modules")
                ),
                "days_since_activity": st.column_config.NumberColumn(
                    _("Inactive"),
                    width=75,
                    format=_("%d d"),
                    help=_("Whole days since the latest login, exercise, questionnaire, message or module step"),
                ),
                "primary_instrument": st.column_config.TextColumn(_("Measure")),
                "latest": st.column_config.TextColumn(
                    _("Latest score"),
                    help=_("Latest valid score on the programme's primary measure, with its severity band"),
                ),
            },
        )
    compact_list(
        "patients",
        [
            CompactItem(
                r.code,
                r.patient_id,
                r.status
                + (
                    ""
                    if pd.isna(r.days_since_activity)
                    else _(" · inactive {days} d").format(days=int(r.days_since_activity))
                ),
                r.flags or _("no flags"),
                urgent=r.flags.startswith(tuple(title(k) for k in RISK_KINDS)),
            )
            for r in table.itertuples()
        ],
    )
    if chosen_row is not None:
        chosen = table.iloc[chosen_row]
        open_patient(chosen["code"], chosen["patient_id"])
