"""Demo users, groups, RLS mappings and catalog for local use. Idempotent; refuses to run in production.

Mappings and grants go through exports/services.py, so they are in the history like an admin's."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings

from exports.models import Dashboard, Grant
from exports.services import grant_create, rls_mapping_set
from exports.sync import SyncReport, sync_dashboards

ANALYSTS = "Analysts"
AUDITORS = "Auditors"
ACCOUNT_MANAGERS = "Account managers"
# username: (password, groups, global RLS tags, superuser). Development passwords only.
DEMO_USERS = {
    "alice": ("alice-demo-pw", [ANALYSTS], {"region": "EMEA"}, False),
    "bob": ("bob-demo-pw", [ANALYSTS], {"region": "AMER"}, False),
    # The account-plans data set needs region and customer_segment, or account_manager: dave meets the
    # first group; erin has region only, enough for its sales data set but for no group of the plans.
    "dave": ("dave-demo-pw", [ACCOUNT_MANAGERS], {"region": "APAC", "customer_segment": "Enterprise"}, False),
    "erin": ("erin-demo-pw", [ACCOUNT_MANAGERS], {"region": "AMER"}, False),
    "carol": ("carol-demo-pw", [], {}, False),
    "audra": ("audra-demo-pw", [AUDITORS], {}, False),
    "admin": ("admin-demo-pw", [], {}, True),
}


class Command(BaseCommand):
    help = "Create the demo users, groups and RLS tag mappings (development only)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off.")
        parser.add_argument("--no-catalog", action="store_true", help="Do not sync and grant the demo catalog.")

    def handle(self, *args, force: bool = False, no_catalog: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo creates users with known passwords: it runs only with DEBUG on, or --force.")
        with transaction.atomic():
            seed_users()
            seed_mappings()
        self.stdout.write(self.style.SUCCESS(f"Demo users ready: {', '.join(DEMO_USERS)}"))
        if no_catalog:
            return
        if not uses_embedded_quicksight():
            self.stdout.write(
                "QuickSight is not the embedded quicksight_local: run `manage.py sync_dashboards` and grant "
                "dashboards in the admin."
            )
            return
        report = seed_catalog()
        for line in report.lines():
            self.stdout.write(line)
        if not report.ok:
            raise CommandError("The demo catalog could not be synced; see above.")
        self.stdout.write(self.style.SUCCESS(f"Demo catalog ready and granted to {ANALYSTS} and {ACCOUNT_MANAGERS}."))


def seed_users() -> None:
    """The demo users and their groups (seed_mappings gives them their tags)."""
    User = get_user_model()
    analysts, _ = Group.objects.get_or_create(name=ANALYSTS)
    auditors, _ = Group.objects.get_or_create(name=AUDITORS)
    account_managers, _ = Group.objects.get_or_create(name=ACCOUNT_MANAGERS)
    auditors.permissions.add(Permission.objects.get(codename="view_history", content_type__app_label="exports"))
    groups = {ANALYSTS: analysts, AUDITORS: auditors, ACCOUNT_MANAGERS: account_managers}
    for username, (password, group_names, _tags, superuser) in DEMO_USERS.items():
        user, created = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.com", "is_staff": superuser}
        )
        if created:
            user.set_password(password)
        user.is_superuser = user.is_staff = superuser
        user.save()
        user.groups.set([groups[name] for name in group_names])


def seed_mappings() -> None:
    """The demo users' RLS tags (DEMO_USERS), on every dashboard."""
    User = get_user_model()
    for username, (_password, _groups, tags, _superuser) in DEMO_USERS.items():
        user = User.objects.get(username=username)
        for key, value in tags.items():
            rls_mapping_set(user=user, tag_key=key, tag_value=value)


def uses_embedded_quicksight() -> bool:
    """QUICKSIGHT_ENDPOINT_URL left at its default: quicksight_local mounted inside the portal."""
    return settings.QUICKSIGHT_ENDPOINT_URL.rstrip("/").endswith("/quicksight-local")


def seed_catalog() -> SyncReport:
    """Sync the demo catalog from quicksight_local; grant account-plans to Account managers, the rest to Analysts.

    The portal that mounts quicksight_local is usually not running yet (seed_demo runs first), so
    the same service answers on a free port in a background thread for the length of the sync.
    """
    from quicksight_local.server import serve_in_thread

    with serve_in_thread() as (url, _state), override_settings(QUICKSIGHT_ENDPOINT_URL=url):
        report = sync_dashboards(
            account_id=settings.QUICKSIGHT_LOCAL_ACCOUNT_ID, region=settings.QUICKSIGHT_LOCAL_REGION
        )
    synced = [d.dashboard_id for d in report.dashboards if d.ok]
    dashboards = Dashboard.objects.filter(
        aws_account_id=report.account_id, region=report.region, dashboard_id__in=synced
    )
    for dashboard in dashboards:
        name = ACCOUNT_MANAGERS if dashboard.dashboard_id == "account-plans" else ANALYSTS
        group = Group.objects.get(name=name)
        if not Grant.objects.filter(dashboard=dashboard, group=group).exists():
            grant_create(dashboard=dashboard, group=group)
    return report
