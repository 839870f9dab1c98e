"""Questionnaire responses and their items, with the trajectories and corruptions the tests need."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dashboard.demo.clock import DAY, HOUR, MINUTE, WEEK, _ragged, _sigmoid
from dashboard.demo.content import (
    AUDIT,
    BASELINE_MIN,
    BASELINE_SD,
    COMPLETED,
    INSTRUMENT_CODES,
    ITEM_COUNT,
    ITEM_MAX,
    ITEM_WEIGHTS,
    MIN_CORRUPT,
    NOISE_SD,
    PHQ9,
    RISE_RANGE,
    TOTAL_MAX,
    WSAS,
)
from dashboard.demo.patients import _Cohort, _ts
from dashboard.demo.profiles import Profile

#: Share of patients not in paid work, whose WSAS item 1 (work) is "not applicable"
#: (clinical-reference 4: stored as a NULL score, docs/design.md).
NO_PAID_WORK_SHARE = 0.25
#: AUDIT items 9 (injury) and 10 (others concerned) ask about the last year, so each
#: patient's answers (0 no, 2 not in the last year, 4 in the last year) hold through treatment.
AUDIT_9_10_OPTIONS = np.array([0, 2, 4])
AUDIT_9_P = np.array([0.75, 0.15, 0.10])
AUDIT_10_P = np.array([0.4, 0.3, 0.3])


@dataclass(frozen=True)
class _Course:
    """Each patient's latent symptom course: baselines and how they change over treatment."""

    baseline: np.ndarray  # (n, instruments)
    kind: np.ndarray  # 0 improves, 1 flat, 2 deteriorates
    depth: np.ndarray  # improvers: share of (baseline - 2) lost at full effect
    tau: np.ndarray  # days to ~63 % of the change
    rise: np.ndarray  # (n, instruments) deteriorators: points gained
    drift: np.ndarray  # (n, instruments) flat: small wander
    risk: np.ndarray  # bool: prone to thoughts of self-harm (PHQ-9 item 9)
    no_paid_work: np.ndarray | None  # bool: WSAS item 1 not applicable (profiles with WSAS)
    audit_9_10: np.ndarray | None  # (n, 2) AUDIT items 9-10 (profiles with AUDIT)


def _course(rng: np.random.Generator, program: np.ndarray, profile: Profile) -> _Course:
    n, k = program.size, profile.instruments
    baseline = rng.normal(profile.baseline_mean[program], BASELINE_SD[:k], (n, k))
    baseline = np.clip(baseline, BASELINE_MIN[:k], TOTAL_MAX[:k])
    u = rng.random(n)
    kind = np.where(u < 0.63, 0, np.where(u < 0.90, 1, 2))
    depth, tau = rng.uniform(0.45, 0.95, n), rng.uniform(8, 28, n)
    rise = rng.uniform(RISE_RANGE[:k, 0], RISE_RANGE[:k, 1], (n, k))
    drift, risk = rng.normal(0, 1.5, (n, k)), rng.random(n) < 0.08
    # Drawn last, and only where collected: the benchmark's stream stays as it was.
    no_paid_work = rng.random(n) < NO_PAID_WORK_SHARE if profile.collects(WSAS) else None
    audit_9_10 = (
        np.stack([rng.choice(AUDIT_9_10_OPTIONS, n, p=AUDIT_9_P), rng.choice(AUDIT_9_10_OPTIONS, n, p=AUDIT_10_P)], 1)
        if profile.collects(AUDIT)
        else None
    )
    return _Course(baseline, kind, depth, tau, rise, drift, risk, no_paid_work, audit_9_10)


#: The follow-up sitting: about 3 months after a completed course ended (papers/000), within a week.
FOLLOW_UP_AFTER = 13 * WEEK
FOLLOW_UP_SPREAD_DAYS = 7


