"""The deployment of deploy/up.sh, proven (issue 18, docs/deployment.md): a PostgreSQL
primary, a streaming hot-standby replica the apps read the platform from, a state
database, two production instances behind nginx with route-cookie affinity, and the
refresher as its own process. Brought up once for the module and stopped afterwards;
the clinician's side is driven through nginx in Chromium."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.exc import DBAPIError

from dashboard.config import Settings
from dashboard.flags import FLAG_KINDS
from dashboard.schema import clinicians, patients, programs, response_items, responses
from tests.browser import wait_for_app
from tests.conftest import missing

pytestmark = [pytest.mark.deployment, pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "data" / "deploy-test"  # not data/deploy: a developer's own deployment may be up there
PORT_BASE = 26400  # primary 26432, replica 26433, apps 26501-26502, nginx 26443
REFRESH_EVERY_SECONDS = 30  # deploy/up.sh's refresher


@dataclass
class Deployment:
    url: str
    env: dict[str, str]  # the apps' environment (deploy/up.sh writes it to app.env)
    password: str
    primary: str  # the platform on the primary, as its owner
    replica: str  # the platform on the replica, as its owner (reading only)
    state: str  # the state database, as its owner

    def pid(self, instance: int) -> int:
        return int((RUN / f"app{instance}.pid").read_text())

    def log(self, instance: int) -> Path:
        return RUN / f"app{instance}.log"


def deploy_problem() -> str | None:
    if not Path("/usr/lib/postgresql").is_dir() and os.geteuid() != 0:
        return "no PostgreSQL server binaries (apt-get install postgresql) and not root to install them"
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists() and os.geteuid() != 0:
        return "nginx not installed (apt-get install nginx) and not root to install it"
    return None


def script(name: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "CASEBOARD_DEPLOY_DIR": str(RUN),
        "CASEBOARD_DEPLOY_PORT_BASE": str(PORT_BASE),
        "CASEBOARD_PYTHON": sys.executable,
    }
    return subprocess.run(
        ["bash", str(ROOT / "deploy" / name), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def started_pids() -> list[int]:
    """Every process deploy/up.sh started: the pid files and the clusters' postmasters."""
    files = [*RUN.glob("*.pid"), RUN / "nginx" / "nginx.pid"]
    files += [RUN / "pg" / c / "postmaster.pid" for c in ("primary", "replica")]
    return [int(f.read_text().split()[0]) for f in files if f.exists()]


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    problem = deploy_problem()
    if problem:
        missing(problem)
    script("down.sh", "--clean")  # a previous run's leftovers
    up = script("up.sh")
    assert up.returncode == 0, f"deploy/up.sh failed:\n{up.stdout}\n{up.stderr}"
    pids = started_pids()
    env = dict(line.split("=", 1) for line in (RUN / "app.env").read_text().splitlines() if "=" in line)
    admin = "postgresql+psycopg://postgres@127.0.0.1:{}/{}"
    try:
        yield Deployment(
            url=up.stdout.strip().splitlines()[-1],
            env=env,
            password=(RUN / "password").read_text().strip(),
            primary=admin.format(PORT_BASE + 32, "platform"),
            replica=admin.format(PORT_BASE + 33, "platform"),
            state=admin.format(PORT_BASE + 32, "caseboard"),
        )
    finally:
        pids += started_pids()  # an instance restarted by a test has a new pid
        down = script("down.sh", "--clean", timeout=300)
        assert down.returncode == 0, down.stderr
        deadline = time.monotonic() + 20
        while any(Path(f"/proc/{pid}").exists() for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = [pid for pid in pids if Path(f"/proc/{pid}").exists()]
        assert left == [], f"deploy/down.sh left processes behind: {left}"


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, ignore_https_errors=True)
    yield context
    context.close()


def log_in(page, deployment: Deployment, username: str) -> None:
    page.goto(deployment.url)
    wait_for_app(page)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(deployment.password)
    page.get_by_role("button", name="Login").click()
    wait_for_app(page)


