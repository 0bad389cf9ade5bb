"""Supabase-compatible HTTP APIs: `/auth/v1` (GoTrue) and `/rest/v1` (PostgREST), over the same
row policies, column declarations, serializers and services as `/api/v1` (docs/supabase.md).

This app sits above the domain apps: it imports them, none of them imports it.
"""
