"""The image's build and start steps replayed outside Docker, with production settings.

The command lines are read from the Dockerfile (collectstatic) and docker-compose.yml (migrate,
web) and run as they stand, so what this test proves is what the image does.
"""

from __future__ import annotations

import http.client
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from portal.env import parse_database_url
from tests.services import ROOT, free_port, port_open

HOST = "exports.example.com"
ONE_YEAR = 365 * 24 * 3600


def dockerfile_run(word: str) -> tuple[dict[str, str], list[str]]:
    """The Dockerfile's RUN line that mentions `word`: its leading VAR=value words, then its argv."""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("RUN ") and word in line:
            words = shlex.split(line.removeprefix("RUN "))
            assert not {"&&", "||", ";", "|"} & set(words), f"one plain command per RUN line, please: {line}"
            env = {}
            while "=" in words[0]:
                name, _, value = words.pop(0).partition("=")
                env[name] = value
            return env, words
    raise AssertionError(f"no RUN line with {word!r} in the Dockerfile")


def compose_command(service: str) -> list[str]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"][service]["command"]


@pytest.fixture
def database_url() -> Iterator[str | None]:
    """A fresh, empty PostgreSQL database when DATABASE_URL is set (dropped afterwards); else None,
    and the portal's SQLite default under the replay's VAR_DIR."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        yield None
        return
    import psycopg

    entry = parse_database_url("DATABASE_URL", url)
    name = f"test_{entry['NAME']}_replay"
    server = {"host": entry["HOST"] or "127.0.0.1", "port": entry["PORT"] or 5432, "user": entry["USER"]}
    if entry["PASSWORD"]:
        server["password"] = entry["PASSWORD"]

    def admin(sql: str) -> None:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as conn:
            conn.execute(sql)

    admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{name}"')
    try:
        yield urlsplit(url)._replace(path=f"/{name}", query="").geturl()
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def image_env(tmp_path: Path) -> dict[str, str]:
    """A clean environment, as the image has while it is built (directories moved under tmp_path)."""
    return {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "VAR_DIR": str(tmp_path / "data"),
        "STATIC_ROOT": str(tmp_path / "staticfiles"),
    }


def production_env(tmp_path: Path, database_url: str | None, port: int) -> dict[str, str]:
    """What an operator's .env adds at run time: production settings behind a TLS proxy."""
    env = image_env(tmp_path) | {
        "DEBUG": "false",
        "SECRET_KEY": "replay-Zq8#vN2!kL5$wR9@tY3&uI7^oP1*aS4(dF6)gH0-jK2+lX5=cB8nM3",
        "AUDIT_CHAIN_KEY": "replay-audit-key-Hq4#Tz8!Wm2$Lr6@Yb9&Kc3^Np7*",
        "ALLOWED_HOSTS": HOST,
        "PORTAL_BASE_URL": f"https://{HOST}",
        "BEHIND_TLS_PROXY": "true",
        "QUICKSIGHT_ENDPOINT_URL": "aws",
        "AWS_REGION": "eu-west-1",
        "PORT": str(port),
    }
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def get(port: int, path: str, *, via_tls_proxy: bool = True) -> tuple[int, dict[str, str], str]:
    headers = {"Host": HOST} | ({"X-Forwarded-Proto": "https"} if via_tls_proxy else {})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
    finally:
        conn.close()


def run(argv: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{shlex.join(argv)}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"


@pytest.mark.slow
def test_the_image_as_built_and_started_serves_pages_and_hashed_static_files(tmp_path, database_url):
    port = free_port()
    env = production_env(tmp_path, database_url, port)

    build_env, collectstatic = dockerfile_run("collectstatic")
    run(collectstatic, image_env(tmp_path) | build_env)  # the build knows nothing of the run's settings
    run(compose_command("migrate"), env)

    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "w") as log:
        web = subprocess.Popen(
            compose_command("web"), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 90
        while not port_open("127.0.0.1", port):
            assert web.poll() is None and time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.2)

        status, _, body = get(port, "/health/")
        assert status == 200, log_path.read_text()[-3000:]
        assert "Database: answering" in body

        status, _, body = get(port, "/accounts/login/")
        assert status == 200, log_path.read_text()[-3000:]
        stylesheet = re.search(r'href="(/static/portal/site\.[0-9a-f]{12}\.css)"', body)
        assert stylesheet, "the login page does not link the hashed stylesheet"

        status, headers, body = get(port, stylesheet[1])
        assert status == 200 and "body" in body
        cache_control = headers.get("cache-control", "")
        assert "immutable" in cache_control, cache_control
        assert int(re.search(r"max-age=(\d+)", cache_control)[1]) >= ONE_YEAR, cache_control

        # Without the proxy's word that the request came over TLS, the portal sends users to https.
        status, headers, _ = get(port, "/health/", via_tls_proxy=False)
        assert (status, headers.get("location")) == (301, f"https://{HOST}/health/")
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        try:
            web.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(web.pid, signal.SIGKILL)
            web.wait()