def runs_of(log: Path, user: str, since: int = 0) -> list[dict]:
    """The script runs an instance logged for a user after byte ``since`` of its log."""
    with log.open("rb") as f:
        f.seek(since)
        lines = f.read().decode(errors="replace").splitlines()
    events = [json.loads(line) for line in lines if line.startswith("{")]
    return [e for e in events if e.get("event") == "script_run" and e.get("user") == user]


def log_sizes(deployment: Deployment) -> dict[int, int]:
    return {i: deployment.log(i).stat().st_size for i in (1, 2)}


# ---------------------------------------------------------------- login, route cookie, reload


def test_a_reload_through_nginx_keeps_the_login_and_nginx_sets_the_route(deployment, context):
    page = context.new_page()
    response = page.goto(deployment.url)
    assert "caseboard_route=" in (response.header_value("set-cookie") or "")  # set by nginx, not the app
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]
    log_in(page, deployment, "deploy.therapist1")
    page.get_by_role("heading", name="Triage").wait_for(timeout=60_000)
    page.reload()
    wait_for_app(page)
    page.get_by_role("heading", name="Triage").wait_for(timeout=60_000)
    assert page.get_by_role("textbox", name="Username").count() == 0
    route = [c for c in context.cookies() if c["name"] == "caseboard_route"]
    assert len(route) == 1 and route[0]["httpOnly"] and route[0]["secure"]


# ---------------------------------------------------------------- what nginx sends and hides


def fetch(url: str) -> tuple[int, dict[str, str]]:
    """A request through nginx without a browser (the certificate is self-signed)."""
    insecure = ssl.create_default_context()
    insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=30, context=insecure) as response:
            return response.status, dict(response.headers.items())
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers.items())


def test_nginx_sends_the_security_headers_and_hides_the_metrics(deployment):
    status, headers = fetch(f"{deployment.url}/")
    assert status == 200
    policy = {d.split()[0]: set(d.split()[1:]) for d in headers["Content-Security-Policy"].split(";") if d.strip()}
    assert policy["img-src"] == {"'self'", "data:"}  # no image of another site: no tracking beacon
    assert policy["frame-ancestors"] == {"'self'"} and policy["default-src"] == {"'self'"}
    assert policy["object-src"] == {"'none'"} and policy["form-action"] == {"'self'"}
    assert "'unsafe-eval'" not in set().union(*policy.values())
    max_age = re.fullmatch(r"max-age=(\d+); includeSubDomains", headers["Strict-Transport-Security"])
    assert max_age and int(max_age.group(1)) >= 180 * 86400
    assert headers["Referrer-Policy"] == "same-origin" and headers["X-Content-Type-Options"] == "nosniff"
    # Streamlit serves its metrics without a login and cannot turn them off: nginx answers 404
    # (the instances themselves do serve them, on loopback only)
    assert fetch(f"{deployment.url}/_stcore/metrics")[0] == 404
    assert fetch(f"http://127.0.0.1:{PORT_BASE + 101}/_stcore/metrics")[0] == 200


# ---------------------------------------------------------------- a new risk answer, through the replica


def risk_count(page) -> int:
    line = page.locator("[data-testid='stMarkdownContainer']", has_text=re.compile(r"\d")).filter(
        has_text=re.compile(r"Reliable|Risk|Awaiting|Inactive|No contact|Not started|Feedback|Questionnaire")
    )
    found = re.search(rf"{FLAG_KINDS['risk'].title} (\d+)", line.first.inner_text())
    return int(found.group(1)) if found else 0


def patient_without_risk_answers(engine, username: str) -> tuple[int, str]:
    """An active depression patient of this therapist who never answered item 9 above 0."""
    with engine.connect() as conn:
        risky = (
            select(responses.c.patient_id)
            .join(response_items, response_items.c.response_id == responses.c.id)
            .where(responses.c.instrument == "PHQ9", response_items.c.item == 9, response_items.c.score > 0)
        )
        row = conn.execute(
            select(patients.c.id, patients.c.code)
            .join(clinicians, clinicians.c.id == patients.c.therapist_id)
            .join(programs, programs.c.id == patients.c.program_id)
            .where(
                clinicians.c.username == username,
                patients.c.status == "active",
                programs.c.primary_instrument == "PHQ9",
                patients.c.id.not_in(risky),
            )
            .order_by(patients.c.id)
            .limit(1)
        ).one()
    return row.id, row.code


