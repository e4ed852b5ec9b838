"""Who gets what: every URL of the URLconf x persona x method, against one table of expected statuses.

The routes come from get_resolver(), so a new URL without a row fails with its route named. URL
arguments are filled with objects that alice owns (her export, her RLS mapping) or that are shared
with her (the sales dashboard), so the table says what bob, carol, an auditor and an admin get
for someone else's things. quicksight_local's mounted routes answer by SigV4 signature, never by
session, so every persona gets the same there. Django's admin is listed route by route too, its
per-model routes generated from one line per model.
"""

from __future__ import annotations

import re
from types import ModuleType

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, path

from exports import audit, recurrence, schedules, tokens
from exports.models import AuditEvent, Export, Grant, RlsTagMapping, S3Destination, ScheduleRun, Sheet
from tests.factories import make_sales_catalog
from tests.history_factory import make_export

AXES_MODELS = (AccessAttempt, AccessLog, AccessFailureLog)
PERSONAS = ("anonymous", "alice", "bob", "carol", "auditor", "admin")
METHODS = ("GET", "POST")

# Statuses in the order of PERSONAS. 302 from a signed-out visitor is the login redirect; 404 is
# "not yours" (the portal never says 403 for someone else's object); 403 is a page the persona's
# role does not open (the history for non-auditors, read-only models in the admin).
ANON = 302  # to the login page


def staff(get: int, post: int) -> dict[str, tuple[int, ...]]:
    """An admin page: everyone but the superuser is sent to the admin's login (302)."""
    return {"GET": (302,) * 5 + (get,), "POST": (302,) * 5 + (post,)}


def anyone(get: int, post: int) -> dict[str, tuple[int, ...]]:
    """The same answer whoever asks (quicksight_local checks a SigV4 signature, never a session)."""
    return {"GET": (get,) * 6, "POST": (post,) * 6}


