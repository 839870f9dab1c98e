"""The refresher's per-response facts (``dash_response_facts``) as the pages read them.

A team's queue scores every response of about 5,000 patients (at 100,000 patients a
lead's queue aggregates 672,109 item rows). Such a page reads the platform's
responses live (which exist, of whom, when, of what instrument, and their risk
item's rows through the covering index) and takes each one's item aggregates from
the row the refresher keeps where that row can answer; every other response is
aggregated live by ``responses.item_stats``, the definition the refresher runs. So
the answer equals the live computation whatever the refresher's lag: a response it
has not read yet, one still awaiting its items, one kept by another definition, one
whose patient or instrument changed on the platform, or one whose risk item no
longer matches the kept answer (a second item 9 after the response was complete)
is read live. A clinician's own caseload is read live throughout: its few hundred
responses cost less than the second read (``worth_reading``).

A kept row is *final* once its items are no longer awaited (``still_awaited``): it
holds as many item rows as its instrument has items, or it was read again at least
the settle age after the refresher first saw it (dashboard.refresh). A non-risk item
added to a response after that is drift, which ``caseboard refresh --full`` repairs;
so is one added after the response's instrument was changed in place to one with
fewer items (8 item rows are all of GAD-7's, the refresher's next read makes them final).

Rows count only while the watermark names the definition that made them
(``definition_hash``): the SQL of ``item_stats`` with the instrument registry's
values in it, so a change to either (a new release, a service's instrument file)
makes every kept row unread until the refresher has rebuilt them all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Engine, Select, and_, bindparam, case, exists, select
from sqlalchemy.engine import Connection

from dashboard.config import Settings
from dashboard.frames import read_frame
from dashboard.measures import INSTRUMENTS, score_responses
from dashboard.responses import ITEM_STATS, RULE_STATS, item_stats, read_scored
from dashboard.schema import responses as r
from dashboard.state_tables import refresh_marks, response_facts
from dashboard.statements import prepared

SOURCE = "responses"  # the watermark's row in dash_refresh_marks
KEPT = [*ITEM_STATS, *RULE_STATS]
# The response's own columns its facts depend on, kept beside them: a kept row counts
# only for the response it was read from (a restored platform can reuse an id, a row
# can change in place). Its date and total do not change the item aggregates.
OWN = ["patient_id", "instrument"]
# More responses than this without a final kept row (a refresher far behind, or none):
# one live aggregation over all of them is cheaper than listing their ids.
MOST_READ_LIVE = 2000
PATIENTS_PER_READ = 10_000  # patient ids per statement (SQLite allows 32,766 parameters)
# Kept facts pay off for a team, not for one clinician's caseload: at 100,000 patients
# a therapist's 1,064 responses (80 patients) aggregate live in about 9 ms, less than
# the second read and the merge cost; a team's 83,167 (5,134 patients) take about
# 950 ms live (docs/performance.md, "the team's queue from the kept facts").
KEPT_FROM_PATIENTS = 500


def worth_reading(n_patients: int) -> bool:
    """Whether a scope of this many patients reads the kept facts (else all live)."""
    return n_patients >= KEPT_FROM_PATIENTS


@dataclass(frozen=True)
class ResponseReads:
    """Two statements over the same responses (dashboard.responses): ``live``
    aggregates their item rows, ``keys`` reads the responses' own columns and their
    risk item's rows only."""

    live: Select
    keys: Select


def definition_hash() -> str:
    """What made a kept row: the SQL of ``item_stats``, the instrument registry's
    items, ranges, allowed values and rules written into it."""
    return _hash_of(tuple(INSTRUMENTS.values()))


@lru_cache(maxsize=8)
def _hash_of(_registry: tuple) -> str:
    sql = item_stats(select(r.c.id)).compile(compile_kwargs={"literal_binds": True})
    return hashlib.sha256(str(sql).encode()).hexdigest()


def still_awaited() -> ColumnElement[bool]:
    """A kept response whose items may still be arriving: fewer item rows than its
    instrument has items, and not read at or after its ``awaited_until``."""
    f = response_facts.c
    expected = case(*((f.instrument == code, inst.n_items) for code, inst in INSTRUMENTS.items()), else_=0)
    return and_(f.n_item_rows < expected, f.refreshed_at < f.awaited_until)