def test_a_risk_answer_written_on_the_primary_reaches_triage_through_the_replica(deployment, context):
    page = context.new_page()
    log_in(page, deployment, "deploy.therapist1")
    page.get_by_role("heading", name="Triage").wait_for(timeout=60_000)
    before = risk_count(page)
    primary, replica = create_engine(deployment.primary), create_engine(deployment.replica)
    try:
        patient_id, _ = patient_without_risk_answers(replica, "deploy.therapist1")
        scores = [1, 1, 2, 1, 0, 1, 1, 0, 2]  # item 9 answered 2
        with primary.begin() as conn:
            response_id = conn.scalar(select(func.max(responses.c.id))) + 1
            conn.execute(
                insert(responses).values(
                    id=response_id,
                    patient_id=patient_id,
                    instrument="PHQ9",
                    administered_at=datetime.now(UTC).replace(tzinfo=None),
                    total_score=sum(scores),
                )
            )
            conn.execute(
                insert(response_items),
                [{"response_id": response_id, "item": i, "score": s} for i, s in enumerate(scores, 1)],
            )
        # The promise: within one cache lifetime plus one refresh (and a margin for the
        # page's own reload); polled, so it passes as soon as the answer is shown.
        deadline = time.monotonic() + Settings().cache_ttl_seconds + REFRESH_EVERY_SECONDS + 15
        while (shown := risk_count(page)) == before and time.monotonic() < deadline:
            page.wait_for_timeout(3_000)
            page.reload()
            wait_for_app(page)
            page.get_by_role("heading", name="Triage").wait_for(timeout=60_000)
        assert shown == before + 1
        with replica.connect() as conn:  # it came by streaming replication
            assert conn.scalar(select(func.count()).where(responses.c.id == response_id)) == 1
    finally:
        primary.dispose()
        replica.dispose()


# ---------------------------------------------------------------- the clinicians' journeys


def state_rows(deployment: Deployment, sql: str) -> int:
    engine = create_engine(deployment.state)
    try:
        with engine.connect() as conn:
            return conn.scalar(text(sql))
    finally:
        engine.dispose()


def open_handle_form(page) -> tuple[str, int]:
    """The first queued patient's reasons, every one ticked, each note filled in;
    returns the patient's code and the number of reasons."""
    from playwright.sync_api import expect

    from tests.test_browser import select_first_row

    select_first_row(page)
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Mark selected handled").wait_for(timeout=60_000)
    code = dialog.locator("[data-testid='stHeading'] h3").first.inner_text()
    boxes = dialog.get_by_role("checkbox")
    reasons = boxes.count()
    for i in range(reasons):
        if not boxes.nth(i).is_checked():
            dialog.locator("[data-testid='stCheckbox'] label").nth(i).click()
            expect(boxes.nth(i)).to_be_checked()
    notes = dialog.get_by_role("textbox")
    for i in range(notes.count()):
        notes.nth(i).fill("Phoned the patient; agreed next steps and safety plan.")
        notes.nth(i).blur()
    return code, reasons


