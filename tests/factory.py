"""Hand-built platform data for tests of measures and flags (never the demo
generator: a test must state the exact rows it reasons about)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from itertools import count

from sqlalchemy import Engine, insert, update

from dashboard import schema
from dashboard.gp_followups import FollowupForm

PROGRAMS = {  # code: (id, name, primary instrument, modules)
    "depression": (1, "Depression", "PHQ9", 8),
    "anxiety": (2, "Generalised anxiety", "GAD7", 7),
    "insomnia": (3, "Insomnia", "ISI", 6),
    "panic": (4, "Panic disorder", "PDSS", 10),
    "social_anxiety": (5, "Social anxiety", "SPIN", 8),
    "ocd": (6, "OCD", "OCIR", 8),
    "alcohol": (7, "Alcohol", "AUDIT", 5),
}
CLINICIANS = [  # id, username, display name, role, team
    (1, "ther.a", "Therapist A", "therapist", 1),
    (2, "ther.b", "Therapist B", "therapist", 1),
    (3, "gp.a", "Dr GP A", "gp", 1),
    (4, "gp.b", "Dr GP B", "gp", 1),
    (5, "lead.a", "Lead A", "team_lead", 1),
    (6, "lead.b", "Lead B", "team_lead", 2),
    (7, "ther.c", "Therapist C", "therapist", 2),
]


def module_id(program: str, position: int) -> int:
    return PROGRAMS[program][0] * 100 + position


def followup_form(held_on: date, **changes) -> FollowupForm:
    """A GP's brief follow-up with nothing to remark: ten minutes face to face, carry on;
    ``changes`` set the fields a test is about."""
    usual = FollowupForm(
        held_on=held_on,
        minutes=10,
        modality="face-to-face",
        module_position=None,
        clinic_phq9=None,
        action="continue",
        pause_until=None,
        next_on=None,
    )
    return replace(usual, **changes)


class Platform:
    """A small platform database: teams, clinicians, programmes and modules, plus
    methods that add one patient's rows at a time."""

    def __init__(self, engine: Engine, now: datetime):
        self.engine, self.now = engine, now
        self._ids = count(1)
        schema.metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(insert(schema.teams), [{"id": 1, "name": "North"}, {"id": 2, "name": "South"}])
            conn.execute(
                insert(schema.clinicians),
                [{"id": i, "username": u, "display_name": n, "role": r, "team_id": t} for i, u, n, r, t in CLINICIANS],
            )
            conn.execute(
                insert(schema.programs),
                [
                    {"id": pid, "code": code, "name": name, "primary_instrument": inst}
                    for code, (pid, name, inst, _) in PROGRAMS.items()
                ],
            )
            conn.execute(
                insert(schema.modules),
                [
                    {"id": module_id(code, k), "program_id": pid, "position": k, "title": f"{name} module {k}"}
                    for code, (pid, name, _, n) in PROGRAMS.items()
                    for k in range(1, n + 1)
                ],
            )

    def ago(self, days: float = 0, hours: float = 0) -> datetime:
        return self.now - timedelta(days=days, hours=hours)

    def patient(
        self,
        code: str,
        program: str = "depression",
        therapist: int | None = 1,
        gp: int | None = 3,
        team: int = 1,
        enrolled_days_ago: float = 30,
        status: str = "active",
        ended_days_ago: float | None = None,
        display_name: str | None = None,
    ) -> int:
        pid = next(self._ids)
        with self.engine.begin() as conn:
            conn.execute(
                insert(schema.patients).values(
                    id=pid,
                    code=code,
                    display_name=display_name,
                    program_id=PROGRAMS[program][0],
                    therapist_id=therapist,
                    gp_id=gp,
                    team_id=team,
                    enrolled_at=self.ago(enrolled_days_ago),
                    status=status,
                    ended_at=None if ended_days_ago is None else self.ago(ended_days_ago),
                )
            )
        return pid

    def response(
        self,
        patient_id: int,
        instrument: str,
        days_ago: float,
        items: list[int | None] | None = None,
        total: int | None = None,
        not_applicable: tuple[int, ...] = (),
    ) -> int:
        """Items in order 1..n (None = item row absent); total defaults to the item sum.
        ``not_applicable`` items are stored as rows with a NULL score, the contract's
        "not applicable" (WSAS item 1, work)."""
        rid = next(self._ids)
        if total is None and items is not None:
            total = sum(s for s in items if s is not None)
        with self.engine.begin() as conn:
            conn.execute(
                insert(schema.responses).values(
                    id=rid,
                    patient_id=patient_id,
                    instrument=instrument,
                    administered_at=self.ago(days_ago),
                    total_score=total,
                )
            )
            rows = [
                {"response_id": rid, "item": i, "score": s} for i, s in enumerate(items or [], start=1) if s is not None
            ] + [{"response_id": rid, "item": i, "score": None} for i in not_applicable]
            if rows:
                conn.execute(insert(schema.response_items), rows)
        return rid

    def phq9(self, patient_id: int, days_ago: float, total: int, item9: int | None = 0) -> int:
        """A PHQ-9 with the given total (items 1-8 filled evenly) and item 9."""
        rest = total - (item9 or 0)
        items = [min(3, rest // 8 + (1 if i < rest % 8 else 0)) for i in range(8)]
        return self.response(patient_id, "PHQ9", days_ago, [*items, item9])

    def gad7(self, patient_id: int, days_ago: float, total: int) -> int:
        return self.response(
            patient_id, "GAD7", days_ago, [min(3, total // 7 + (1 if i < total % 7 else 0)) for i in range(7)]
        )

    def questionnaire(self, patient_id: int, instrument: str, days_ago: float, total: int) -> int:
        """A response of a registry instrument with this total, its items filled evenly from
        item_min (not for an instrument whose items allow only some values: AUDIT 9-10)."""
        from dashboard.measures import INSTRUMENTS

        inst = INSTRUMENTS[instrument]
        span, rest = inst.item_max - inst.item_min, total - inst.n_items * inst.item_min
        items = [
            inst.item_min + min(span, rest // inst.n_items + (i < rest % inst.n_items)) for i in range(inst.n_items)
        ]
        assert sum(items) == total, f"{instrument} cannot total {total}"
        return self.response(patient_id, instrument, days_ago, items)

    def module(
        self,
        patient_id: int,
        program: str,
        position: int,
        started_days_ago: float,
        completed_days_ago: float | None = None,
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(schema.module_progress).values(
                    patient_id=patient_id,
                    module_id=module_id(program, position),
                    started_at=self.ago(started_days_ago),
                    completed_at=None if completed_days_ago is None else self.ago(completed_days_ago),
                )
            )

    def summary(self, program: str, position: int, text: str | None) -> None:
        """A module's summary (the contract's optional ``modules.summary``)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.modules).where(schema.modules.c.id == module_id(program, position)).values(summary=text)
            )

    def activity(self, patient_id: int, days_ago: float, kind: str = "login") -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(schema.activity).values(
                    id=next(self._ids), patient_id=patient_id, occurred_at=self.ago(days_ago), kind=kind
                )
            )

    def message(
        self,
        patient_id: int,
        days_ago: float = 0,
        direction: str = "from_patient",
        clinician: int | None = None,
        hours_ago: float = 0,
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(schema.messages).values(
                    id=next(self._ids),
                    patient_id=patient_id,
                    clinician_id=clinician,
                    direction=direction,
                    sent_at=self.ago(days_ago, hours_ago),
                    read_at=None,
                )
            )


# OCI-R items 1..18 of the every-instrument patient's baseline: subscale sums washing 12,
# checking 9, ordering 6, obsessing 2, hoarding 0, neutralising 1 (items of Foa et al. 2002).
OCIR_BASELINE = [0, 3, 2, 1, 4, 1, 0, 3, 2, 0, 4, 1, 0, 3, 2, 0, 4, 0]


def every_instrument_patient(platform: Platform, code: str, **patient: object) -> int:
    """A depression-programme patient who answered every instrument of the registry
    (clinical-reference 1, 2 and 4), enrolled 60 days ago:

    PHQ-9 16 -> 12 -> 8; GAD-7 14 -> 9; ISI 19 -> 9; PDSS 14 -> 7; OCI-R 30 -> 18;
    SPIN 34 -> 17; AUDIT 7 (item 4 = 2: one zone up, zone II) -> 16 (zone III) -> 3
    (zone I); WSAS 25 (all five items), then 16 and 11 with work not applicable (4-item sums).
    """
    pid = platform.patient(code, enrolled_days_ago=60, **patient)  # type: ignore[arg-type]
    for days, total in ((58, 16), (30, 12), (3, 8)):
        platform.phq9(pid, days, total)
    platform.gad7(pid, 58, 14)
    platform.gad7(pid, 3, 9)
    platform.response(pid, "ISI", 57, [3, 3, 3, 3, 3, 2, 2])
    platform.response(pid, "ISI", 4, [1, 1, 1, 1, 1, 2, 2])
    platform.response(pid, "PDSS", 57, [2] * 7)
    platform.response(pid, "PDSS", 4, [1] * 7)
    platform.response(pid, "OCIR", 56, OCIR_BASELINE)
    platform.response(pid, "OCIR", 4, [1] * 18)
    platform.response(pid, "SPIN", 56, [2] * 17)
    platform.response(pid, "SPIN", 4, [1] * 17)
    platform.response(pid, "AUDIT", 55, [2, 2, 1, 2, 0, 0, 0, 0, 0, 0])
    platform.response(pid, "AUDIT", 28, [3, 3, 2, 1, 1, 1, 1, 0, 2, 2])
    platform.response(pid, "AUDIT", 4, [1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    platform.response(pid, "WSAS", 55, [5, 5, 5, 5, 5])
    platform.response(pid, "WSAS", 28, [None, 4, 4, 4, 4], not_applicable=(1,))
    platform.response(pid, "WSAS", 4, [None, 3, 3, 3, 2], not_applicable=(1,))
    return pid
