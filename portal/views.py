from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone

from exports.models import WorkerHeartbeat


@login_required
def home(request):
    return redirect("exports:dashboards")


def health(request):
    """Liveness for load balancers and humans: the database answers, and when a worker was last seen."""
    beat = WorkerHeartbeat.objects.order_by("-seen_at").first()
    worker_ok = bool(beat and timezone.now() - beat.seen_at < timedelta(minutes=2))
    return render(request, "health.html", {"heartbeat": beat, "worker_ok": worker_ok})