def test_a_therapist_a_gp_and_a_lead_work_through_nginx_and_their_writes_are_in_the_state_database(deployment, context):
    """Acknowledge (therapist), log a follow-up and download it (GP), download the
    workload (team lead), each through nginx on whichever instance its route names."""
    from tests.test_browser import select_first_row

    page = context.new_page()
    log_in(page, deployment, "deploy.therapist1")
    page.get_by_role("heading", name="Triage").wait_for(timeout=60_000)
    code, reasons = open_handle_form(page)
    page.get_by_role("dialog").get_by_role("button", name="Mark selected handled").click()
    wait_for_app(page)
    page.get_by_text(f"Handled for {code} by you").wait_for(timeout=60_000)
    acked = "SELECT count(*) FROM dash_acknowledgements WHERE actor = 'deploy.therapist1'"
    assert state_rows(deployment, acked) == reasons >= 1  # every chosen reason, once
    page.close()

    page = context.new_page()
    context.clear_cookies(name="caseboard_auth")  # the next clinician on this browser
    log_in(page, deployment, "deploy.gp2")
    page.get_by_role("heading", name="Follow-ups due").wait_for(timeout=60_000)
    select_first_row(page)
    page.get_by_text("Log a follow-up for").first.wait_for(timeout=60_000)
    action = page.get_by_role("combobox", name="Action")
    action.click()
    action.fill("Step up")
    page.keyboard.press("Enter")
    page.get_by_label("Note (optional)").fill("Low mood despite module 3; please call this week.")
    page.get_by_role("button", name="Save follow-up").click()
    wait_for_app(page)
    saved = page.get_by_text(re.compile(r"Follow-up for .+ saved\."))
    saved.wait_for(timeout=60_000)
    followed = re.search(r"Follow-up for (.+) saved\.", saved.inner_text()).group(1)
    assert state_rows(deployment, "SELECT count(*) FROM dash_followups WHERE gp = 'deploy.gp2'") == 1
    with page.expect_download() as download:
        page.get_by_role("button", name="Download my follow-ups (CSV)").click()
    exported = list(csv.DictReader(download.value.path().read_text().splitlines()))
    assert followed in {row["code"] for row in exported}
    page.close()

    page = context.new_page()
    context.clear_cookies(name="caseboard_auth")
    log_in(page, deployment, "deploy.lead1")
    page.get_by_role("heading", name="Caseload").wait_for(timeout=120_000)
    workload = page.get_by_role("button", name="Workload CSV")
    workload.wait_for(timeout=120_000)  # far down the lead's heaviest page, drawn after its heading
    with page.expect_download() as download:
        workload.click()
    assert download.value.path().read_text().startswith("Therapist,Active patients,")
    exports = "SELECT count(DISTINCT actor) FROM dash_audit WHERE action = 'export' AND actor IN ('deploy.gp2', 'deploy.lead1')"
    deadline = time.monotonic() + 30  # the audit row is written as the download is served
    while state_rows(deployment, exports) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert state_rows(deployment, exports) == 2


# ---------------------------------------------------------------- nothing written to the platform


def test_the_platform_is_only_read_and_the_state_database_holds_the_sessions(deployment):
    app_replica = create_engine(deployment.env["DASHBOARD_DB_URL"])
    app_primary = create_engine(deployment.primary.replace("postgres@", "caseboard_app@"))
    state = create_engine(deployment.state)
    try:
        with pytest.raises(DBAPIError, match="read-only transaction"), app_replica.begin() as conn:
            conn.execute(text("UPDATE clinicians SET display_name = 'x'"))
        with app_primary.connect() as conn:  # the app role may read the platform and change nothing
            for table in ("clinicians", "patients", "responses", "response_items", "messages"):
                for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"):
                    allowed = conn.scalar(text(f"SELECT has_table_privilege('{table}', '{privilege}')"))
                    assert allowed is (privilege == "SELECT"), (table, privilege)
        with state.connect() as conn:
            sessions = conn.scalar(text("SELECT count(*) FROM dash_sessions WHERE username = 'deploy.therapist1'"))
            logins = conn.scalar(
                text("SELECT count(*) FROM dash_audit WHERE actor = 'deploy.therapist1' AND action = 'login'")
            )
        assert sessions >= 2 and logins >= 2  # the logins of the tests above
    finally:
        for engine in (app_replica, app_primary, state):
            engine.dispose()


# ---------------------------------------------------------------- two refreshers at once


def lease_is_free(conn) -> bool:
    return bool(
        conn.scalar(
            text("SELECT coalesce(bool_and(expires_at <= timezone('utc', now())), true) FROM dash_refresh_lease")
        )
    )


