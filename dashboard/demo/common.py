"""What every part of the demo generator shares: its defaults, the demo logins, the ``demo_meta`` table."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    Column,
    MetaData,
    String,
    Table,
)

DEFAULT_PATIENTS = 480
DEFAULT_SEED = 7
#: The default profile's version (profiles.DEMO): an embedded demo made by another is regenerated
#: (3: the HUS programmes and WSAS, and modules.summary; 4: care_team and peer supporters;
#: 5: a 3-month follow-up sitting after some completed courses).
GENERATOR_VERSION = "5"

#: Patients generated and loaded together; fixed, because the random stream
#: (and so the content) depends on it.
CHUNK_PATIENTS = 2500

#: Demo logins shown on the login page: (username, role, display name, team number or None).
DEMO_USERS: list[tuple[str, str, str, int | None]] = [
    ("gp1", "gp", "Dr Amelia Hart", None),
    ("gp2", "gp", "Dr Maria-Fernanda Castellanos-Villanueva", None),
    ("therapist1", "therapist", "Jonas Lindqvist", 1),
    ("therapist2", "therapist", "Priya Natarajan", 2),
    ("lead1", "team_lead", "Helen O'Connor", 1),
    ("lead2", "team_lead", "Kwame Mensah", 2),
    ("peer1", "peer_supporter", "Linnea Berg", 1),
]

demo_meta_metadata = MetaData()
demo_meta = Table(
    "demo_meta",
    demo_meta_metadata,
    Column("key", String(50), primary_key=True),
    Column("value", String(200), nullable=False),
)


class DemoRefused(RuntimeError):
    """The target database holds platform data the generator did not create."""


@dataclass
class GenerationReport:
    """What a generation run produced, for the CLI and the app's start-up log."""

    seconds: float
    rows: dict[str, int]
    db_bytes: int | None

    def format(self) -> str:
        width = max(len(name) for name in self.rows) if self.rows else 5
        lines = [f"generated in {self.seconds:.1f} s"]
        lines += [f"  {name:<{width}}  {count:>12,}" for name, count in self.rows.items()]
        lines.append(f"  {'total':<{width}}  {sum(self.rows.values()):>12,}")
        size = "unknown" if self.db_bytes is None else f"{self.db_bytes / 1e6:,.1f} MB"
        lines.append(f"database size: {size}")
        return "\n".join(lines)
