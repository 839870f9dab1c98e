"""Messages between patients and clinicians, with office-hours replies and automated reminders."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dashboard.demo.clock import DAY, HOUR, MINUTE, NAT, WEEK, _office_hours, _ragged
from dashboard.demo.content import COMPLETED, DIRECTIONS, FROM_PATIENT, TO_PATIENT
from dashboard.demo.patients import _Cohort, _ts
from dashboard.demo.staff import _Staff


@dataclass
class _Messages:
    """Messages accumulated part by part before they are ordered and numbered."""

    owner: list[np.ndarray] = field(default_factory=list)
    sent: list[np.ndarray] = field(default_factory=list)
    read: list[np.ndarray | None] = field(default_factory=list)  # None: not read
    direction: list[np.ndarray] = field(default_factory=list)
    by_therapist: list[np.ndarray] = field(default_factory=list)

    def add(
        self,
        owner: np.ndarray,
        sent: np.ndarray,
        read: np.ndarray | None,
        direction: int,
        by_therapist: bool,
    ) -> None:
        self.owner.append(owner)
        self.sent.append(sent)
        self.read.append(read)
        self.direction.append(np.full(owner.size, direction))
        self.by_therapist.append(np.full(owner.size, by_therapist))


def _patient_messages(rng: np.random.Generator, co: _Cohort) -> tuple[np.ndarray, np.ndarray]:
    """(owner, sent) of patient messages: ~weekly while engaged, often one just before quitting."""
    n = co.id.size
    rate = rng.gamma(2.0, 0.55, n)
    count = rng.poisson(rate * (co.last - co.enrolled) / WEEK)
    owner, _ = _ragged(count)
    sent = co.enrolled[owner] + (rng.random(owner.size) * (co.last - co.enrolled)[owner]).astype(np.int64)
    final = np.flatnonzero(co.quit_by_now & (rng.random(n) < 0.3))
    final_sent = np.maximum(co.last[final] - rng.integers(0, DAY // 2, final.size), co.enrolled[final])
    return np.concatenate([owner, final]), np.concatenate([sent, final_sent])


def _message_table(
    rng: np.random.Generator, staff: _Staff, co: _Cohort, now: int, first_id: int
) -> dict[str, np.ndarray]:
    """Patient messages and replies; welcome, feedback, check-in and closing messages; reminders."""
    n = co.id.size
    has_ther = co.therapist >= 0
    slowness = np.where(has_ther, staff.therapist_slowness[np.maximum(co.therapist, 0)], 1.0)
    wait = staff.therapist_wait[np.maximum(co.therapist, 0)]
    leave = np.where(has_ther, staff.therapist_leave[np.maximum(co.therapist, 0)], now + WEEK)
    cap = np.where(co.ended != NAT, co.ended, now)  # nothing is sent to a closed episode
    msgs = _Messages()

    def at_work(t: np.ndarray, owner: np.ndarray) -> np.ndarray:
        """When the therapist gets to it: working hours, and never once their leave began."""
        t = _office_hours(t, wait[owner], rng)
        return np.where(t >= leave[owner], now + WEEK, t)  # after now: dropped

    def later(t: np.ndarray, median_h: float, sigma: float, owner: np.ndarray) -> np.ndarray:
        delay = rng.lognormal(np.log(median_h), sigma, t.size) * slowness[owner] * HOUR
        return at_work(t + delay.astype(np.int64), owner)

    # Patient messages and the therapist's replies. Some are left for the next weekly
    # feedback instead (more so by busy therapists); some replies are still pending at now.
    p_owner, p_sent = _patient_messages(rng, co)
    reply = later(p_sent, 14, 0.9, p_owner)
    batched = np.minimum(0.12 * slowness[p_owner] ** 2, 0.5)
    replied = has_ther[p_owner] & (rng.random(p_owner.size) >= batched) & (reply <= cap[p_owner])
    seen = p_sent + (rng.lognormal(np.log(10), 1.0, p_owner.size) * HOUR).astype(np.int64)
    seen_unreplied = has_ther[p_owner] & (rng.random(p_owner.size) < 0.5) & (seen <= np.minimum(now, leave[p_owner]))
    p_read = np.where(
        replied,
        np.maximum(p_sent, reply - rng.integers(0, 30 * MINUTE, p_owner.size)),
        np.where(seen_unreplied, seen, NAT),
    )
    msgs.add(p_owner, p_sent, p_read, FROM_PATIENT, False)
    msgs.add(p_owner[replied], reply[replied], None, TO_PATIENT, True)

    # Welcome after enrolment, feedback after modules, weekly check-ins (and nudges after a lapse).
    welcome = np.flatnonzero(has_ther & (rng.random(n) < 0.9))
    msgs.add(welcome, later(co.enrolled[welcome], 8, 0.8, welcome), None, TO_PATIENT, True)
    c_owner, c_mod = np.nonzero(co.completed)
    give = has_ther[c_owner] & (rng.random(c_owner.size) < 0.85)
    c_owner = c_owner[give]
    feedback = later(co.module_done[c_owner, c_mod[give]], 20, 0.8, c_owner)
    msgs.add(c_owner, feedback, None, TO_PATIENT, True)
    weeks = np.where(has_ther, (np.minimum(co.last + 15 * DAY, cap) - co.enrolled) // WEEK, 0)
    w_owner, w_pos = _ragged(np.maximum(weeks, 0))
    check_in = co.enrolled[w_owner] + (w_pos + 1) * WEEK + rng.integers(-DAY, DAY, w_owner.size)
    written = rng.random(w_owner.size) < np.minimum(0.55 / slowness[w_owner], 0.9)
    w_owner = w_owner[written]
    msgs.add(w_owner, at_work(check_in[written], w_owner), None, TO_PATIENT, True)
    closing = np.flatnonzero(has_ther & (co.status == COMPLETED) & (co.ended < leave) & (rng.random(n) < 0.85))
    msgs.add(closing, co.ended[closing], None, TO_PATIENT, True)

    # Automated reminders (no clinician) once a patient has gone quiet for a week.
    quiet = np.flatnonzero(rng.random(n) < 0.6)
    msgs.add(quiet, co.last[quiet] + 7 * DAY + rng.integers(0, DAY, quiet.size), None, TO_PATIENT, False)

    return _finish_messages(rng, staff, co, msgs, cap, now, first_id)


def _finish_messages(
    rng: np.random.Generator,
    staff: _Staff,
    co: _Cohort,
    msgs: _Messages,
    cap: np.ndarray,
    now: int,
    first_id: int,
) -> dict[str, np.ndarray]:
    """Drop what would be sent after now or after closure, add read times, order and number."""
    owner = np.concatenate(msgs.owner)
    sent = np.concatenate(msgs.sent)
    direction = np.concatenate(msgs.direction)
    by_therapist = np.concatenate(msgs.by_therapist)
    read = np.concatenate(
        [r if r is not None else np.full(o.size, NAT) for r, o in zip(msgs.read, msgs.owner, strict=True)]
    )

    outgoing = direction == TO_PATIENT
    keep = np.where(outgoing, sent <= cap[owner], sent <= now) & (sent >= co.enrolled[owner])
    owner, sent, read, direction, by_therapist, outgoing = (
        a[keep] for a in (owner, sent, read, direction, by_therapist, outgoing)
    )

    # Patients read most messages while engaged, few once they have lapsed.
    engaged = sent <= co.last[owner] + DAY
    opened = sent + (rng.lognormal(np.log(5), 1.0, sent.size) * HOUR).astype(np.int64)
    reads = (rng.random(sent.size) < np.where(engaged, 0.93, 0.1)) & (opened <= now)
    read = np.where(outgoing, np.where(reads, opened, NAT), read)

    therapist = staff.therapist_id[np.maximum(co.therapist[owner], 0)]
    order = np.lexsort((direction, sent, owner))
    return {
        "id": first_id + np.arange(order.size),
        "patient_id": co.id[owner[order]],
        "clinician_id": np.where(by_therapist, therapist, np.nan)[order],
        "direction": DIRECTIONS[direction[order]],
        "sent_at": _ts(sent[order]),
        "read_at": _ts(read[order]),
    }
