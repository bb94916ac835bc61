"""Headless Chromium driven by Selenium, from the Debian packages (``chromium``,
``chromium-driver``: the driver's version matches the browser's)."""

from __future__ import annotations

from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--window-size=1400,1000",
)


def headless_chromium(profile: Path) -> webdriver.Chrome:
    """A fresh headless Chromium with its own profile folder."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        raise FileNotFoundError(
            f"{', '.join(missing)} not found: install Debian's chromium and chromium-driver "
            "(.ci/run does)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
