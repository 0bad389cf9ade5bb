"""Template filters of the web pages."""

import json
from datetime import datetime, timezone as dt_timezone

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from echelon.dates import iso_utc

register = template.Library()


@register.filter
def pretty_json(value) -> str:
    """Indented JSON for a <pre> (autoescaped by the template)."""
    return json.dumps(value, indent=2, sort_keys=True, default=str)


@register.filter
def local_time(value, precision: str = "minutes"):
    """A timestamp as `<time datetime="…Z">` with a UTC fallback text; the page's time.js formats
    it in the browser's locale, as it formats live patches and chart axes (one format)."""
    if not isinstance(value, datetime):  # None, or "" for a missing variable (a row template)
        return "—"
    utc = value.astimezone(dt_timezone.utc)
    shown = utc.strftime("%b %-d, %H:%M:%S" if precision == "seconds" else "%b %-d, %H:%M") + " UTC"
    extra = mark_safe(' data-precision="seconds"') if precision == "seconds" else ""
    return format_html('<time datetime="{}"{}>{}</time>', iso_utc(utc), extra, shown)


@register.filter
def duration_ms(value) -> str:
    if value is None:
        return "—"
    return f"{value} ms" if value < 1000 else f"{value / 1000:.1f} s"