def test_two_refreshers_started_at_once_exactly_one_works(deployment):
    """Both are held at the lease table until both wait there, then let go together.
    The deployment's own refresher is paused (between its runs) meanwhile, so it is
    not a third contender."""
    service = int((RUN / "refresher.pid").read_text())
    state = create_engine(deployment.state)
    racers: list[subprocess.Popen] = []
    try:
        with state.connect() as conn:
            for _ in range(120):
                os.kill(service, signal.SIGSTOP)
                try:
                    conn.execute(text("SET lock_timeout = '2s'"))
                    conn.execute(text("LOCK TABLE dash_refresh_lease IN ACCESS EXCLUSIVE MODE"))
                    if lease_is_free(conn):
                        break
                except DBAPIError:
                    pass  # paused inside a lease transaction: let it finish
                conn.rollback()
                os.kill(service, signal.SIGCONT)
                time.sleep(0.5)
            else:
                pytest.fail("the deployment's refresher never let go of the lease")
            for name in ("race_a", "race_b"):
                racers.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "dashboard",
                            "refresh",
                            "--db",
                            deployment.env["DASHBOARD_DB_URL"],
                            "--state-db",
                            f"{deployment.env['DASHBOARD_STATE_DB_URL']}?application_name={name}",
                        ],
                        cwd=ROOT,
                        env={**os.environ, **deployment.env},
                        stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT,
                        text=True,
                    )
                )
            waiting = text(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name IN ('race_a', 'race_b') "
                "AND wait_event_type = 'Lock'"
            )
            # autocommit: within one transaction pg_stat_activity is a snapshot that never changes
            with create_engine(deployment.state, isolation_level="AUTOCOMMIT").connect() as watcher:
                deadline = time.monotonic() + 120
                while watcher.scalar(waiting) < 2 and time.monotonic() < deadline:
                    time.sleep(0.2)
                assert watcher.scalar(waiting) == 2, "the two refreshers never both reached the lease"
            conn.commit()  # let go of both at once
        outputs = [racer.communicate(timeout=300)[0] for racer in racers]
    finally:
        os.kill(service, signal.SIGCONT)
        for racer in racers:
            if racer.poll() is None:
                racer.kill()
        state.dispose()
    worked = [out for out in outputs if out.startswith("refresh:")]
    held = [out for out in outputs if "holds the lease: nothing written" in out]
    assert len(worked) == 1 and len(held) == 1, outputs


# ---------------------------------------------------------------- the replica stops and starts


def pg_ctl(*args: str) -> subprocess.CompletedProcess:
    """The replica cluster's pg_ctl, as the user that owns it (up.sh made it as postgres when root)."""
    binary = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))[-1]
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    replica = (RUN / "pg").resolve() / "replica"
    return subprocess.run([*as_owner, str(binary), "-D", str(replica), *args], capture_output=True, text=True)


def test_the_replica_stopped_and_started_gives_a_banner_then_the_page(deployment, context):
    """A GP's next page needs the platform while the replica is down: the banner in
    words and a Retry, no traceback; once the replica is back, Retry shows the page."""
    user = "deploy.gp1"
    page = context.new_page()
    log_in(page, deployment, user)
    page.get_by_role("heading", name="Follow-ups due").wait_for(timeout=60_000)
    sizes = log_sizes(deployment)
    stopped = pg_ctl("-m", "fast", "-w", "stop")
    assert stopped.returncode == 0, stopped.stderr
    try:
        page.get_by_role("link", name="My patients").click()  # not read yet: nothing cached
        wait_for_app(page)
        page.get_by_text("Caseboard cannot reach the database just now").wait_for(timeout=60_000)
        assert page.get_by_text("Traceback").count() == 0 and page.get_by_role("button", name="Retry").is_visible()
    finally:
        again = script("up.sh")  # idempotent: starts the replica again (and whatever it took down)
        assert again.returncode == 0, again.stderr
    page.get_by_role("button", name="Retry").click()
    wait_for_app(page)
    page.get_by_role("heading", name="My patients").wait_for(timeout=60_000)
    assert page.get_by_text("Caseboard cannot reach the database just now").count() == 0
    faults = [
        json.loads(line)
        for i in (1, 2)
        for line in deployment.log(i).read_bytes()[sizes[i] :].decode(errors="replace").splitlines()
        if line.startswith("{") and '"db_fault"' in line
    ]
    assert faults and all(f["kind"] == "unreachable" for f in faults)


# ---------------------------------------------------------------- an instance stops mid-session


