"""Build (and with --submit, create) an export from a JSON spec: the way scripts and cron run exports."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from exports.services import export_create
from exports.snapshot import SnapshotRequestInvalid, build_request, load_spec, parse_spec, request_to_json
from exports.validators import text_fault

EXIT_INVALID = 2


class Command(BaseCommand):
    help = (
        "Print the exact StartDashboardSnapshotJob kwargs for a SPEC as JSON (exit 0), or every broken rule, "
        "one a line (exit 2). Creates nothing unless --submit. SPEC: a JSON file, or - for stdin."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="Username the export is built for (grants, RLS tags).")
        parser.add_argument("spec", help="Path to a JSON spec, or - to read it from stdin.")
        parser.add_argument("--submit", action="store_true", help="Create the export and print its id.")

    def handle(self, *args, user: str, spec: str, submit: bool = False, **options):
        account = user_or_exit(user)
        data = spec_or_exit(spec, self.stdout)
        try:
            if submit:
                export = export_create(user=account, spec=data)
                self.stdout.write(str(export.id))
                return
            built = build_request(parse_spec(data), user=account, export_id=uuid.uuid4())
            if not built.ok:
                raise SnapshotRequestInvalid(built.problems)
        except SnapshotRequestInvalid as invalid:
            for problem in invalid.problems:
                self.stdout.write(str(problem))
            sys.exit(EXIT_INVALID)
        self.stdout.write(json.dumps(request_to_json(built.kwargs), indent=2, ensure_ascii=False))


def user_or_exit(username: str):
    """The --user of a command, or exit 2 naming what is wrong with it."""
    fault = text_fault(username)
    if fault:
        raise CommandError(f"--user: the username {fault[1]} [{fault[0]}]", returncode=EXIT_INVALID)
    try:
        return get_user_model().objects.get(username=username)
    except get_user_model().DoesNotExist:
        raise CommandError(f"--user: no user {username!r}", returncode=EXIT_INVALID) from None


def spec_or_exit(spec: str, stdout) -> Any:
    """A SPEC argument (a file, or - for stdin) as JSON data, or its problems one a line and exit 2."""
    try:
        return load_spec(_read(spec))
    except SnapshotRequestInvalid as invalid:
        for problem in invalid.problems:
            stdout.write(str(problem))
        sys.exit(EXIT_INVALID)


def _read(spec: str) -> bytes | str:
    """The spec's bytes (decoded by load_spec, so that bad UTF-8 is a spec problem, not a traceback)."""
    if spec == "-":
        stdin = getattr(sys.stdin, "buffer", sys.stdin)
        return stdin.read()
    try:
        return Path(spec).read_bytes()
    except OSError as exc:
        raise CommandError(f"SPEC: cannot read {spec}: {exc.strerror}") from None
