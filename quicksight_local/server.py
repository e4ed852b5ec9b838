"""quicksight_local on its own port: the same views served at the root, threaded.

`manage.py run_quicksight_local` serves forever; serve_in_thread() serves for the length of a
`with` block (tests, and seed_demo syncing the demo catalog before the web server runs).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

from quicksight_local.jobs import ServiceState, get_state

URLCONF = "quicksight_local.urls"


class QuickSightHandler(WSGIHandler):
    """Django's WSGI handler without the portal's middleware, resolving only quicksight_local's routes.

    A service, not a site: no sessions, no CSRF, no https redirect and no host check (compose
    reaches it as `quicksight_local:8400`, a host name Django's validation would refuse).
    """

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(self._get_response)

    def get_response(self, request):
        request.urlconf = URLCONF
        return super().get_response(request)


class _Server(ThreadedWSGIServer):
    request_queue_size = 64


class _QuietRequestHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's signature
        pass


def make_server(host: str, port: int, *, quiet: bool = False) -> ThreadedWSGIServer:
    server = _Server((host, port), _QuietRequestHandler if quiet else WSGIRequestHandler, ipv6=":" in host)
    server.set_app(QuickSightHandler())
    return server


def base_url(server: ThreadedWSGIServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


@contextmanager
def serve_in_thread(host: str = "127.0.0.1", port: int = 0) -> Iterator[tuple[str, ServiceState]]:
    """Serve on (host, port) (0: a free port) in a daemon thread; yields (base_url, state)."""
    server = make_server(host, port, quiet=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield base_url(server), get_state()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