def test_an_instance_killed_mid_session_hands_the_clinician_to_the_other(deployment, context):
    """The route cookie pins the browser to one instance; once that one is killed,
    nginx sends the next request to the other, whose run reads the same session
    record from the state database: no second login."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    user = "deploy.therapist2"
    sizes = log_sizes(deployment)
    page = context.new_page()
    log_in(page, deployment, user)
    page.get_by_role("heading", name="Triage").wait_for(timeout=60_000)
    page.get_by_role("link", name="My patients").click()
    wait_for_app(page)
    page.get_by_role("heading", name="My patients").wait_for(timeout=60_000)
    served = {i: runs_of(deployment.log(i), user, sizes[i]) for i in (1, 2)}
    pinned = [i for i in (1, 2) if served[i]]
    assert len(pinned) == 1, "every run of one browser is served by one instance"
    pinned, other = pinned[0], 3 - pinned[0]
    try:
        sizes = log_sizes(deployment)
        os.kill(deployment.pid(pinned), signal.SIGKILL)
        try:  # the page notices the lost connection...
            page.wait_for_selector(
                "[data-testid='stApp']:not([data-test-connection-state='CONNECTED'])", timeout=15_000
            )
        except PlaywrightTimeout:
            pass  # ...or had reconnected before we looked
        wait_for_app(page)  # ...and reconnects, through nginx, to the other instance
        page.get_by_role("link", name="Triage").click()
        wait_for_app(page)
        page.get_by_role("heading", name="Triage").wait_for(timeout=60_000)
        assert page.get_by_role("textbox", name="Username").count() == 0  # no second login
        assert any(run["page"] == "Triage" for run in runs_of(deployment.log(other), user, sizes[other]))
    finally:
        again = script("up.sh")  # idempotent: starts only the killed instance again
        assert again.returncode == 0, again.stderr
        assert f"starting app {pinned}" in again.stdout and f"starting app {other}" not in again.stdout


# ---------------------------------------------------------------- an instance killed around a commit


def due_count(page) -> int:
    found = page.get_by_text(re.compile(r"^\d+ patients? due")).first
    found.wait_for(timeout=60_000)
    return int(found.inner_text().split()[0])


def open_followup_form(page) -> str:
    """The first due patient's form, filled in (step up, with a note); returns the code."""
    from tests.test_browser import select_first_row

    select_first_row(page)
    heading = page.get_by_text(re.compile(r"^Log a follow-up for ")).first
    heading.wait_for(timeout=60_000)
    action = page.get_by_role("combobox", name="Action")
    action.click()
    action.fill("Step up")
    page.keyboard.press("Enter")
    page.get_by_label("Note (optional)").fill("Low mood despite module 3; please call this week.")
    return heading.inner_text().removeprefix("Log a follow-up for ").strip()


def serving(deployment: Deployment, user: str, sizes: dict[int, int]) -> int:
    """The one instance that ran this user's page since ``sizes``."""
    served = [i for i in (1, 2) if runs_of(deployment.log(i), user, sizes[i])]
    assert len(served) == 1, served
    return served[0]


def kill_while_the_write_waits(deployment: Deployment, instance: int, table: str, submit) -> None:
    """Hold ``table`` locked, ``submit`` the form, and once the instance's write waits
    for the table kill the instance (before its commit); then let go and wait until
    PostgreSQL has rolled back the orphaned transaction."""
    state = create_engine(deployment.state)
    watcher = create_engine(deployment.state, isolation_level="AUTOCOMMIT")
    apps = "usename = 'caseboard_app' AND application_name <> 'caseboard_refresher'"
    waiting = text(
        f"SELECT count(*) FROM pg_stat_activity WHERE {apps} AND wait_event_type = 'Lock' AND query ILIKE '%{table}%'"
    )
    in_flight = text(
        f"SELECT count(*) FROM pg_stat_activity WHERE {apps} "
        "AND (wait_event_type = 'Lock' OR state LIKE 'idle in transaction%')"
    )
    try:
        with state.connect() as conn, watcher.connect() as watch:
            conn.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
            submit()
            deadline = time.monotonic() + 60
            while watch.scalar(waiting) < 1 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert watch.scalar(waiting) >= 1, f"the save never reached {table}"
            os.kill(deployment.pid(instance), signal.SIGKILL)  # before the commit
            conn.commit()
            deadline = time.monotonic() + 60  # the orphaned transaction is rolled back
            while watch.scalar(in_flight) and time.monotonic() < deadline:
                time.sleep(0.2)
    finally:
        state.dispose()
        watcher.dispose()


