"""Management commands of monitoring."""
