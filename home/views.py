"""The home page ("/"): who I am, my place in the tree, and the panels my roles open (home.panels)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from home.panels import home_for
from salesops.org.auth import request_user
from salesops.org.selectors import person_with_place


@login_required
def home(request: HttpRequest) -> HttpResponse:
    # The header names the person's region, team and manager: one query for the four instead of one for each.
    user = person_with_place(request_user(request).pk)
    page = home_for(user, now=timezone.now(), day=timezone.localdate())
    return render(request, "home/home.html", {"home": page, "person": user})
