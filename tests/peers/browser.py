"""A real headless Chromium from Debian's packages (chromium, chromium-driver), driven by Selenium.

The driver is named by its path and the browser by its binary, and SE_OFFLINE is set, so Selenium
Manager never runs: nothing is downloaded at test time. Missing packages skip the test, or fail it under
CI=true (.ci/run installs them).
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.peers import missing_peer

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SHOTS = Path(__file__).resolve().parents[2] / "build" / "ui-shots"


def start_browser() -> Any:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        missing_peer("needs Debian's chromium and chromium-driver: apt-get install chromium chromium-driver")
    os.environ["SE_OFFLINE"] = "true"  # belt and braces: Selenium Manager may not reach out even if asked
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--lang=zh-CN"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for a module's tests (starting one costs seconds); cookies cleared by the tests."""
    driver = start_browser()
    try:
        yield driver
    finally:
        driver.quit()


def shot(driver: Any, name: str) -> Path:
    """A screenshot under build/ui-shots/ for review."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def set_width(driver: Any, width: int, height: int = 900) -> None:
    """Make the page's viewport `width` CSS pixels wide (the window's chrome is added on top)."""
    driver.set_window_size(width, height)
    inner = driver.execute_script("return window.innerWidth")
    if inner != width:
        driver.set_window_size(width + (width - inner), height)


def click_and_wait(driver: Any, element: Any, ready_id: str, timeout: float, what: str) -> None:
    """Click `element` (a form's submit) and wait for the *next* page to carry `ready_id`.

    Waiting only for `ready_id` is not enough when the page already on screen carries it (a second
    form post after a first): the old page would satisfy the wait and its elements go stale under the
    test's next read. So the old document must be gone first.
    """
    from tests.peers.collector import wait_for

    old = driver.find_element("tag name", "html")
    element.click()

    def replaced() -> bool:
        try:
            old.is_enabled()
        except Exception:  # StaleElementReferenceException: the page was replaced
            return True
        return False

    wait_for(replaced, timeout, f"{what}: the page replaced")
    wait_for(lambda: driver.find_elements("id", ready_id), timeout, what)
