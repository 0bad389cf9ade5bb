"""Realtime: websockets that speak the Supabase Realtime protocol (postgres_changes).

publisher (sync, in the writing process) → bus (Redis pub/sub or in-process) → one
dispatcher per server process → the sockets of that process (consumer), each change matched
against every subscription in memory after the row's audience was computed once.
"""
