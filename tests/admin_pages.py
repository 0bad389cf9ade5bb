"""Helpers for tests of admin pages: a model's admin URL and a Django test client signed in."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client
