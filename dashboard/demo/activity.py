"""Patients' activity rows (logins, module pages, exercises, homework)."""

from __future__ import annotations

import numpy as np

from dashboard.demo.clock import DAY, HOUR, HOUR_WEIGHTS, MINUTE, _ragged
from dashboard.demo.content import ACTIVITY_KINDS
from dashboard.demo.patients import _Cohort, _ts


def _activity_table(rng: np.random.Generator, co: _Cohort, first_id: int) -> dict[str, np.ndarray]:
    """Sessions on active days between enrolment and the last engagement, plus module visits."""
    n = co.id.size
    engagement = rng.beta(2.2, 3.2, n)  # chance of using the programme on a given day
    events_per_session = rng.gamma(4.0, 0.9, n)

    first_day = co.enrolled // DAY
    days = co.last // DAY - first_day + 1
    owner, pos = _ragged(days)
    day = first_day[owner] + pos
    weekend = (day + 3) % 7 >= 5
    active = rng.random(owner.size) < engagement[owner] * np.where(weekend, 0.75, 1.0)
    owner, day = owner[active], day[active]

    per_day = 1 + rng.poisson(0.35, owner.size)
    s_idx, _ = _ragged(per_day)
    s_owner = owner[s_idx]
    hour = rng.choice(24, size=s_idx.size, p=HOUR_WEIGHTS)
    s_start = day[s_idx] * DAY + hour * HOUR + rng.integers(0, HOUR, s_idx.size)

    n_events = 1 + rng.poisson(events_per_session[s_owner])
    e_sess, e_pos = _ragged(n_events)
    step = rng.exponential(3 * MINUTE, e_sess.size).astype(np.int64)
    step[e_pos == 0] = 0
    csum = np.cumsum(step)
    offset = csum - (csum - step)[np.cumsum(n_events) - n_events][e_sess]
    when = s_start[e_sess] + offset
    kind = np.where(e_pos == 0, 0, rng.choice([1, 2, 3], size=e_sess.size, p=[0.55, 0.25, 0.20]))
    e_owner = s_owner[e_sess]

    # Every module start and completion is a visit: a login shortly before, then the module page.
    m_owner, m_mod = np.nonzero(co.started)
    c_owner, c_mod = np.nonzero(co.completed)
    visit_owner = np.concatenate([m_owner, c_owner])
    visit = np.concatenate([co.module_start[m_owner, m_mod], co.module_done[c_owner, c_mod]])
    login = visit - rng.integers(1 * MINUTE, 15 * MINUTE, visit.size)

    e_owner = np.concatenate([e_owner, visit_owner, visit_owner])
    when = np.concatenate([when, login, visit])
    kind = np.concatenate([kind, np.zeros(visit.size, int), np.ones(visit.size, int)])
    keep = (when >= co.enrolled[e_owner]) & (when <= co.last[e_owner])
    e_owner, when, kind = e_owner[keep], when[keep], kind[keep]

    order = np.lexsort((when, e_owner))
    return {
        "id": first_id + np.arange(order.size),
        "patient_id": co.id[e_owner[order]],
        "occurred_at": _ts(when[order]),
        "kind": ACTIVITY_KINDS[kind[order]],
    }
