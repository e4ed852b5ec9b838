"""The user's own settings: the time zone every page shows times in."""

from __future__ import annotations

from urllib.parse import unquote

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from exports import services, timezones
from portal.middleware import TIME_ZONE_COOKIE, TIME_ZONE_SESSION_KEY


class TimeZoneForm(forms.Form):
    time_zone = forms.CharField(label="Time zone", required=False, max_length=64)

    def clean_time_zone(self) -> str:
        name = self.cleaned_data["time_zone"]
        if name and (problem := timezones.zone_problem(name)):
            raise forms.ValidationError(problem)
        return name


@login_required
@require_http_methods(["GET", "POST"])
def time_zone(request):
    form = TimeZoneForm(
        request.POST if request.method == "POST" else None, initial={"time_zone": timezones.chosen_zone(request.user)}
    )
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["time_zone"]
        services.preference_set_time_zone(user=request.user, time_zone=chosen)
        request.session[TIME_ZONE_SESSION_KEY] = chosen
        messages.success(request, f"Times are now shown in {chosen or 'your browser’s time zone'}.")
        return redirect("exports:time_zone")
    browser_zone = unquote(request.COOKIES.get(TIME_ZONE_COOKIE, ""))
    context = {
        "form": form,
        "zones": sorted(timezones.zone_names()),
        "browser_zone": browser_zone if timezones.is_zone(browser_zone) else "",
        "now": timezone.now(),
    }
    return render(request, "exports/time_zone.html", context, status=400 if form.errors else 200)
