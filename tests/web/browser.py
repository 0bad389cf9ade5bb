"""Browser test helpers: viewport sizes, screenshots, waiting for the live badge.

Screenshots go to `.data/screenshots/` (git-ignored) in `make test`, so a test run leaves the
committed set alone; `make screenshots` writes the committed set in `artifacts/screenshots/`
(ECHELON_SCREENSHOTS)."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

from notifications.models import NodeType
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / os.environ.get("ECHELON_SCREENSHOTS", ".data/screenshots")
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000, f"screenshot {path} is empty"
    return path


def wait_live(page):
    """Until every channel of the page's socket is joined (the badge says Live)."""
    from playwright.sync_api import expect

    expect(page.locator("#live-state")).to_have_attribute("data-state", "live", timeout=10_000)


def tree_of(execution, count: int):
    """`count` thoughts: node 0 is the root, node i's parent is node (i-1)//3."""
    types = [NodeType.INPUT, NodeType.PROCESSING, NodeType.ACTION, NodeType.OUTPUT]
    for i in range(count):
        factories.AgentThoughtFactory(
            execution=execution, node_id=f"n{i}", parent_node_id=None if i == 0 else f"n{(i - 1) // 3}",
            node_type=types[min(3, (i.bit_length()))], content=f"Thought {i}: weighing the evidence for step {i}",
            confidence_score=Decimal("0.50") + Decimal(i % 50) / 100, processing_time_ms=10 + i,
        )
