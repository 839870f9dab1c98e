"""Peer supporters on the care team (the optional ``care_team`` table, docs/design.md).

As in the Swedish primary-care service of issue 20, some programmes add a peer
supporter to the therapist: here every patient of the profile's ``peer_programmes``
(the demo's depression and anxiety; none in the benchmark's frozen profile), from
enrolment until the episode ends, about one supporter per 20-30 open patients.
No random draws: adding the table changes nothing else the generator makes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from dashboard.demo.profiles import Profile

# Patients of those programmes per supporter, over the whole enrolment window: about
# 40% of them are in an open episode on a given day, so 70 makes 20-30 open each.
PATIENTS_PER_PEER = 70


def _peer_programme_index(profile: Profile) -> np.ndarray:
    return np.array([i for i, p in enumerate(profile.programs) if p[0] in profile.peer_programmes], dtype=np.int64)


def peers_per_team(patients: int, n_teams: int, profile: Profile) -> int:
    """Supporters each team has for the expected number of its peer-programme patients
    (none when the profile has no peer programme)."""
    index = _peer_programme_index(profile)
    if index.size == 0:
        return 0
    expected = patients * profile.mix[index].sum() / n_teams
    return max(1, round(expected / PATIENTS_PER_PEER))


def _ts(us: np.ndarray) -> np.ndarray:
    """int64 µs (NAT = null) as datetime64[us], the form loaders take timestamps in."""
    return us.astype(np.int64).view("datetime64[us]")


def care_team_table(peer_id: np.ndarray, peer_team: np.ndarray, co, profile: Profile) -> dict[str, np.ndarray]:
    """One row per patient of a peer programme whose team has a supporter: the team's
    supporters take its patients in turn (by patient id)."""
    rows = np.flatnonzero(np.isin(co.program, _peer_programme_index(profile)))
    patient, clinician = [], []
    for team in np.unique(co.team[rows]):
        peers = peer_id[peer_team == team]
        if peers.size:
            mine = rows[co.team[rows] == team]
            patient.append(mine)
            clinician.append(peers[co.id[mine] % peers.size])
    picked = np.concatenate(patient) if patient else np.array([], dtype=np.int64)
    return {
        "patient_id": co.id[picked],
        "clinician_id": np.concatenate(clinician) if clinician else np.array([], dtype=np.int64),
        "role": np.full(picked.size, "peer_supporter", dtype=object),
        "started_at": _ts(co.enrolled[picked]),
        "ended_at": _ts(co.ended[picked]),  # NAT (still open) while the episode is
    }
