"""Shared REST building blocks: the policy viewset, related fields, filters, pagination,
errors and the orjson response used by the hot read paths."""
