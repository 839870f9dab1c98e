"""Load script: ``caseboard load``.

Serves the app (``streamlit run dashboard/ui/app.py``) and drives N concurrent
sessions in one headless Chromium (one browser context per session, logged in
as therapist1, lead1, therapist2, lead2 in turn), each looping through its
role's pages: therapist Triage, My patients, a Patient (the first rows in
turn); team lead Caseload, Triage, Audit. Generic HTTP load tools cannot drive
Streamlit reruns (docs/streamlit-notes.md, Scale), so the sessions are real
browsers.

Timings come from both ends. The app's ``script_run`` log lines
(dashboard/logs.py) within each level's window give p50 and p95 per page of each
run's wall time and of its CPU time on its own thread (steadier than wall time on
a shared machine: waiting for the CPU is not in it). The browser gives the time
from the click on the nav link or the row to the page settled (its heading
shown, Streamlit's script no longer running, no skeleton), p50 and p95 per page:
what a clinician waits, the client's own share of the CPU included. Beside them:
the server's peak resident memory (/proc VmRSS, sampled), memory
per session as (peak - idle) / N, where idle is measured after a warm-up that
visits every page once (imports and caches loaded), and the CPU the client
(this process, Playwright's driver and Chromium) and the server used over the
window, in % of one core: on a small machine a busy client slows the server,
and so does anything else running (each row records the load average).

With ``--deployment DIR`` it starts no server: it drives the deployment that
deploy/up.sh runs from DIR (docs/deployment.md) through nginx over HTTPS (its
self-signed certificate accepted), as that deployment's clinicians
(``deploy.therapist1`` ...) with its generated password, and reads every
instance's log and /proc entry: the page timings cover the runs of all of them,
and each level also reports each instance's runs, peak memory and CPU, so the
figures say how the sessions spread and what one instance costs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dashboard.commands import command
from dashboard.config import DATA_DIR
from dashboard.logs import rss_mb
from tests.browser import CHROMIUM, CHROMIUM_ARGS, free_port, start_server

PASSWORD = "caseboard-demo"
USERS = ("therapist1", "lead1", "therapist2", "lead2")  # session i logs in as USERS[i % 4]
ROUTE_COOKIE = "caseboard_route"  # deploy/nginx.conf: the upstream is hashed on it
DEPLOY_USER_PREFIX = "deploy."  # deploy/up.sh renames the demo's clinicians: production refuses their names
ROLE_PAGES = {"therapist": ("Triage", "My patients", "Patient"), "lead": ("Caseload", "Triage", "Audit")}
HEADINGS = {"Triage": "Triage", "My patients": "My patients", "Caseload": "Caseload", "Audit": "Audit trail"}
MAX_SESSIONS = 10  # one 2-core machine runs server, client and browser together
TARGET_RSS_MB = 300
LOG_DIR = DATA_DIR / "load"
TIMEOUT_MS = 120_000


@dataclass
class Row:
    """One page at one level; the memory and CPU figures are the level's."""

    sessions: int
    page: str
    runs: int  # the server's script runs of the page (a row's click also reruns the page it is on)
    p50_ms: float | None  # wall time of those runs, on the server
    p95_ms: float | None
    cpu_p50_ms: float | None  # their CPU time on their own thread
    cpu_p95_ms: float | None
    visits: int  # the browser's visits to the page
    settled_p50_ms: float | None  # from the click to the page settled, in the browser
    settled_p95_ms: float | None
    server_rss_peak_mb: float
    rss_per_session_mb: float
    client_cpu_pct: float
    server_cpu_pct: float
    idle_rss_mb: float
    errors: int
    wall_s: float
    loadavg_1m: float  # the machine's load at the level's end: other work on a shared machine skews every figure
    instances: list[dict] = field(default_factory=list)  # per instance: its runs, peak MB and CPU % in the window


@dataclass
class Instance:
    """One served app: its process (memory, CPU) and its log (the script runs)."""

    pid: int
    log: Path


# ---------------------------------------------------------------- processes


def _proc_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, CPU ticks including reaped children) for every process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        # after "pid (comm)": state ppid ...; utime stime cutime cstime are fields 14-17 of stat(5)
        table[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]))
    return table


