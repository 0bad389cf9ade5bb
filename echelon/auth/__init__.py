"""Authentication: JWT access/refresh tokens for the API and the realtime websocket."""