# fmt: off
MATRIX: dict[str, dict[str, tuple[int, ...]]] = {
    # site shell                           anonymous alice bob carol auditor admin
    "":                                    {"GET": (302, 302, 302, 302, 302, 302), "POST": (302, 302, 302, 302, 302, 302)},  # noqa: E501
    "health/":                             anyone(200, 200),
    "accounts/login/":                     {"GET": (200, 302, 302, 302, 302, 302), "POST": (200, 302, 302, 302, 302, 302)},  # noqa: E501
    "accounts/logout/":                    anyone(405, 302),
    # catalog: sales is shared with alice and bob (Analysts)
    "dashboards/":                         {"GET": (ANON, 200, 200, 200, 200, 200), "POST": (ANON, 405, 405, 405, 405, 405)},  # noqa: E501
    "dashboards/<str:dashboard_id>/":      {"GET": (ANON, 200, 200, 404, 404, 404), "POST": (ANON, 405, 405, 405, 405, 405)},  # noqa: E501
    # the export form, asked for the sales dashboard
    "exports/new/":                        {"GET": (ANON, 200, 200, 404, 404, 404), "POST": (ANON, 200, 200, 404, 404, 404)},  # noqa: E501
    "exports/new/files/":                  {"GET": (ANON, 405, 405, 405, 405, 405), "POST": (ANON, 200, 200, 404, 404, 404)},  # noqa: E501
    "exports/new/files/<int:index>/":      {"GET": (ANON, 405, 405, 405, 405, 405), "POST": (ANON, 404, 404, 404, 404, 404)},  # noqa: E501
    "exports/new/parameters/<int:index>/": {"GET": (ANON, 405, 405, 405, 405, 405), "POST": (ANON, 200, 200, 404, 404, 404)},  # noqa: E501
    "exports/new/destination/":            {"GET": (ANON, 405, 405, 405, 405, 405), "POST": (ANON, 200, 200, 404, 404, 404)},  # noqa: E501
    # alice's finished export and its file (286: htmx's "stop polling", the export has ended)
    "exports/":                            {"GET": (ANON, 200, 200, 200, 200, 200), "POST": (ANON, 405, 405, 405, 405, 405)},  # noqa: E501
    "exports/<uuid:export_id>/":           {"GET": (ANON, 200, 404, 404, 200, 200), "POST": (ANON, 405, 405, 405, 405, 405)},  # noqa: E501
    "exports/<uuid:export_id>/row/":       {"GET": (ANON, 286, 404, 404, 286, 286), "POST": (ANON, 405, 405, 405, 405, 405)},  # noqa: E501
    "exports/<uuid:export_id>/cancel/":    {"GET": (ANON, 405, 405, 405, 405, 405), "POST": (ANON, 302, 404, 404, 404, 302)},  # noqa: E501
    "exports/<uuid:export_id>/files/download-all":
                                           {"GET": (ANON, 200, 404, 404, 404, 200), "POST": (ANON, 405, 405, 405, 405, 405)},  # noqa: E501
    # only the requester retries; this export has no failed file, so alice is sent back to it with why
    "exports/<uuid:export_id>/retry-failed/":
                                           {"GET": (ANON, 405, 405, 405, 405, 405), "POST": (ANON, 302, 404, 404, 404, 404)},  # noqa: E501
    "exports/<uuid:export_id>/files/<int:index>/download":
                                           {"GET": (ANON, 302, 404, 404, 404, 302), "POST": (ANON, 405, 405, 405, 405, 405)},  # noqa: E501
    "exports/<uuid:export_id>/files/<int:index>/parts/<int:part>/download":
                                           {"GET": (ANON, 302, 404, 404, 404, 302), "POST": (ANON, 405, 405, 405, 405, 405)},  # noqa: E501
    # alice's weekly schedule, bob its recipient (he may opt out and in; only alice manages it)
    "schedules/":                           {"GET": (ANON, 200, 200, 200, 200, 200), "POST": (ANON, 405, 405, 405, 405, 405)},  # noqa: E501
    "schedules/new/":                       {"GET": (ANON, 404, 404, 404, 404, 404), "POST": (ANON, 404, 404, 404, 404, 404)},  # no spec given  # noqa: E501
    "schedules/new/preview/":               {"GET": (ANON, 405, 405, 405, 405, 405), "POST": (ANON, 400, 400, 400, 400, 400)},  # no spec given  # noqa: E501
    "schedules/<int:schedule_id>/":         {"GET": (ANON, 200, 404, 404, 404, 404), "POST": (ANON, 405, 405, 405, 405, 405)},  # noqa: E501
    "schedules/<int:schedule_id>/edit/":    {"GET": (ANON, 200, 404, 404, 404, 404), "POST": (ANON, 200, 404, 404, 404, 404)},  # noqa: E501
    "schedules/<int:schedule_id>/edit/preview/": {"GET": (ANON, 405, 405, 405, 405, 405), "POST": (ANON, 400, 404, 404, 404, 404)},  # noqa: E501
    "schedules/<int:schedule_id>/pause/":   {"GET": (ANON, 405, 405, 405, 405, 405), "POST": (ANON, 302, 404, 404, 404, 404)},  # noqa: E501
    "schedules/<int:schedule_id>/resume/":  {"GET": (ANON, 405, 405, 405, 405, 405), "POST": (ANON, 302, 404, 404, 404, 404)},  # noqa: E501
    "schedules/<int:schedule_id>/run/":     {"GET": (ANON, 405, 405, 405, 405, 405), "POST": (ANON, 302, 404, 404, 404, 404)},  # noqa: E501
    "schedules/<int:schedule_id>/delete/":  {"GET": (ANON, 200, 404, 404, 404, 404), "POST": (ANON, 302, 404, 404, 404, 404)},  # noqa: E501
    "schedules/<int:schedule_id>/opt-out/": {"GET": (ANON, 405, 405, 405, 405, 405), "POST": (ANON, 404, 302, 404, 404, 404)},  # noqa: E501
    "schedules/<int:schedule_id>/opt-in/":  {"GET": (ANON, 405, 405, 405, 405, 405), "POST": (ANON, 404, 302, 404, 404, 404)},  # noqa: E501
    # each person's own time zone (an empty choice follows the browser)
    "account/time-zone/":                  {"GET": (ANON, 200, 200, 200, 200, 200), "POST": (ANON, 302, 302, 302, 302, 302)},  # noqa: E501
    # API tokens: each person's own (alice's token here; admins revoke others' in the admin)
    "tokens/":                             {"GET": (ANON, 200, 200, 200, 200, 200), "POST": (ANON, 400, 400, 400, 400, 400)},  # no name given  # noqa: E501
    "tokens/<int:token_id>/revoke/":       {"GET": (ANON, 405, 405, 405, 405, 405), "POST": (ANON, 302, 404, 404, 404, 404)},  # noqa: E501
    # the JSON API: only a bearer token authenticates, so a session alone gets 401 (no CSRF exposure);
    # the document and its docs page are public; a method a route does not serve is 405 first
    "api/v1/":                             anyone(404, 404),
    "api/v1/openapi.json":                 anyone(200, 405),
    "api/v1/docs":                         anyone(200, 405),
    "api/v1/dashboards":                   anyone(401, 405),
    "api/v1/exports/validate":             anyone(405, 401),
    "api/v1/exports":                      anyone(401, 401),
    "api/v1/exports/<uuidstr:export_id>":  anyone(401, 405),
    "api/v1/exports/<uuidstr:export_id>/cancel": anyone(405, 401),
    "api/v1/exports/<uuidstr:export_id>/files/<int:index>/download": anyone(401, 405),
    "api/v1/schedules":                    anyone(401, 401),
    "api/v1/schedules/<int:schedule_id>":  anyone(401, 405),
    "api/v1/schedules/<int:schedule_id>/pause": anyone(405, 401),
    "api/v1/schedules/<int:schedule_id>/resume": anyone(405, 401),
    "api/v1/schedules/<int:schedule_id>/runs": anyone(401, 405),
    # the auditor's history
    "audit/":                              {"GET": (ANON, 403, 403, 403, 200, 200), "POST": (ANON, 405, 405, 405, 405, 405)},  # noqa: E501
    "audit/history.csv":                   {"GET": (ANON, 403, 403, 403, 200, 200), "POST": (ANON, 405, 405, 405, 405, 405)},  # noqa: E501
    "audit/history.jsonl":                 {"GET": (ANON, 403, 403, 403, 200, 200), "POST": (ANON, 405, 405, 405, 405, 405)},  # noqa: E501
    "audit/chain/":                        {"GET": (ANON, 403, 403, 403, 200, 200), "POST": (ANON, 405, 405, 405, 405, 405)},  # noqa: E501
    "audit/events/":                       {"GET": (ANON, 403, 403, 403, 200, 200), "POST": (ANON, 405, 405, 405, 405, 405)},  # noqa: E501
    # quicksight_local, mounted: no signature is 403 MissingAuthenticationToken; a method the
    # route does not serve is AWS's UnknownOperationException (404)
    "quicksight-local/accounts/<str:account_id>/dashboards":                                               anyone(403, 404),  # noqa: E501
    "quicksight-local/accounts/<str:account_id>/dashboards/<str:dashboard_id>":                            anyone(403, 404),  # noqa: E501
    "quicksight-local/accounts/<str:account_id>/dashboards/<str:dashboard_id>/definition":                 anyone(403, 404),  # noqa: E501
    "quicksight-local/accounts/<str:account_id>/data-sets/<str:dataset_id>":                               anyone(403, 404),  # noqa: E501
    "quicksight-local/accounts/<str:account_id>/dashboards/<str:dashboard_id>/snapshot-jobs":              anyone(404, 403),  # noqa: E501
    "quicksight-local/accounts/<str:account_id>/dashboards/<str:dashboard_id>/snapshot-jobs/<str:job_id>": anyone(403, 404),  # noqa: E501
    "quicksight-local/accounts/<str:account_id>/dashboards/<str:dashboard_id>/snapshot-jobs/<str:job_id>/result": anyone(403, 404),  # noqa: E501
    "quicksight-local/files/<str:job_key>/<str:filename>":                                                 anyone(403, 403),  # noqa: E501
    "quicksight-local/health":                                                                             anyone(200, 200),  # noqa: E501
    "quicksight-local/^.*$":                                                                               anyone(404, 404),  # noqa: E501
    # Django's admin, for the superuser (auditors are not staff); 403: read-only models, whose
    # rows only the sync or the job lifecycle write
    "admin/":                                            staff(200, 200),
    "admin/login/":                                      {"GET": (200, 200, 200, 200, 200, 302), "POST": (200,) * 6},
    "admin/logout/":                                     staff(405, 302),
    "admin/password_change/":                            staff(200, 200),
    "admin/password_change/done/":                       staff(200, 405),
    "admin/autocomplete/":                               staff(403, 405),  # no app_label/model_name asked
    "admin/jsi18n/":                                     staff(200, 405),
    "admin/r/<path:content_type_id>/<path:object_id>/":  staff(404, 404),  # exports have no public page
    "admin/^(?P<app_label>auth|axes|exports)/$":         staff(200, 200),
    "admin/(?P<url>.*)$":                                staff(404, 404),
    "admin/auth/user/<id>/password/":                    staff(200, 200),
}
for _model, (_add, _delete, _change_post) in {
    "auth/group": (200, 200, 200),
    "auth/user": (200, 200, 200),
    "exports/export": (403, 403, 403),
    "exports/auditevent": (403, 403, 403),
    "exports/dashboard": (403, 403, 403),  # synced from QuickSight: viewed, never added or edited
    "exports/sheet": (403, 403, 403),
    "exports/grant": (200, 200, 200),
    "exports/rlstagmapping": (200, 200, 200),
    "exports/s3destination": (200, 200, 200),
    "exports/schedule": (403, 200, 403),
    "exports/schedulerun": (403, 403, 403),
    "exports/apitoken": (403, 403, 403),  # revoked with an action, never edited or deleted
    # django-axes: an admin unlocks a user or an address by deleting its access attempts
    "axes/accessattempt": (403, 200, 302),
    "axes/accesslog": (403, 200, 302),
    "axes/accessfailurelog": (403, 200, 302),
}.items():
    MATRIX |= {
        f"admin/{_model}/": staff(200, 200),
        f"admin/{_model}/add/": staff(_add, _add),
        f"admin/{_model}/<path:object_id>/history/": staff(200, 200),
        f"admin/{_model}/<path:object_id>/delete/": staff(_delete, _delete),  # an empty POST only asks again
        f"admin/{_model}/<path:object_id>/change/": staff(200, _change_post),
        f"admin/{_model}/<path:object_id>/": staff(302, 302),  # the old address of the change page
    }
