"""Notifications and agent thoughts: the seed's "Real-time Communication" area, plus realtime."""