def _tree(root: int, table: dict[int, tuple[int, int]]) -> set[int]:
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in table and pid not in found:
            found.add(pid)
            todo.extend(child for child, (parent, _) in table.items() if parent == pid)
    return found


def cpu_ticks(server_pids: list[int]) -> tuple[dict[int, int], list[dict[int, int]]]:
    """CPU ticks per process of the client (this process and its descendants but
    the servers) and of each server."""
    table = _proc_table()
    servers = [_tree(pid, table) for pid in server_pids]
    client = _tree(os.getpid(), table).difference(*servers)
    return {p: table[p][1] for p in client}, [{p: table[p][1] for p in server} for server in servers]


def cpu_pct(before: dict[int, int], after: dict[int, int], wall_s: float) -> float:
    """CPU used between two snapshots in % of one core (a process new since counts from 0)."""
    used = sum(ticks - before.get(pid, 0) for pid, ticks in after.items())
    return round(100 * used / os.sysconf("SC_CLK_TCK") / wall_s, 1) if wall_s > 0 else 0.0


# ---------------------------------------------------------------- sessions

# Run in every document of a session: the time of each click, by the page's own clock.
CLICK_CLOCK_JS = "document.addEventListener('click', () => { window.__caseboardClickAt = performance.now(); }, true);"
# Polled by the browser after a click: milliseconds since it once the page has settled,
# else false. Settled: connected, the script not running, no skeleton, and a visible
# heading starting with the page's (a patient's starts with the code in its URL).
SETTLED_JS = """(heading) => {
  const app = document.querySelector("[data-testid='stApp']");
  if (!app || app.getAttribute("data-test-connection-state") !== "CONNECTED"
      || app.getAttribute("data-test-script-state") !== "notRunning"
      || document.querySelector("[data-testid='stSkeleton']")
      || window.__caseboardClickAt == null) return false;
  const want = heading ?? (location.pathname.endsWith("/patient")
      && new URLSearchParams(location.search).get("patient"));
  if (!want) return false;
  const shown = [...document.querySelectorAll("h1")].some(
      (h) => h.textContent.trim().startsWith(want) && h.getClientRects().length > 0);
  return shown && performance.now() - window.__caseboardClickAt;
}"""


async def wait_for_app(page, settle_ms: int = 200) -> None:
    """As tests/browser.py: connected, script idle, no skeleton, twice (a cookie write reruns)."""
    await page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=TIMEOUT_MS)
    for _ in range(2):
        await page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=TIMEOUT_MS)
        await page.wait_for_selector("[data-testid='stSkeleton']", state="detached", timeout=TIMEOUT_MS)
        await page.wait_for_timeout(settle_ms)


