"""Demo users, groups and RLS mappings for local use. Idempotent; refuses to run in production."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from exports.models import RlsTagMapping

ANALYSTS = "Analysts"
AUDITORS = "Auditors"
# username: (password, groups, global RLS tags, superuser). Development passwords only.
DEMO_USERS = {
    "alice": ("alice-demo-pw", [ANALYSTS], {"region": "EMEA"}, False),
    "bob": ("bob-demo-pw", [ANALYSTS], {"region": "AMER"}, False),
    "carol": ("carol-demo-pw", [], {}, False),
    "audra": ("audra-demo-pw", [AUDITORS], {}, False),
    "admin": ("admin-demo-pw", [], {}, True),
}


class Command(BaseCommand):
    help = "Create the demo users, groups and RLS tag mappings (development only)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off.")

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo creates users with known passwords: it runs only with DEBUG on, or --force.")
        with transaction.atomic():
            seed_users()
        self.stdout.write(self.style.SUCCESS(f"Demo users ready: {', '.join(DEMO_USERS)}"))


def seed_users() -> None:
    User = get_user_model()
    analysts, _ = Group.objects.get_or_create(name=ANALYSTS)
    auditors, _ = Group.objects.get_or_create(name=AUDITORS)
    auditors.permissions.add(Permission.objects.get(codename="view_history", content_type__app_label="exports"))
    groups = {ANALYSTS: analysts, AUDITORS: auditors}
    for username, (password, group_names, tags, superuser) in DEMO_USERS.items():
        user, created = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.com", "is_staff": superuser}
        )
        if created:
            user.set_password(password)
        user.is_superuser = user.is_staff = superuser
        user.save()
        user.groups.set([groups[name] for name in group_names])
        for key, value in tags.items():
            RlsTagMapping.objects.update_or_create(
                user=user, dashboard=None, tag_key=key, defaults={"tag_value": value}
            )
