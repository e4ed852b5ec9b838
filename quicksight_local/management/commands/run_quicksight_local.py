"""Serve quicksight_local on its own port: boto3 with endpoint_url=http://HOST:PORT talks to it."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from quicksight_local.jobs import get_state
from quicksight_local.server import base_url, make_server


class Command(BaseCommand):
    help = "Run the QuickSight-compatible snapshot service (threaded) at the root of HOST:PORT."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8400)

    def handle(self, *args, host: str, port: int, **options):
        state = get_state()
        server = make_server(host, port)
        self.stdout.write(
            f"quicksight_local serving account {state.account_id} ({state.region}) at {base_url(server)}",
            ending="\n",
        )
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
            state.shutdown()