@prepared
def _final_rows() -> Select:
    """Final kept rows of the patients ``ids``, while the watermark names ``facts_hash``.
    One statement, so the rows and the mark are read in one snapshot: a refresher that
    rebuilds under another definition clears the mark's hash before it rewrites a row."""
    f = response_facts.c
    own = exists().where(refresh_marks.c.source == SOURCE, refresh_marks.c.facts_hash == bindparam("facts_hash"))
    return select(f.response_id, *(f[c].label(f"kept_{c}") for c in OWN), *(f[c] for c in KEPT)).where(
        f.patient_id.in_(bindparam("ids", expanding=True)), ~still_awaited(), own
    )


def read_final(state: Engine, patient_ids: list[int]) -> pd.DataFrame:
    """The final kept rows of these patients, indexed by response id (empty while the
    refresher has kept none by this definition)."""
    frames = []
    with state.connect() as conn:
        for i in range(0, len(patient_ids), PATIENTS_PER_READ):
            params = {"ids": patient_ids[i : i + PATIENTS_PER_READ], "facts_hash": definition_hash()}
            frames.append(read_frame(conn, _final_rows(), params))
    columns = ["response_id", *(f"kept_{c}" for c in OWN), *KEPT]
    kept = pd.concat(frames) if frames else pd.DataFrame(columns=columns)
    return kept.set_index("response_id")


def _one_row_each(keys: pd.DataFrame) -> pd.DataFrame:
    """One row per response, ``risk_rows`` counting its risk item rows (a repeated
    risk item, a platform error, gives a response one row per repeat)."""
    repeated = keys["response_id"].duplicated(keep=False).to_numpy()
    counts = keys["risk_row"].astype(int)
    if repeated.any():
        counts = counts.where(~repeated, keys["response_id"].map(keys.groupby("response_id")["risk_row"].sum()))
    out = keys.assign(risk_rows=counts.to_numpy()).drop(columns="risk_row")
    return out[~out["response_id"].duplicated()].reset_index(drop=True)


def _kept_for(keys: pd.DataFrame, kept: pd.DataFrame) -> np.ndarray:
    """Which responses have a final kept row read from that very response (its own
    columns equal) that still holds the platform's risk answer: at most one risk item
    row, whose in-range answer is the kept one (a missing answer equal to a missing one)."""
    usable = keys["response_id"].isin(kept.index).to_numpy().copy()
    if not usable.any():
        return usable
    pairs = [(keys[c], keys["response_id"].map(kept[f"kept_{c}"])) for c in OWN]
    pairs.append((keys["risk_answer"], keys["response_id"].map(kept["risk_item_score"])))
    for mine, stored in pairs:
        usable &= ((mine == stored) | (mine.isna() & stored.isna())).to_numpy()
    return usable & (keys["risk_rows"] <= 1).to_numpy()


@prepared
def _tail_statement() -> Select:
    return item_stats(select(r.c.id).where(r.c.id.in_(bindparam("tail_ids", expanding=True))))


def read_scored_kept(
    conn: Connection, state: Engine, reads: ResponseReads, params: dict, settings: Settings
) -> pd.DataFrame:
    """``responses.read_scored(conn, reads.live, ...)``, with each response's item
    aggregates taken from its final kept row where there is one: the same rows, the
    same scores. ``conn``: the platform; ``state``: the database the refresher keeps."""
    keys = _one_row_each(read_frame(conn, reads.keys, params, ("administered_at",)))
    keys = keys[keys["administered_at"].notna()]  # undated: left out and reported, as read_scored does
    kept = read_final(state, sorted({int(p) for p in keys["patient_id"]}))
    usable = _kept_for(keys, kept)
    tail = [int(i) for i in keys.loc[~usable, "response_id"]]
    if len(tail) > MOST_READ_LIVE:
        return read_scored(conn, reads.live, params, settings)
    frame = keys.drop(columns=["risk_rows", "risk_answer"])
    for column in KEPT:
        frame[column] = keys["response_id"].map(kept[column]).astype("float64")
    if tail:
        live = pd.read_sql(_tail_statement(), conn, params={"tail_ids": tail}).set_index("response_id")
        rows = frame.index[~usable]
        for column in KEPT:
            frame.loc[rows, column] = frame.loc[rows, "response_id"].map(live[column]).astype("float64")
    return score_responses(frame, settings)
