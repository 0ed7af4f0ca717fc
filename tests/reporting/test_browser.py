"""A real browser on the dashboard: Debian's headless Chromium, driven by Selenium, against
the live test server. It logs in, sees the overview's charts drawn and a figure that equals
the report API's for the same account and days, and reads the page at a phone's width.

`make test` installs chromium and chromium-driver (apt) when they are missing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.reporting.conftest import PASSWORD, Dataset, dataset_build, member

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

# How many of a chart's pixels are painted (not transparent), and how many carry the
# colour of its first dataset (the bars), read off the canvas itself.
PAINTED = """
const canvas = document.getElementById(arguments[0]);
const chart = Chart.getChart(canvas);
const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
let painted = 0, bars = 0;
for (let i = 0; i < data.length; i += 4) {
  if (data[i + 3] > 0) painted++;
  if (data[i + 3] > 0 && Math.abs(data[i] - data[i + 2]) > 40) bars++;
}
return {chart: chart !== undefined, points: chart ? chart.data.datasets[0].data.length : 0,
        painted: painted, bars: bars, size: data.length / 4};
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # tests run as root in CI
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--window-size=1280,1000",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def dataset(owner: Any, live_server: Any) -> Dataset:
    member(owner, "browser-user")
    return dataset_build(owner)


def log_in(browser: WebDriver, live_server: Any) -> None:
    browser.delete_all_cookies()
    browser.get(f"{live_server.url}/dashboard/")
    assert "/accounts/login/" in browser.current_url
    browser.find_element(By.NAME, "username").send_keys("browser-user")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, ".login button[type=submit]").click()


def figure(browser: WebDriver, name: str) -> tuple[str, str]:
    value = browser.find_element(By.CSS_SELECTOR, f'[data-metric="{name}"] .figure-value')
    return value.get_attribute("data-value") or "", value.text


def test_the_overview_draws_its_charts_and_agrees_with_the_api(
    browser: WebDriver, live_server: Any, dataset: Dataset
) -> None:
    account = dataset.account
    log_in(browser, live_server)
    WebDriverWait(browser, 10).until(
        lambda b: b.current_url.endswith(f"/dashboard/{account.account.pk}/")
    )
    # Chart.js, served from our own static files, drew both charts on their canvases.
    for canvas in ("chart-traffic", "chart-revenue"):
        WebDriverWait(browser, 10).until(
            lambda b, c=canvas: (
                b.execute_script("return window.Chart !== undefined")
                and b.execute_script(PAINTED, c)["chart"]
            )
        )
        drawn = browser.execute_script(PAINTED, canvas)
        assert drawn["points"] == 30, drawn  # one per day of the default 30 days
        assert drawn["painted"] > drawn["size"] * 0.01, drawn  # axes, labels, grid, data
        assert drawn["bars"] > 50, drawn  # the coloured bars of the days with data

    start = browser.find_element(By.NAME, "start").get_attribute("value")
    end = browser.find_element(By.NAME, "end").get_attribute("value")
    api = account.get("/api/v1/reports/days", start=start, end=end).json()["totals"]
    assert api["revenue"] == "20.50" and api["sends"] == 2
    for name in ("sends", "unique_clicks", "conversions", "revenue", "bot_clicks", "click_rate"):
        assert figure(browser, name)[0] == str(api[name]), name
    assert figure(browser, "revenue")[1] == "20.50"
    assert figure(browser, "click_rate")[1] == "50.0%"


def test_a_phone_scrolls_tables_sideways_never_the_page(
    browser: WebDriver, live_server: Any, dataset: Dataset
) -> None:
    log_in(browser, live_server)
    try:
        browser.set_window_size(390, 844)
        for page in ("", "campaigns/", "bots/", f"messages/{dataset.spring['id']}/"):
            browser.get(f"{live_server.url}/dashboard/{dataset.account.account.pk}/{page}")
            page_width, viewport = browser.execute_script(
                "return [document.documentElement.scrollWidth, window.innerWidth]"
            )
            assert page_width <= viewport, page
            # The wide tables scroll inside their own box.
            wraps = browser.execute_script(
                "return [...document.querySelectorAll('.table-wrap')]"
                ".map(w => [w.scrollWidth, w.clientWidth])"
            )
            assert wraps and all(client <= viewport for _, client in wraps), page
            assert any(scroll > client for scroll, client in wraps), page
            # The tabs stay one swipeable row.
            tabs = browser.find_element(By.CSS_SELECTOR, "nav.tabs")
            tab = browser.find_element(By.CSS_SELECTOR, "nav.tabs a")
            assert tabs.size["height"] < 2 * tab.size["height"], page
    finally:
        browser.set_window_size(1280, 1000)
