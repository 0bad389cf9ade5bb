"""Template filters of the web pages."""

import json

from django import template

register = template.Library()


@register.filter
def pretty_json(value) -> str:
    """Indented JSON for a <pre> (autoescaped by the template)."""
    return json.dumps(value, indent=2, sort_keys=True, default=str)


@register.filter
def duration_ms(value) -> str:
    if value is None:
        return "—"
    return f"{value} ms" if value < 1000 else f"{value / 1000:.1f} s"
