"""API tokens: a user creates (the secret shown once), names and revokes their own."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from exports import tokens
from exports.models import ApiToken
from exports.views.http import client_address


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. nightly-report script.")
    scopes = forms.MultipleChoiceField(
        choices=[(s, s) for s in ApiToken.SCOPES], widget=forms.CheckboxSelectMultiple, initial=["exports:read"]
    )
    expires_days = forms.IntegerField(
        label="Expires after (days)", initial=tokens.DEFAULT_EXPIRY_DAYS, min_value=1, max_value=tokens.MAX_EXPIRY_DAYS
    )


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request):
    form, created, status = TokenForm(request.POST or None), None, 200
    if request.method == "POST":
        if form.is_valid():
            try:
                created = tokens.token_create(
                    user=request.user, ip_address=client_address(request), **form.cleaned_data
                )
                form = TokenForm()
            except tokens.TokenInvalid as invalid:
                for problem in invalid.problems:
                    form.add_error(problem.field if problem.field in form.fields else None, problem.message)
        if created is None:
            status = 400
    mine = list(ApiToken.objects.filter(user=request.user).order_by("-created_at"))
    now = timezone.now()
    for token in mine:
        token.state = "Revoked" if token.revoked_at else "Expired" if token.expires_at <= now else "Active"
    context = {"form": form, "tokens": mine, "created": created and created[0], "secret": created and created[1]}
    response = render(request, "exports/token_list.html", context, status=status)
    if created:
        response["Cache-Control"] = "no-store"  # the one page that shows the secret
    return response


@login_required
@require_POST
def token_revoke(request, token_id: int):
    token = get_object_or_404(ApiToken.objects.filter(user=request.user).select_related("user"), pk=token_id)
    if tokens.token_revoke(token=token, actor=request.user, ip_address=client_address(request)):
        messages.success(request, f"Token {token.name} revoked: requests with it now get 401.")
    return redirect("exports:tokens")
