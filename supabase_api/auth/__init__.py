"""`/auth/v1`: the GoTrue endpoints supabase-js's auth client calls."""
