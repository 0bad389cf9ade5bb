"""App config of the Supabase-compatible APIs."""

from django.apps import AppConfig


class SupabaseApiConfig(AppConfig):
    name = "supabase_api"
    verbose_name = "Supabase-compatible APIs"
