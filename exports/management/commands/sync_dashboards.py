"""manage.py sync_dashboards [--account ID] [--region R] [--dashboard ID]: the catalog from QuickSight."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from exports.models import aws_account_id_validator, resource_id_validator
from exports.sync import sync_dashboards


class Command(BaseCommand):
    help = "Sync dashboards, sheets, visuals, parameters and RLS tag keys from QuickSight; prints a summary."

    def add_arguments(self, parser):
        parser.add_argument("--account", default=None, help="AWS account id (default QUICKSIGHT_LOCAL_ACCOUNT_ID).")
        parser.add_argument("--region", default=None, help="AWS region (default AWS_REGION).")
        parser.add_argument("--dashboard", default=None, help="Only this dashboard id.")

    def handle(self, *args, account=None, region=None, dashboard=None, **options):
        account = account or settings.QUICKSIGHT_LOCAL_ACCOUNT_ID
        region = region or settings.AWS_REGION
        for value, validator, option in (
            (account, aws_account_id_validator, "--account"),
            *([(dashboard, resource_id_validator, "--dashboard")] if dashboard else []),
        ):
            if not validator.regex.search(value):
                raise CommandError(f"{option}: {validator.message}")
        report = sync_dashboards(account_id=account, region=region, dashboard_id=dashboard)
        for line in report.lines():
            self.stdout.write(line)
        if report.listing_failed and report.dashboards[0].error_code == "EndpointConnectionError":
            self.stdout.write(
                "The embedded quicksight_local answers only while the portal runs (make run); "
                "seed_demo syncs the demo catalog without it."
                if settings.QUICKSIGHT_ENDPOINT_URL.rstrip("/").endswith("/quicksight-local")
                else f"Nothing answers at QUICKSIGHT_ENDPOINT_URL={settings.QUICKSIGHT_ENDPOINT_URL}."
            )
        if report.listing_failed:
            raise CommandError("QuickSight did not list the dashboards; see above.")
        if report.failed:
            raise CommandError(f"{len(report.failed)} dashboard(s) could not be synced; see above.")
        if report.with_problems:
            raise CommandError(
                f"{len(report.with_problems)} dashboard(s) synced with data sets whose RLS rules could not be read: "
                "their exports stay blocked until a sync reads them; see above."
            )
        self.stdout.write(self.style.SUCCESS("Sync complete."))
