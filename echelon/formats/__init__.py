"""Locale formats of the server-rendered pages (FORMAT_MODULE_PATH), by language."""
