"""Print a new API token for a user (the way scripts and CI get one); it is shown only here."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from exports import tokens
from exports.management.commands.build_snapshot_request import EXIT_INVALID, user_or_exit


class Command(BaseCommand):
    help = "Create a personal access token for --user and print it (once: only its hash is kept)."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="Username the token acts as.")
        parser.add_argument("--scopes", required=True, help="Comma-separated: exports:read, exports:write, schedules.")
        parser.add_argument(
            "--expires-days", type=int, default=tokens.DEFAULT_EXPIRY_DAYS, help="Days until it expires."
        )
        parser.add_argument("--name", default="command line", help="A name to recognise it by on the tokens page.")

    def handle(self, *args, user: str, scopes: str, expires_days: int, name: str, **options):
        owner = user_or_exit(user)
        try:
            token, secret = tokens.token_create(
                user=owner, name=name, scopes=tokens.parse_scopes(scopes), expires_days=expires_days
            )
        except tokens.TokenInvalid as invalid:
            raise CommandError("\n".join(str(p) for p in invalid.problems), returncode=EXIT_INVALID) from None
        self.stderr.write(
            f"token {token.pk} ({token.prefix}) for {owner.username}, expires {token.expires_at:%Y-%m-%d}"
        )
        self.stdout.write(secret)