def test_an_instance_killed_around_a_follow_ups_commit_stores_it_once_or_visibly_not_at_all(deployment, context):
    """Killed while the write waits (before its commit): nothing is stored and the
    other instance still shows the patient as due. Killed once the row is committed
    (after): the other instance shows it saved (no longer due), stored exactly once."""
    user = "deploy.gp2"  # one follow-up logged by the journeys test above
    stored = f"SELECT count(*) FROM dash_followups WHERE gp = '{user}'"
    page = context.new_page()
    sizes = log_sizes(deployment)
    log_in(page, deployment, user)
    page.get_by_role("heading", name="Follow-ups due").wait_for(timeout=60_000)
    due, before = due_count(page), state_rows(deployment, stored)
    open_followup_form(page)
    first = serving(deployment, user, sizes)
    try:
        kill_while_the_write_waits(
            deployment, first, "dash_followups", page.get_by_role("button", name="Save follow-up").click
        )
        assert state_rows(deployment, stored) == before  # not stored...
        # The reconnected page may show the form again for a retry (the browser resends
        # the selected row to the other instance), so the due list is opened by address.
        page.goto(f"{deployment.url}/followups")
        wait_for_app(page)
        page.get_by_role("heading", name="Follow-ups due").wait_for(timeout=60_000)
        assert due_count(page) == due  # ...and visibly so: still due, on the other instance
        assert page.get_by_text(re.compile(r"Follow-up for .+ saved\.")).count() == 0
        again = script("up.sh")
        assert again.returncode == 0, again.stderr

        page.reload()
        wait_for_app(page)
        sizes = log_sizes(deployment)
        page.get_by_role("heading", name="Follow-ups due").wait_for(timeout=60_000)
        open_followup_form(page)
        second = serving(deployment, user, sizes)
        page.get_by_role("button", name="Save follow-up").click()
        deadline = time.monotonic() + 60
        while state_rows(deployment, stored) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(deployment.pid(second), signal.SIGKILL)  # just after the commit
        assert state_rows(deployment, stored) == before + 1
        page.wait_for_timeout(2_000)
        page.reload()
        wait_for_app(page)
        page.get_by_role("heading", name="Follow-ups due").wait_for(timeout=60_000)
        assert due_count(page) == due - 1  # shown as saved: no longer due
        assert state_rows(deployment, stored) == before + 1  # exactly once
    finally:
        again = script("up.sh")
        assert again.returncode == 0, again.stderr


def queued(page) -> int:
    """The Triage caption's count: "N patients need you"."""
    found = page.get_by_text(re.compile(r"^\d+ patients? needs? you")).first
    found.wait_for(timeout=60_000)
    return int(found.inner_text().split()[0])


def test_an_instance_killed_around_an_acknowledgements_commit_stores_it_once_or_visibly_not_at_all(deployment, context):
    """As the follow-up's: killed while the acknowledgement waits for its table, nothing
    is stored and the other instance still queues the patient with its reasons open;
    killed once the rows are committed, the other instance no longer queues the
    patient, and each reason is stored once. (The form's idempotency key lives in
    the dead instance's session; the other instance cannot resubmit what it shows
    as handled.)"""
    user = "deploy.therapist1"  # one patient handled by the journeys test above
    stored = f"SELECT count(*) FROM dash_acknowledgements WHERE actor = '{user}'"
    page = context.new_page()
    sizes = log_sizes(deployment)
    log_in(page, deployment, user)
    page.get_by_role("heading", name="Triage").wait_for(timeout=60_000)
    waiting, before = queued(page), state_rows(deployment, stored)
    code, _ = open_handle_form(page)
    first = serving(deployment, user, sizes)
    submit = page.get_by_role("dialog").get_by_role("button", name="Mark selected handled").click
    try:
        kill_while_the_write_waits(deployment, first, "dash_acknowledgements", submit)
        assert state_rows(deployment, stored) == before  # not stored...
        page.goto(f"{deployment.url}/triage")  # the reconnected page may reopen the dialog
        wait_for_app(page)
        page.get_by_role("heading", name="Triage").wait_for(timeout=60_000)
        assert queued(page) == waiting  # ...and visibly so: still queued, on the other instance
        assert page.get_by_text(f"Handled for {code} by you").count() == 0
        again = script("up.sh")
        assert again.returncode == 0, again.stderr

        page.reload()
        wait_for_app(page)
        sizes = log_sizes(deployment)
        page.get_by_role("heading", name="Triage").wait_for(timeout=60_000)
        again_code, reasons = open_handle_form(page)
        assert again_code == code  # the same patient, its reasons still open
        second = serving(deployment, user, sizes)
        submit()
        deadline = time.monotonic() + 60
        while state_rows(deployment, stored) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(deployment.pid(second), signal.SIGKILL)  # just after the commit
        assert state_rows(deployment, stored) == before + reasons  # one transaction: all its rows
        page.wait_for_timeout(2_000)
        page.goto(f"{deployment.url}/triage")
        wait_for_app(page)
        page.get_by_role("heading", name="Triage").wait_for(timeout=60_000)
        assert queued(page) == waiting - 1  # shown as handled: no longer queued
        assert state_rows(deployment, stored) == before + reasons  # each reason exactly once
    finally:
        again = script("up.sh")
        assert again.returncode == 0, again.stderr