class Session:
    """One browser context logged in as one clinician, looping through their pages."""

    def __init__(self, browser, base_url: str, username: str, password: str = PASSWORD, route: str | None = None):
        self.browser, self.base_url, self.username, self.password = browser, base_url, username, password
        self.route = route  # nginx's route cookie, chosen so the sessions spread over the instances
        self.pages = ROLE_PAGES["lead" if username.removeprefix(DEPLOY_USER_PREFIX).startswith("lead") else "therapist"]
        self.errors = 0
        self.settled: dict[str, list[float]] = {}  # page -> click-to-settled ms of each visit
        self.context = self.page = None

    async def log_in(self) -> None:
        self.context = await self.browser.new_context(
            viewport={"width": 1400, "height": 900}, ignore_https_errors=self.base_url.startswith("https:")
        )
        await self.context.add_init_script(CLICK_CLOCK_JS)
        if self.route is not None:
            await self.context.add_cookies([{"name": ROUTE_COOKIE, "value": self.route, "url": self.base_url}])
        self.page = await self.context.new_page()
        await self.page.goto(self.base_url)
        await wait_for_app(self.page)
        await self.page.get_by_role("textbox", name="Username").fill(self.username)
        await self.page.get_by_role("textbox", name="Password").fill(self.password)
        await self.page.get_by_role("button", name="Login").click()
        await self.page.get_by_role("heading", name=HEADINGS[self.pages[0]]).first.wait_for(timeout=TIMEOUT_MS)
        await wait_for_app(self.page)

    async def visit(self, name: str, round_no: int) -> None:
        """Click through to the page, time it until settled in the browser, then wait
        as tests/browser.py does (a second run, e.g. a cookie write, may follow)."""
        page = self.page
        await page.evaluate("window.__caseboardClickAt = null")
        if name == "Patient":  # select a row of My patients, as a clinician would (tests/test_browser.py)
            grid = page.locator(".st-key-my_patients_table [data-testid='stDataFrame']")  # not the data-quality table
            await grid.wait_for(timeout=TIMEOUT_MS)
            box = await grid.bounding_box()
            row = round_no % 5
            await page.mouse.click(box["x"] + 12, box["y"] + 38 + 35 * row + 17)
        else:
            await page.get_by_role("link", name=name, exact=True).click()
        settled = await page.wait_for_function(SETTLED_JS, arg=HEADINGS.get(name), polling="raf", timeout=TIMEOUT_MS)
        self.settled.setdefault(name, []).append(float(await settled.json_value()))
        await wait_for_app(page)

    async def loop(self, deadline: float | None, rounds: int | None) -> None:
        """Visit the role's pages in turn until the deadline or after ``rounds`` rounds.
        A failed step is counted and the session starts again from its landing page."""
        round_no = 0
        while (rounds is None or round_no < rounds) and (deadline is None or time.monotonic() < deadline):
            for name in self.pages[1:] + self.pages[:1]:  # it is on the landing page already
                try:
                    await self.visit(name, round_no)
                except Exception as exc:  # noqa: BLE001 - a load run reports failures, it does not stop at one
                    self.errors += 1
                    print(f"{self.username}: {name}: {type(exc).__name__}", file=sys.stderr)
                    if not await self.restart():
                        return
                    break
            round_no += 1

    async def restart(self) -> bool:
        """Back to the landing page (the cookie logs in again); False if even that fails."""
        try:
            await self.page.goto(self.base_url)
            await wait_for_app(self.page)
            return True
        except Exception:  # noqa: BLE001
            self.errors += 1
            return False

    async def close(self) -> None:
        if self.context is not None:
            await self.context.close()


class RssSampler:
    """The server's peak VmRSS, sampled every ``interval`` seconds while the loop runs."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.pid, self.interval, self.peak = pid, interval, 0.0
        self.task: asyncio.Task | None = None

    async def _run(self) -> None:
        while True:
            self.peak = max(self.peak, rss_mb(self.pid) or 0.0)
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self.peak = rss_mb(self.pid) or 0.0
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> float:
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass
        return max(self.peak, rss_mb(self.pid) or 0.0)


# ---------------------------------------------------------------- statistics


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (no interpolation: every figure is a run that happened)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def script_runs(log_path: Path, start: int, end: int) -> list[dict]:
    """The ``script_run`` records the server wrote between two byte offsets of its log."""
    with log_path.open("rb") as f:
        f.seek(start)
        chunk = f.read(end - start).decode(errors="replace")
    records = []
    for line in chunk.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("event") == "script_run":
                records.append(record)
    return records


def level_rows(
    sessions: int,
    runs: list[dict],
    settled: dict[str, list[float]],
    peak: float,
    idle: float,
    client_pct: float,
    server_pct: float,
    errors: int,
    wall_s: float,
) -> list[Row]:
    """One row per page and one for all pages ("all"), from the server's runs and
    the browser's click-to-settled times (page -> ms of each visit)."""
    pages = {r["page"] for r in runs} | set(settled)
    wall = {page: [float(r["duration_ms"]) for r in runs if r["page"] == page] for page in pages}
    cpu = {page: [float(r["cpu_ms"]) for r in runs if r["page"] == page and "cpu_ms" in r] for page in pages}
    visits = {page: settled.get(page, []) for page in pages}
    wall["all"], cpu["all"] = [t for ts in wall.values() for t in ts], [t for ts in cpu.values() for t in ts]
    visits["all"] = [t for ts in visits.values() for t in ts]
    common = dict(
        server_rss_peak_mb=round(peak, 1),
        rss_per_session_mb=round((peak - idle) / sessions, 1),
        client_cpu_pct=client_pct,
        server_cpu_pct=server_pct,
        idle_rss_mb=round(idle, 1),
        errors=errors,
        wall_s=round(wall_s, 1),
        loadavg_1m=os.getloadavg()[0],
    )
    return [
        Row(
            sessions,
            page,
            len(wall[page]),
            *_p50_p95(wall[page]),
            *_p50_p95(cpu[page]),
            len(visits[page]),
            *_p50_p95(visits[page]),
            **common,
        )
        for page in sorted(wall, key=lambda page: (page == "all", page))
    ]


