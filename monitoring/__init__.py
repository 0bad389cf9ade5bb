"""Monitoring: agent metrics and API usage metering."""