# ---------------------------------------------------------------- the load script through nginx


def test_the_load_script_drives_both_instances_through_nginx(deployment, tmp_path):
    """`caseboard load --deployment`: three sessions through nginx, spread over the
    two instances by their route cookies; both instances' logs hold runs, and no
    session met an error. Its timings are reported, not asserted."""
    out = tmp_path / "load.json"
    done = subprocess.run(
        [sys.executable, "-m", "tools.load", "--deployment", str(RUN), "--sessions", "3", "--rounds", "1"]
        + ["--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = json.loads(out.read_text())
    every = next(row for row in rows if row["page"] == "all")
    assert every["sessions"] == 3 and every["errors"] == 0 and every["visits"] >= 3 * 2
    assert [i["pid"] for i in every["instances"]] == [deployment.pid(1), deployment.pid(2)]
    assert all(i["runs"] > 0 and i["rss_peak_mb"] > 100 for i in every["instances"]), every["instances"]
    assert every["runs"] == sum(i["runs"] for i in every["instances"])


# ---------------------------------------------------------------- a backup of the state database


def pg_binary(name: str) -> str:
    return str(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))[-1])


def test_a_dump_of_the_state_database_restores_with_every_clinicians_row(deployment, tmp_path):
    """docs/deployment.md's backup: pg_dump of the state database while the instances
    and the refresher run, restored into an empty database: at the migration head,
    with the same acknowledgements, follow-ups, sessions and audit rows."""
    dump = tmp_path / "caseboard.dump"
    port = str(PORT_BASE + 32)
    done = subprocess.run(
        [pg_binary("pg_dump"), "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-Fc", "-f", str(dump), "caseboard"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    admin = create_engine(deployment.state.replace("/caseboard", "/postgres"), isolation_level="AUTOCOMMIT")
    restored = deployment.state.replace("/caseboard", "/caseboard_restored")
    try:
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS caseboard_restored"))
            conn.execute(text("CREATE DATABASE caseboard_restored OWNER caseboard_migrator"))
        done = subprocess.run(
            [pg_binary("pg_restore"), "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-d", "caseboard_restored"]
            + ["--exit-on-error", str(dump)],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        check = subprocess.run(
            [sys.executable, "-m", "dashboard", "db", "check", "--db", restored],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0 and "(current)" in check.stdout, check.stdout + check.stderr
        tables = ("dash_acknowledgements", "dash_followups", "dash_sessions", "dash_audit")
        counts = {}
        for url in (deployment.state, restored):
            engine = create_engine(url)
            with engine.connect() as conn:
                counts[url] = {t: conn.scalar(text(f"SELECT count(*) FROM {t}")) for t in tables}
            engine.dispose()
        # the journeys test above wrote these
        assert counts[restored]["dash_acknowledgements"] >= 1 and counts[restored]["dash_followups"] >= 1
        # nothing logged in meanwhile: the clinicians' tables are as dumped
        assert counts[restored] == counts[deployment.state]
    finally:
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS caseboard_restored"))
        admin.dispose()
