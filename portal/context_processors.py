from exports.access import is_admin, sees_everything


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"nav_is_auditor": sees_everything(user), "nav_is_staff": user.is_staff or is_admin(user)}
