"""Browser test helpers: viewport sizes, screenshots into artifacts/, waiting for the live badge."""

from __future__ import annotations

from pathlib import Path

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
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
