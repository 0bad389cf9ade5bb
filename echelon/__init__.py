"""Echelon project package: settings, URLs, ASGI/WSGI entry points and shared building blocks."""
