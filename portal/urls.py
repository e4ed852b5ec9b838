from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from exports.api.routes import api
from portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("exports.urls")),
]

if settings.QUICKSIGHT_LOCAL_MOUNTED:
    urlpatterns.insert(0, path("quicksight-local/", include("quicksight_local.urls")))