def _p50_p95(values: list[float]) -> tuple[float | None, float | None]:
    return _ms(percentile(values, 50)), _ms(percentile(values, 95))


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# ---------------------------------------------------------------- the run


async def run_levels(
    base_url: str,
    instances: list[Instance],
    levels: list[int],
    duration: float | None,
    rounds: int | None,
    users: list[str],
    password: str,
) -> list[Row]:
    try:
        from playwright.async_api import async_playwright
    except ImportError as exc:
        raise SystemExit("playwright is not installed: pip install -r requirements-dev.txt") from exc
    rows: list[Row] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        routes = await find_routes(browser, base_url, instances, users[0], password) if len(instances) > 1 else [None]
        for route in routes:  # warm-up of every instance: imports and caches, and every page works
            for username in users[:2]:
                warm = Session(browser, base_url, username, password, route)
                await warm.log_in()
                await warm.loop(None, 1)
                await warm.close()
                if warm.errors:
                    raise RuntimeError(f"warm-up as {username} failed; see {[str(i.log) for i in instances]}")
        await asyncio.sleep(1)
        idle = [rss_mb(i.pid) or 0.0 for i in instances]
        print(f"server idle after warm-up: {' + '.join(f'{mb:.0f}' for mb in idle)} MB", file=sys.stderr)
        for n in levels:
            rows += await run_level(browser, base_url, instances, routes, n, idle, duration, rounds, users, password)
        await browser.close()
    return rows


async def find_routes(browser, base_url: str, instances: list[Instance], username: str, password: str) -> list[str]:
    """A route cookie per instance: log in with route after route and see whose log
    the landing page's run reached, until every instance has one. nginx's hash
    decides where a route goes, so a random route per session could leave an
    instance idle (3 sessions: one time in four)."""
    routes: dict[int, str] = {}
    for k in range(8 * len(instances)):
        offsets = [i.log.stat().st_size for i in instances]
        probe = Session(browser, base_url, username, password, route=f"load-{k}")
        await probe.log_in()
        await probe.close()
        await asyncio.sleep(0.2)  # the run's line reaches the log file
        served = [
            n
            for n, (i, o) in enumerate(zip(instances, offsets, strict=True))
            if script_runs(i.log, o, i.log.stat().st_size)
        ]
        if len(served) == 1:
            routes.setdefault(served[0], f"load-{k}")
        if len(routes) == len(instances):
            return [routes[n] for n in range(len(instances))]
    raise RuntimeError(f"no route found to instances {sorted(set(range(len(instances))) - set(routes))}")


