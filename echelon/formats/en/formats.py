"""English formats of the admin's dates and times (issue 19: one time format): the web pages show
"Dec 2, 6:35 PM" through the browser's Intl (web/static/web/time.js, en-US); Django's own
English default was "Dec. 2, 2026, 6:35 p.m.", a third format beside the tables' "18:35"."""

DATE_FORMAT = "M j, Y"
TIME_FORMAT = "g:i A"
DATETIME_FORMAT = "M j, Y, g:i A"
SHORT_DATE_FORMAT = "m/d/Y"
SHORT_DATETIME_FORMAT = "m/d/Y g:i A"
