"""`/rest/v1`: the PostgREST grammar supabase-js's `from()` emits, under the row policies."""