def _administrations(rng: np.random.Generator, co: _Cohort, now: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(owner, time, follow-up) of each questionnaire sitting: baseline, after modules, weekly
    check-ins, and in a profile with ``follow_up_share`` a 3-month follow-up after some
    completed courses (the only sittings after the end)."""
    n = co.id.size
    baseline = co.enrolled + (rng.uniform(-3, 3, n) * DAY).astype(np.int64)
    baseline = np.minimum(baseline, co.last)

    c_owner, c_mod = np.nonzero(co.completed)
    after_module = co.module_done[c_owner, c_mod] + rng.integers(2 * MINUTE, 25 * MINUTE, c_owner.size)

    diligence = rng.beta(6, 1.2, n)
    weeks = (co.last - co.enrolled) // WEEK
    w_owner, w_pos = _ragged(weeks)
    check_in = co.enrolled[w_owner] + (w_pos + 1) * WEEK + rng.integers(-DAY, DAY, w_owner.size)
    answered = rng.random(w_owner.size) < diligence[w_owner]

    owner = np.concatenate([np.arange(n), c_owner, w_owner[answered]])
    when = np.concatenate([baseline, after_module, check_in[answered]])
    is_baseline = np.arange(owner.size) < n
    keep = (when <= co.last[owner]) & (is_baseline | (when >= baseline[owner]))
    owner, when = owner[keep], when[keep]
    follow_up = np.zeros(owner.size, bool)
    if co.profile.follow_up_share > 0:  # drawn only here: the benchmark's stream stays as it was
        completed = np.flatnonzero(co.status == COMPLETED)
        at = co.ended[completed] + FOLLOW_UP_AFTER
        at += (rng.uniform(-FOLLOW_UP_SPREAD_DAYS, FOLLOW_UP_SPREAD_DAYS, completed.size) * DAY).astype(np.int64)
        chosen = (rng.random(completed.size) < co.profile.follow_up_share) & (at <= now)
        owner = np.concatenate([owner, completed[chosen]])
        when = np.concatenate([when, at[chosen]])
        follow_up = np.concatenate([follow_up, np.ones(int(chosen.sum()), bool)])
    return owner, when, follow_up


def _scores(
    rng: np.random.Generator,
    course: _Course,
    owner: np.ndarray,
    instrument: np.ndarray,
    days: np.ndarray,
) -> np.ndarray:
    """Total score of each response from the owner's course at that point of treatment."""
    base = course.baseline[owner, instrument]
    ramp = 1 - np.exp(-days / course.tau[owner])
    kind = course.kind[owner]
    change = np.where(
        kind == 0,
        -course.depth[owner] * np.maximum(base - 2, 0) * ramp,
        np.where(
            kind == 2,
            course.rise[owner, instrument] * ramp,
            course.drift[owner, instrument] * np.minimum(days / 56, 1),
        ),
    )
    # The latent course stays just below the ceiling, so maximum totals stay rare.
    latent = np.minimum(base + change, TOTAL_MAX[instrument] - 1.5)
    total = np.rint(latent + rng.normal(0, NOISE_SD[instrument]))
    return np.clip(total, 0, TOTAL_MAX[instrument]).astype(np.int64)


def _spread(rng: np.random.Generator, total: np.ndarray, weights: np.ndarray, item_max: int) -> np.ndarray:
    """Items (r, len(weights)) within 0..item_max that sum exactly to total.

    Each item owns item_max unit slots; the total picks that many slots by weighted
    sampling without replacement (largest u ** (1 / w) keys), so every item stays in range.
    """
    r, n_items = total.size, weights.size
    keys = rng.random((r, n_items * item_max)) ** (1 / np.repeat(weights, item_max))
    ranked = -np.sort(-keys, axis=1)
    threshold = ranked[np.arange(r), np.maximum(total - 1, 0)]
    chosen = (keys >= threshold[:, None]) & (total[:, None] > 0)
    return chosen.reshape(r, n_items, item_max).sum(axis=2)


def _items(
    rng: np.random.Generator,
    course: _Course,
    owner: np.ndarray,
    instrument: np.ndarray,
    total: np.ndarray,
    profile: Profile,
) -> tuple[np.ndarray, np.ndarray]:
    """(items, null): item scores (r, profile.max_items) summing to total, and the item rows
    stored with a NULL score (WSAS item 1 of patients without paid work).

    PHQ-9 item 9 (risk) is drawn on its own; AUDIT items 9-10 are the patient's own (0/2/4)
    and the total moves to fit them; a WSAS without work is the 4-item sum (0-32), so its
    total moves too (``total`` is updated in place)."""
    items = np.zeros((total.size, profile.max_items), np.int64)
    null = np.zeros(items.shape, bool)
    for code in range(profile.instruments):
        rows = np.flatnonzero(instrument == code)
        t = total[rows]
        if code == PHQ9:
            p = _sigmoid(-6.6 + 0.2 * t + 2.6 * course.risk[owner[rows]])
            level = rng.choice([1, 2, 3], size=rows.size, p=[0.7, 0.2, 0.1])
            item9 = np.clip(np.where(rng.random(rows.size) < p, level, 0), np.maximum(t - 24, 0), t)
            items[rows, :8] = _spread(rng, t - item9, ITEM_WEIGHTS[PHQ9], 3)
            items[rows, 8] = item9
        elif code == AUDIT:
            fixed = course.audit_9_10[owner[rows]]
            rest = np.clip(t - fixed.sum(axis=1), 0, 8 * 4)
            items[rows, :8] = _spread(rng, rest, ITEM_WEIGHTS[AUDIT], 4)
            items[rows, 8:10] = fixed
            total[rows] = rest + fixed.sum(axis=1)
        elif code == WSAS:
            no_work = course.no_paid_work[owner[rows]]
            worked, idle = rows[~no_work], rows[no_work]
            items[worked, :5] = _spread(rng, total[worked], ITEM_WEIGHTS[WSAS], 8)
            four = np.minimum(np.rint(total[idle] * 0.8), 4 * 8).astype(np.int64)
            items[idle, 1:5] = _spread(rng, four, ITEM_WEIGHTS[WSAS][1:], 8)
            null[idle, 0] = True
            total[idle] = four
        else:
            items[rows, : ITEM_COUNT[code]] = _spread(rng, t, ITEM_WEIGHTS[code], ITEM_MAX[code])
    return items, null


#: Share of the last day's PHQ-9s given an item 9 above 0 on top of the course's own rate,
#: so the demo's working day has a few fresh risk answers to triage (about 1 in 20 over
#: the service's history brings one a day for 480 patients).
RISK_TODAY_SHARE = 0.3
RISK_TODAY_HOURS = 20


def _risk_today(
    rng: np.random.Generator,
    course: _Course,
    owner: np.ndarray,
    instrument: np.ndarray,
    when: np.ndarray,
    items: np.ndarray,
    now: int,
) -> None:
    """A few of the PHQ-9s of the last RISK_TODAY_HOURS (relative to now, so the same for any
    time of day) get item 9 = 1, most from patients prone to it; the total stays the same
    (one point moves from the largest other item), so only the answer to item 9 changes."""
    pool = np.flatnonzero((instrument == PHQ9) & (when > now - RISK_TODAY_HOURS * HOUR) & (items[:, 8] == 0))
    pool = pool[items[pool, :8].sum(axis=1) >= 5]  # someone with symptoms
    count = min(pool.size, int(np.ceil(RISK_TODAY_SHARE * pool.size)))
    if count == 0:
        return
    weight = np.where(course.risk[owner[pool]], 5.0, 1.0)
    rows = rng.choice(pool, size=count, replace=False, p=weight / weight.sum())
    largest = items[rows, :8].argmax(axis=1)
    items[rows, largest] -= 1
    items[rows, 8] = 1


def _corrupt(
    rng: np.random.Generator,
    instrument: np.ndarray,
    items: np.ndarray,
    present: np.ndarray,
    null: np.ndarray,
    total: np.ndarray,
    profile: Profile,
) -> None:
    """Damage a few responses in place, the way real platform data is damaged.

    Out-of-range items, missing items (1-2 on a PHQ-9, item 9 itself, 3+), a stored total
    that disagrees with the items, totals with no item rows at all; in the demo also an
    AUDIT item 9 or 10 answered 1 or 3 (not among its options) and an item row whose
    score is NULL (missing, unlike WSAS item 1's "not applicable").
    """
    used = np.zeros(total.size, bool)
    everyone = rng.permutation(total.size)
    width = items.shape[1]
    for kind, share, only in profile.corruptions:
        pool = everyone if only is None else everyone[instrument[everyone] == only]
        count = max(MIN_CORRUPT, rng.binomial(total.size, share))
        rows = pool[~used[pool]][:count]
        used[rows] = True
        n_items = ITEM_COUNT[instrument[rows]]
        if kind == "out_of_range":
            col = (rng.random(rows.size) * n_items).astype(np.int64)
            bad = np.where(
                rng.random(rows.size) < 0.3,
                -1,
                ITEM_MAX[instrument[rows]] + rng.integers(1, 3, rows.size),
            )
            items[rows, col] = bad
            null[rows, col] = False
        elif kind == "bad_option":
            col = 8 + rng.integers(0, 2, rows.size)
            items[rows, col] = rng.choice([1, 3], size=rows.size)
            total[rows] = items[rows, :10].sum(axis=1)
        elif kind == "null_score":
            col = 1 + (rng.random(rows.size) * (n_items - 1)).astype(np.int64)  # never WSAS item 1
            null[rows, col] = True
            total[rows] = np.where(null[rows], 0, items[rows]).sum(axis=1)
        elif kind in ("missing_some", "missing_item9", "missing_many"):
            keys = rng.random((rows.size, width))
            keys[np.arange(width) >= n_items[:, None]] = 2  # only real items can go missing
            if kind == "missing_some":
                keys[:, 8] = 2
                drop = rng.integers(1, 3, rows.size)
            elif kind == "missing_item9":
                keys[:, 8] = -1
                drop = rng.integers(1, 3, rows.size)
            else:
                drop = rng.integers(3, n_items)
            rank = np.argsort(np.argsort(keys, axis=1), axis=1)
            present[rows] &= rank >= drop[:, None]
            total[rows] = np.where(present[rows] & ~null[rows], items[rows], 0).sum(axis=1)
        elif kind == "total_mismatch":
            off = rng.choice([-3, -2, -1, 1, 2, 3], size=rows.size)
            total[rows] = np.where(total[rows] + off >= 0, total[rows] + off, total[rows] - off)
        else:  # no_items
            present[rows] = False


def _response_tables(
    rng: np.random.Generator, co: _Cohort, first_id: int, now: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Every instrument the patient's programme collects at every sitting (PHQ-9 first);
    items per response."""
    profile = co.profile
    course = _course(rng, co.program, profile)
    a_owner, a_when, a_follow_up = _administrations(rng, co, now)
    sitting, pos = _ragged(profile.sitting_size[co.program[a_owner]])
    owner = a_owner[sitting]
    instrument = profile.sitting_table[co.program[owner], pos]
    when = a_when[sitting] + pos * rng.integers(1 * MINUTE, 4 * MINUTE, sitting.size)
    when = np.where(a_follow_up[sitting], when, np.minimum(when, co.last[owner]))  # a follow-up is after the end

    days = np.maximum(when - co.enrolled[owner], 0) / DAY
    total = _scores(rng, course, owner, instrument, days)
    items, null = _items(rng, course, owner, instrument, total, profile)
    present = np.arange(profile.max_items) < ITEM_COUNT[instrument][:, None]
    _risk_today(rng, course, owner, instrument, when, items, now)
    _corrupt(rng, instrument, items, present, null, total, profile)

    order = np.lexsort((instrument, when, owner))
    ids = first_id + np.arange(order.size)
    present, items, null = present[order], items[order], null[order]
    r_idx, item_idx = np.nonzero(present)
    score = items[r_idx, item_idx]
    if null.any():  # NULL scores: float, NaN loads as NULL
        score = np.where(null[r_idx, item_idx], np.nan, score)
    responses = {
        "id": ids,
        "patient_id": co.id[owner[order]],
        "instrument": np.array(INSTRUMENT_CODES)[instrument[order]],
        "administered_at": _ts(when[order]),
        "total_score": total[order],
    }
    response_items = {
        "response_id": ids[r_idx],
        "item": item_idx + 1,
        "score": score,
    }
    return responses, response_items
