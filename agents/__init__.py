"""Agents: the AI agents teams create, and the templates they start from."""