MATRIX["admin/exports/dashboard/rls-preview/"] = staff(200, 200)
MATRIX["admin/exports/dashboard/sync-now/"] = staff(200, 200)  # an empty POST only asks again
# fmt: on


def routes(patterns=None, prefix: str = "") -> list[str]:
    """Every route of the URLconf as one string (a resolver's prefix joined to each pattern)."""
    found = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            found += routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            found.append(prefix + str(pattern.pattern))
    return found


# Regular-expression routes, as one concrete path each.
REGEX_PATHS = {
    "quicksight-local/^.*$": "/quicksight-local/no-such-operation",
    "admin/^(?P<app_label>auth|axes|exports)/$": "/admin/exports/",
    "admin/(?P<url>.*)$": "/admin/no-such-page/",
}


def unlisted() -> tuple[list[str], list[str]]:
    """(routes without a row, rows without a route); quicksight_local's rows count only when it is mounted."""
    present = set(routes())
    missing = sorted(present - set(MATRIX))
    stale = sorted(
        r for r in set(MATRIX) - present if settings.QUICKSIGHT_LOCAL_MOUNTED or not r.startswith("quicksight-local/")
    )
    return missing, stale


def test_every_route_has_a_row_and_every_row_a_route():
    missing, stale = unlisted()
    assert not missing, f"routes without a row in MATRIX (add what each persona gets): {missing}"
    assert not stale, f"rows in MATRIX for routes that no longer exist: {stale}"


