"""Hardening: bad input (fuzzing the REST API, the n8n callback and the realtime websocket)."""
