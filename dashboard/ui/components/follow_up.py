"""The patient page's "At follow-up" section: each trajectory's latest score 4-26 weeks
after the episode end (settings) against the episode's baseline, and whether the
end-of-treatment recovery or reliable improvement was maintained (issue 20). Its own small
table under the outcome table, so that one keeps Status and Reliable change in view at 1024 px."""

from collections.abc import Callable
from datetime import datetime

import pandas as pd
import streamlit as st

from dashboard import i18n
from dashboard.config import Settings
from dashboard.i18n import N_, ngettext
from dashboard.i18n import gettext as _
from dashboard.outcomes import Maintained, follow_up_window, maintained_words
from dashboard.patient import FollowUpScore
from dashboard.text import md

NOT_ENDED = N_("episode not ended: follow-up scores are those answered {lo}-{hi} weeks after the end.")
NO_SCORE = N_("no follow-up score yet: the window is {lo}-{hi} weeks after the end ({start} to {stop}).")


def follow_up_section(
    ended_at: datetime | None,
    scores: list[FollowUpScore],
    kept: Maintained,
    measures: str,
    settings: Settings,
    day: Callable[[object], str],
) -> None:
    """The follow-up table and the maintained line, or why there is none, never a blank."""
    st.markdown("**" + _("At follow-up") + "**")
    lo, hi = i18n.format_number(settings.follow_up_from_weeks), i18n.format_number(settings.follow_up_to_weeks)
    window = follow_up_window(ended_at, settings)
    if window is None:
        st.caption(_(NOT_ENDED).format(lo=lo, hi=hi))
        return
    if not scores:
        st.caption(_(NO_SCORE).format(lo=lo, hi=hi, start=day(window[0]), stop=day(window[1])))
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    _("Measure"): f.summary.scale.name,
                    _("At follow-up"): f.shown(),
                    _("Reliable change"): f.reliable_change,
                    _("Change since baseline"): f.change_words,
                    _("When"): ngettext(
                        "{day}, {weeks} week after end", "{day}, {weeks} weeks after end", int(f.weeks_after_end)
                    ).format(day=day(f.at), weeks=f.weeks_after_end),
                }
                for f in scores
            ]
        ),
        hide_index=True,
        width="stretch",
        column_config={_("Measure"): st.column_config.TextColumn(_("Measure"), pinned=True, width=120)},
    )
    st.markdown(
        md(
            _("Maintained at follow-up (NHS paired status, baseline against the latest follow-up {measures}):").format(
                measures=measures
            )
        )
        + " "
        + md(maintained_words(kept))  # outcomes' words (the domain slice)
        + "."
    )