def test_a_new_url_without_a_row_is_named():
    import portal.urls

    extra = path("exports/<uuid:export_id>/share/", lambda request, export_id: HttpResponse())
    urlconf = ModuleType("urls_with_one_more")
    urlconf.urlpatterns = [*portal.urls.urlpatterns, extra]
    with override_settings(ROOT_URLCONF=urlconf):
        assert unlisted() == (["exports/<uuid:export_id>/share/"], [])


@pytest.fixture
def world(demo_users):
    """alice's things: the sales dashboard (shared with Analysts), her finished export with one file."""
    sales = make_sales_catalog()
    export = make_export(demo_users["alice"], sales.dashboard, uris=["s3://finance-exports/snapshots/a.pdf"])
    Export.objects.filter(pk=export.pk).update(status=Export.Status.COMPLETED)
    audit.record("export.requested", actor=demo_users["alice"], export=export, target=export)
    demo_users["auditor"] = demo_users["audra"]
    schedule = schedules.schedule_create(
        owner=demo_users["alice"],
        spec={"dashboard": "sales", "files": [{"format": "CSV", "visual": "order-lines"}]},
        rec=recurrence.parse_every("weekly mon 07:00 Europe/Paris", default_timezone="UTC"),
        recipient_users=[demo_users["bob"]],
    )
    # its own schedule for the delete route, so the routes after it still find alice's schedule
    doomed = schedules.schedule_create(
        owner=demo_users["alice"],
        spec={"dashboard": "sales", "files": [{"format": "CSV", "visual": "order-lines"}]},
        rec=recurrence.parse_every("daily 07:00 Europe/Paris", default_timezone="UTC"),
    )
    run = ScheduleRun.objects.create(
        schedule=schedule, scheduled_for=schedule.next_run_at, claimed_at=schedule.next_run_at
    )
    # mallory's failed sign-ins, as django-axes keeps them (an admin unlocks by deleting them)
    axes = {model: model.objects.create(username="mallory", ip_address="127.0.0.9") for model in AXES_MODELS[1:]}
    axes[AccessAttempt] = AccessAttempt.objects.create(
        username="mallory", ip_address="127.0.0.9", failures_since_start=5
    )
    return {
        "users": demo_users,
        "sales": sales,
        "export": export,
        "schedule": schedule,
        "run": run,
        "axes": axes,
        "doomed": doomed,
        "token": tokens.token_create(user=demo_users["alice"], name="script", scopes=["exports:read"])[0],
    }


