from exports.access import is_admin, sees_everything
from exports.notices import EndNotices


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_is_auditor": sees_everything(user),
        "nav_is_staff": user.is_staff or is_admin(user),
        # Rule ids, raw requests, account ids, the AWS CLI: shown to admins and auditors; business users
        # find them under a "Technical details" disclosure.
        "technical": sees_everything(user),
        # Lazy: only a page that shows the navigation runs its one query.
        "end_notices": EndNotices(user),
    }
