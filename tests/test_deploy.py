"""The shipped proxy config with one instance: scripts/start.sh's proxy switch, and
deploy/nginx.conf checked by `nginx -t` and in front of the served app in Chromium
(the CSP must not break the app; no patient code or download address in the access
log). tests/test_deployment.py runs it in the whole deployment of deploy/up.sh:
headers, the closed metrics endpoint, route-cookie affinity, failover."""

import os
import re
import shutil
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import missing

ROOT = Path(__file__).resolve().parent.parent
CONF = (ROOT / "deploy" / "nginx.conf").read_text()
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


# ---------------------------------------------------------------- start.sh


def run_start_sh(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """scripts/start.sh in a copy of the tree whose python3, pip and streamlit only
    print what they were asked to do: the arguments the app would be served with."""
    (tmp_path / "scripts").mkdir(exist_ok=True)
    shutil.copy(ROOT / "scripts" / "start.sh", tmp_path / "scripts" / "start.sh")
    if not (tmp_path / "requirements.txt").exists():
        (tmp_path / "requirements.txt").write_text("")
        (tmp_path / "pyproject.toml").write_text("")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake_python = bin_dir / "python3"
    fake_python.write_text(
        "#!/bin/sh\nmkdir -p .venv/bin\n"
        "printf '#!/bin/sh\\necho install >> pip.log\\n' > .venv/bin/pip\n"
        'printf \'#!/bin/sh\\nfor a in "$@"; do echo "$a"; done\\n\' > .venv/bin/streamlit\n'
        "chmod +x .venv/bin/pip .venv/bin/streamlit\n"
    )
    fake_python.chmod(0o755)
    return subprocess.run(
        ["bash", str(tmp_path / "scripts" / "start.sh"), "--server.port", "8502"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", **env},
    )


def test_behind_the_proxy_the_app_listens_on_loopback_only(tmp_path):
    args = run_start_sh(tmp_path, CASEBOARD_BEHIND_PROXY="1").stdout.split("\n")
    assert args[args.index("--server.address") + 1] == "127.0.0.1"
    assert args[args.index("--server.port") + 1] == "8502"  # the caller's own arguments still reach streamlit


def test_without_the_switch_the_address_is_streamlits_default(tmp_path):
    done = run_start_sh(tmp_path)
    assert done.returncode == 0 and "--server.address" not in done.stdout and "dashboard/ui/app.py" in done.stdout


def test_a_restart_skips_the_install_until_the_requirements_change(tmp_path):
    """Issue 16: start.sh reinstalled on every start, silently. It says each step, and
    installs again only when requirements.txt or pyproject.toml changed."""
    first = run_start_sh(tmp_path)
    assert "installing the pinned dependencies" in first.stdout
    second = run_start_sh(tmp_path)
    assert "dependencies up to date" in second.stdout and "starting on http://localhost:" in second.stdout
    assert (tmp_path / "pip.log").read_text().count("install") == 1
    (tmp_path / "requirements.txt").write_text("pandas==3.1.1\n")
    assert "installing the pinned dependencies" in run_start_sh(tmp_path).stdout
    assert (tmp_path / "pip.log").read_text().count("install") == 2


def test_a_mistyped_switch_is_refused(tmp_path):
    done = run_start_sh(tmp_path, CASEBOARD_BEHIND_PROXY="yes")
    assert done.returncode == 2 and "must be 1 or 0" in done.stderr and "dashboard/ui/app.py" not in done.stdout


# ---------------------------------------------------------------- nginx itself


def nginx_problem() -> str | None:
    if NGINX is None:
        return "nginx not installed (apt-get install nginx; scripts/test.sh installs it)"
    if shutil.which("openssl") is None:
        return "openssl not installed: no test certificate"
    return None


def nginx_config(tmp_path: Path, app_port: int = 8501, listen_port: int = 8443) -> Path:
    """The shipped file, changed only where a test machine must differ (address,
    upstream port, certificate, log directory), inside a minimal http block."""
    problem = nginx_problem()
    if problem:
        missing(problem)
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    replacements = {
        "listen 443 ssl;": f"listen 127.0.0.1:{listen_port} ssl;",
        "server 127.0.0.1:8501 ": f"server 127.0.0.1:{app_port} ",
        "    server 127.0.0.1:8502 max_fails=1 fail_timeout=10s;\n": "",  # one instance here
        "/etc/ssl/certs/caseboard.pem": str(cert),
        "/etc/ssl/private/caseboard.key": str(key),
        "/var/log/nginx/": f"{tmp_path}/",
    }
    conf = CONF
    for old, new in replacements.items():
        assert old in conf, old
        conf = conf.replace(old, new)
    (tmp_path / "caseboard.conf").write_text(conf)
    temp = " ".join(
        f"{kind}_temp_path {tmp_path}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = tmp_path / "nginx.conf"
    main.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        f"events {{ worker_connections 64; }}\nhttp {{ {temp}\n include {tmp_path}/caseboard.conf;\n}}\n"
    )
    return main


def nginx_args(tmp_path: Path, main: Path) -> list[str]:
    return [NGINX, "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(main)]


def test_nginx_accepts_the_shipped_config(tmp_path):
    main = nginx_config(tmp_path)
    done = subprocess.run([*nginx_args(tmp_path, main), "-t"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@contextmanager
def nginx_in_front_of(app_url: str, tmp_path: Path):
    from tests.browser import free_port

    port = free_port()
    main = nginx_config(tmp_path, int(app_url.rsplit(":", 1)[1]), port)
    proc = subprocess.Popen(
        [*nginx_args(tmp_path, main), "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        import ssl

        insecure = ssl.create_default_context()
        insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE
        for _ in range(100):
            try:
                if (
                    urllib.request.urlopen(
                        f"https://127.0.0.1:{port}/_stcore/health", timeout=2, context=insecure
                    ).read()
                    == b"ok"
                ):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"nginx did not start: {(tmp_path / 'error.log').read_text()}")
        yield f"https://127.0.0.1:{port}", tmp_path / "caseboard.access.log"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.browser
def test_the_app_works_behind_the_shipped_proxy_with_its_headers(browser, tmp_path):
    """Served through deploy/nginx.conf over TLS: the headers arrive, Chromium
    reports no Content-Security-Policy violation while a team lead logs in, reads
    the Caseload (charts, tables), downloads a CSV and opens a patient, and the
    access log holds neither the patient code nor the download's address."""
    from dashboard import demo
    from dashboard.engine import make_engine
    from tests.browser import log_in, served_app, wait_for_app

    url = f"sqlite:///{tmp_path}/demo.sqlite"
    demo.generate(make_engine(url))
    with (
        served_app({"DASHBOARD_DB_URL": url, "DASHBOARD_MODE": "demo"}) as app_url,
        nginx_in_front_of(app_url, tmp_path) as (proxy_url, access_log),
    ):
        context = browser.new_context(
            viewport={"width": 1400, "height": 900}, ignore_https_errors=True, accept_downloads=True
        )
        page = context.new_page()
        refused: list[str] = []
        page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
        response = page.goto(proxy_url)
        headers = response.headers
        assert "img-src 'self' data:" in headers["content-security-policy"]
        assert headers["strict-transport-security"].startswith("max-age=")
        assert headers["referrer-policy"] == "same-origin"
        wait_for_app(page)
        log_in(page, "lead1", "caseboard-demo")
        page.get_by_role("heading", name="Caseload").wait_for(timeout=60_000)
        page.locator("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg").first.wait_for(
            timeout=30_000
        )
        with page.expect_download() as download:
            page.get_by_role("button", name="Workload CSV").click()
        assert download.value.path().read_text().startswith("Therapist,Active patients,")
        page.reload()  # the login cookie, written from the component frame, logs the reload in
        wait_for_app(page)
        page.get_by_role("heading", name="Caseload").wait_for(timeout=60_000)
        with make_engine(url).connect() as conn:
            from sqlalchemy import select

            from dashboard.schema import clinicians, patients

            code = conn.scalar(
                select(patients.c.code)
                .join(clinicians, clinicians.c.team_id == patients.c.team_id)
                .where(clinicians.c.username == "lead1")
                .limit(1)
            )
        page.goto(f"{proxy_url}/patient?patient={code}")
        wait_for_app(page)
        page.get_by_role("heading", name=code).first.wait_for(timeout=60_000)
        page.locator("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg").first.wait_for(
            timeout=30_000
        )
        context.close()
        assert refused == []  # the page icon too is served by the app itself (dashboard/static)
    log = access_log.read_text()
    assert '"GET /media/" 200' in log  # the download was fetched through the proxy...
    assert not re.search(r"/media/[0-9a-f]", log)  # ...and its address is not in the log
    assert "/patient" in log and code not in log