def _objects(world) -> dict[str, object]:
    """The object each admin model's <object_id> names: alice's, or the one she uses."""
    alice = world["users"]["alice"]
    return {
        "auth/group": Group.objects.get(name="Analysts"),
        "auth/user": alice,
        "exports/export": world["export"],
        "exports/auditevent": AuditEvent.objects.first(),
        "exports/dashboard": world["sales"].dashboard,
        "exports/sheet": Sheet.objects.filter(dashboard=world["sales"].dashboard).first(),
        "exports/grant": Grant.objects.filter(dashboard=world["sales"].dashboard).first(),
        "exports/rlstagmapping": RlsTagMapping.objects.get(user=alice),
        "exports/s3destination": S3Destination.objects.get(name="Finance bucket"),
        "exports/schedule": world["schedule"],
        "axes/accessattempt": world["axes"][AccessAttempt],
        "axes/accesslog": world["axes"][AccessLog],
        "axes/accessfailurelog": world["axes"][AccessFailureLog],
        "exports/schedulerun": world["run"],
        "exports/apitoken": world["token"],
    }


def concrete(route: str, world) -> str:
    """The route with every argument filled in."""
    if route in REGEX_PATHS:
        return REGEX_PATHS[route]
    export = world["export"]
    model = re.match(r"admin/(auth|axes|exports)/(\w+)/", route)
    values = {
        "dashboard_id": "sales",
        "export_id": str(export.pk),
        "index": "0",
        "part": "0",
        "schedule_id": str(world["doomed" if route.endswith("/delete/") else "schedule"].pk),
        "account_id": "111122223333",
        "dataset_id": "orders",
        "job_id": export.snapshot_job_id,
        "job_key": "key",
        "filename": "a.pdf",
        "content_type_id": str(ContentType.objects.get_for_model(Export).pk),
        "id": str(world["users"]["alice"].pk),
        "token_id": str(world["token"].pk),
        "object_id": str(_objects(world)[f"{model[1]}/{model[2]}"].pk) if model else str(export.pk),
    }
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m[1]], route)


def _client(world, persona: str) -> Client:
    client = Client()
    if persona != "anonymous":
        client.force_login(world["users"][persona])
    return client


def answers(world) -> dict[str, dict[str, tuple[int, ...]]]:
    """What each persona gets for each route and method, in the shape of MATRIX."""
    clients = {persona: _client(world, persona) for persona in PERSONAS}
    got = {}
    for route in routes():
        path = concrete(route, world)
        # The form's endpoints need a dashboard; nothing else gets a body (an admin delete page
        # deletes on any non-empty POST).
        data = {"dashboard": "sales"} if route.startswith("exports/new/") else {}
        got[route] = {}
        for method in METHODS:
            statuses = []
            for persona in PERSONAS:
                client = _client(world, persona) if "logout" in route else clients[persona]
                statuses.append(getattr(client, method.lower())(path, data).status_code)
            got[route][method] = tuple(statuses)
    return got


def _named(statuses: tuple[int, ...]) -> dict[str, int]:
    return dict(zip(PERSONAS, statuses, strict=True))


@pytest.mark.slow
def test_each_persona_gets_what_the_matrix_says(world, settings):
    settings.AUDITORS_CAN_DOWNLOAD = False
    got = answers(world)
    wrong = [
        f"{method} {route}: got {_named(got[route][method])}, expected {_named(row[method])}"
        for route, row in MATRIX.items()
        if route in got
        for method in METHODS
        if got[route][method] != row[method]
    ]
    assert not wrong, "\n".join(wrong)