def session_route(routes: list[str | None], i: int) -> str | None:
    """Session i's route: round-robin over the instances, shifted every round so that
    with two instances each gets therapists and team leads (users alternate roles)."""
    return routes[(i + i // len(routes)) % len(routes)]


async def run_level(
    browser,
    base_url: str,
    instances: list[Instance],
    routes: list[str | None],
    n: int,
    idle: list[float],
    duration: float | None,
    rounds: int | None,
    users: list[str],
    password: str,
) -> list[Row]:
    """Log N sessions in, then measure their loops: the window excludes the logins."""
    samplers = [RssSampler(i.pid) for i in instances]
    for sampler in samplers:
        sampler.start()
    sessions = [Session(browser, base_url, users[i % len(users)], password, session_route(routes, i)) for i in range(n)]
    await asyncio.gather(*(s.log_in() for s in sessions))
    offsets, started = [i.log.stat().st_size for i in instances], time.monotonic()
    pids = [i.pid for i in instances]
    client_before, servers_before = cpu_ticks(pids)
    deadline = None if duration is None else started + duration
    await asyncio.gather(*(s.loop(deadline, rounds) for s in sessions))
    wall = time.monotonic() - started
    client_after, servers_after = cpu_ticks(pids)
    await asyncio.sleep(0.2)  # the last lines reach the log files
    each = [script_runs(i.log, offset, i.log.stat().st_size) for i, offset in zip(instances, offsets, strict=True)]
    peaks = [await sampler.stop() for sampler in samplers]
    await asyncio.gather(*(s.close() for s in sessions))
    settled: dict[str, list[float]] = {}
    for s in sessions:
        for page, times in s.settled.items():
            settled.setdefault(page, []).extend(times)
    server_pcts = [cpu_pct(b, a, wall) for b, a in zip(servers_before, servers_after, strict=True)]
    rows = level_rows(
        n,
        [run for runs in each for run in runs],
        settled,
        sum(peaks),
        sum(idle),
        cpu_pct(client_before, client_after, wall),
        round(sum(server_pcts), 1),
        sum(s.errors for s in sessions),
        wall,
    )
    per_instance = [
        {"pid": i.pid, "runs": len(runs), "rss_peak_mb": round(peak, 1), "idle_rss_mb": round(still, 1), "cpu_pct": pct}
        for i, runs, peak, still, pct in zip(instances, each, peaks, idle, server_pcts, strict=True)
    ]
    for row in rows:
        row.instances = per_instance
    print_rows(rows)
    if len(instances) > 1:
        for k, figures in enumerate(per_instance, 1):
            print(
                f"{n:>8} instance {k} (pid {figures['pid']}): {figures['runs']} runs, peak {figures['rss_peak_mb']:.0f} MB "
                f"(idle {figures['idle_rss_mb']:.0f}), CPU {figures['cpu_pct']:.0f}%",
                flush=True,
            )
    return rows


def print_rows(rows: list[Row]) -> None:
    for r in rows:
        print(
            f"{r.sessions:>8} {r.page:<12} {r.runs:>5} {_fmt(r.p50_ms):>8} {_fmt(r.p95_ms):>8} "
            f"{_fmt(r.cpu_p50_ms):>8} {_fmt(r.cpu_p95_ms):>8} {r.visits:>6} "
            f"{_fmt(r.settled_p50_ms):>9} {_fmt(r.settled_p95_ms):>9} "
            f"{r.server_rss_peak_mb:>9.0f} {r.rss_per_session_mb:>8.1f} {r.client_cpu_pct:>7.0f} "
            f"{r.server_cpu_pct:>7.0f} {r.errors:>6} {r.loadavg_1m:>5.1f}",
            flush=True,
        )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def demo_database(directory: Path, patients: int) -> str:
    """A freshly generated demo SQLite, so the run never writes into a database in use."""
    from dashboard import db, demo
    from dashboard.engine import make_engine

    url = f"sqlite:///{directory}/load-demo.sqlite"
    engine = make_engine(url)
    demo.generate(engine, patients=patients)
    db.upgrade(engine)
    engine.dispose()
    return url


def parse_levels(text: str) -> list[int]:
    levels = [int(s) for s in text.split(",") if s.strip()]
    if not levels or min(levels) < 1 or max(levels) > MAX_SESSIONS:
        raise argparse.ArgumentTypeError(f"session counts from 1 to {MAX_SESSIONS}, e.g. 1,5,10")
    return levels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=command("load"), description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--db",
        help="a database made by the demo generator, e.g. the bench's (default: a freshly "
        "generated demo SQLite); the load logs in as the demo users, in demo mode",
    )
    parser.add_argument(
        "--state-db", help="state database URL (default: --db); logins and page opens are audited there"
    )
    parser.add_argument(
        "--patients", type=int, default=480, help="size of the generated demo (default: 480, the demo's)"
    )
    parser.add_argument("--sessions", type=parse_levels, default=[1, 5, 10], help="concurrent sessions per level")
    how_long = parser.add_mutually_exclusive_group()
    how_long.add_argument("--duration", type=float, help="seconds each level runs (default: 30)")
    how_long.add_argument("--rounds", type=int, help="rounds through its pages per session, instead of a duration")
    parser.add_argument("--json", dest="json_file", help="write the rows here as JSON")
    parser.add_argument(
        "--deployment",
        metavar="DIR",
        help="drive the deployment deploy/up.sh runs from DIR (e.g. data/deploy) through its nginx, "
        "as its clinicians, instead of serving a demo; the figures cover its instances",
    )
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        parser.error(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    duration = args.duration if args.duration is not None or args.rounds is not None else 30.0
    if args.deployment:
        if args.db or args.state_db:
            parser.error("--deployment reads the deployment's own databases: no --db or --state-db")
        rows = drive_deployment(parser, Path(args.deployment), args.sessions, duration, args.rounds)
    else:
        rows = drive_demo_server(parser, args.db, args.state_db, args.patients, args.sessions, duration, args.rounds)
    peak = max(max(i["rss_peak_mb"] for i in r.instances) for r in rows)
    print(f"server peak {peak:.0f} MB: {'within' if peak <= TARGET_RSS_MB else 'over'} the {TARGET_RSS_MB} MB target")
    if args.json_file:
        Path(args.json_file).write_text(json.dumps([asdict(r) for r in rows], indent=1))
    return 1 if any(r.errors for r in rows) else 0


def print_header() -> None:
    print(
        f"{'sessions':>8} {'page':<12} {'runs':>5} {'p50 ms':>8} {'p95 ms':>8} {'cpu p50':>8} "
        f"{'cpu p95':>8} {'visits':>6} {'click p50':>9} {'click p95':>9} {'peak MB':>9} "
        f"{'MB/sess':>8} {'client%':>7} {'server%':>7} {'errors':>6} {'load':>5}",
        flush=True,
    )


def drive_demo_server(
    parser: argparse.ArgumentParser,
    db: str | None,
    state_db: str | None,
    patients: int,
    levels: list[int],
    duration: float | None,
    rounds: int | None,
) -> list[Row]:
    """Serve the app in demo mode on a free port (a fresh demo unless ``db``) and drive it."""
    from dashboard import demo
    from dashboard.engine import make_engine

    if db and demo.read_generated_for(make_engine(db)) is None:
        parser.error(
            "--db must be a database made by the demo generator: the load runs in demo mode, "
            "which Caseboard refuses on any other database (README, Modes)"
        )
    port = free_port()
    log_path = LOG_DIR / f"server-{port}.log"
    with tempfile.TemporaryDirectory(prefix="caseboard-load-") as tmp:
        db_url = db or demo_database(Path(tmp), patients)
        env = {"DASHBOARD_DB_URL": db_url, "DASHBOARD_STATE_DB_URL": state_db or db_url, "DASHBOARD_MODE": "demo"}
        server = start_server(port, env, log_path)
        try:
            print(f"server pid {server.pid} on port {port}, log {log_path}", file=sys.stderr)
            print_header()
            return asyncio.run(
                run_levels(
                    f"http://127.0.0.1:{port}",
                    [Instance(server.pid, log_path)],
                    levels,
                    duration,
                    rounds,
                    list(USERS),
                    PASSWORD,
                )
            )
        finally:
            server.terminate()
            server.wait(timeout=30)


def deployment_instances(run: Path) -> list[Instance]:
    """The app instances deploy/up.sh started from ``run``: app1.pid and app1.log, ..."""
    instances = []
    for pid_file in sorted(run.glob("app*.pid")):
        pid = int(pid_file.read_text().split()[0])
        if not Path(f"/proc/{pid}").exists():
            raise SystemExit(f"{pid_file} names pid {pid}, which is not running: bash deploy/up.sh")
        instances.append(Instance(pid, pid_file.with_suffix(".log")))
    return instances


def drive_deployment(
    parser: argparse.ArgumentParser, run: Path, levels: list[int], duration: float | None, rounds: int | None
) -> list[Row]:
    """Drive a running deploy/up.sh deployment through its nginx (its URL, password and
    instances all read from its run directory)."""
    settings = run / "deploy.env"
    if not settings.exists() or not (run / "password").exists():
        parser.error(f"{run} is not a deploy/up.sh run directory (no deploy.env or password)")
    port = next(line.split("=", 1)[1] for line in settings.read_text().splitlines() if line.startswith("HTTPS_PORT="))
    instances = deployment_instances(run)
    url = f"https://127.0.0.1:{port}"
    print(f"driving {url}: instances {[i.pid for i in instances]}", file=sys.stderr)
    print_header()
    users = [DEPLOY_USER_PREFIX + user for user in USERS]
    return asyncio.run(
        run_levels(url, instances, levels, duration, rounds, users, (run / "password").read_text().strip())
    )


if __name__ == "__main__":
    sys.exit(main())
