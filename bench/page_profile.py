"""Where one list page's time goes, in-process: the WSGI handler called directly, production settings.

    .venv/bin/python -m bench.list_pages --keep        # once: seeds and keeps the bench_lists database
    .venv/bin/python -m bench.page_profile /exports/ alice [--requests 300] [--queries | --profile]

Signs the user in with a session made here (no login form), calls the page `--requests` times after
10 to warm up, and prints the wall time's median and lower quartile, then the CPU per request of this
process (Python) and of its PostgreSQL backend. `--queries` lists each query with its time instead;
`--profile` prints cProfile's top functions by cumulative time. Not part of `make bench`: a tool to
find what to change, whose figures are this process's alone (no gunicorn, no HTTP).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import tempfile
import time
from pathlib import Path

from bench import list_pages


def _setup() -> None:
    tmp = tempfile.mkdtemp(prefix="page-profile-")
    os.environ.update(list_pages._server_env(list_pages._server_url(), tmp))
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("collectstatic", "--noinput", verbosity=0)


def _session_for(username: str) -> str:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    user = get_user_model().objects.get(username=username)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "exports.backends.PortalBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def _caller(url: str, session_key: str):
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()
    path, _, query = url.partition("?")

    def call() -> None:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_COOKIE": f"sessionid={session_key}",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
        }
        status = []
        response = handler(environ, lambda line, headers, exc_info=None: status.append(line))
        b"".join(response)
        response.close()
        if not status[0].startswith(("200", "302")):
            raise RuntimeError(f"{url}: {status[0]}")

    return call


def _backend_cpu_seconds() -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _queries(call) -> None:
    from django.db import connection

    timed: list[tuple[float, str]] = []

    def wrapper(execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timed.append(((time.perf_counter() - began) * 1000, sql))

    with connection.execute_wrapper(wrapper):
        call()
    for ms, sql in timed:
        print(f"{ms:6.2f} ms  {sql[:160]}")
    print(f"{sum(ms for ms, _ in timed):6.2f} ms in {len(timed)} queries")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url", help="a path and query, e.g. /exports/?status=FAILED")
    parser.add_argument("username", help="alice (business user), audra (auditor) or admin")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--queries", action="store_true", help="list one request's queries with their times")
    parser.add_argument("--profile", action="store_true", help="cProfile's top 40 by cumulative time")
    args = parser.parse_args()
    _setup()
    call = _caller(args.url, _session_for(args.username))
    for _ in range(10):
        call()
    if args.queries:
        return _queries(call)
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(lambda: [call() for _ in range(args.requests)])
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        return None
    walls, cpu, backend = [], time.process_time(), _backend_cpu_seconds()
    for _ in range(args.requests):
        began = time.perf_counter()
        call()
        walls.append((time.perf_counter() - began) * 1000)
    python_ms = (time.process_time() - cpu) * 1000 / args.requests
    postgres_ms = (_backend_cpu_seconds() - backend) * 1000 / args.requests
    quartile = statistics.quantiles(walls, n=4)[0]
    median = statistics.median(walls)
    print(f"{args.url} as {args.username}, {args.requests} requests: wall median {median:.2f} ms,")
    print(f"  lower quartile {quartile:.2f} ms; CPU a request: Python {python_ms:.2f}, PostgreSQL {postgres_ms:.2f} ms")
    return None


if __name__ == "__main__":
    main()
