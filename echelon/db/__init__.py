"""Shared database building blocks: model bases, field helpers and migration operations."""
