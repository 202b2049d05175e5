"""parity.html in a real browser: Debian's chromium, driven through its chromedriver by selenium.

The run compares two sandboxes, local (healthy) and prod (lacking the nested Application
ci-pipelines-prod), each with its own DNS, router, registry and git given by --env-config.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from fixtures.sandbox import Sandbox
from tests.conftest import REPO, RunSuite, SuiteRun

NESTED_APP = "parity.gitops.nested-apps-healthy"
UMBRELLA = "parity.gitops.umbrella-healthy"
SCREENSHOT = REPO / "reports" / "parity-page.png"
BROWSER_DEADLINE = 30  # seconds for page loads and scripts; a hung browser fails the test


def find_browser() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
    )
    if browser is None or driver is None:
        pytest.fail("chromium and chromedriver are needed: `make system-deps` installs chromium chromium-driver")
    return browser, driver


def open_browser(*, scripts: bool = True) -> WebDriver:
    browser, driver = find_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(argument)
    if not scripts:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    # Console messages and the network log (every request the page makes) come back to the test.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    try:
        session = webdriver.Chrome(options=options, service=Service(driver))
    except WebDriverException as error:
        pytest.fail(f"chromium did not start: {error.msg}")
    session.set_page_load_timeout(BROWSER_DEADLINE)
    session.set_script_timeout(BROWSER_DEADLINE)
    return session


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    session = open_browser()
    yield session
    session.quit()


@pytest.fixture
def prod_lacking_a_nested_app(
    run_suite: RunSuite, sandbox: Sandbox, sandbox_local: Sandbox, tmp_path: Path, pytester: pytest.Pytester
) -> tuple[SuiteRun, Path]:
    sandbox.use("nested-app-missing")
    configs = []
    for env, instance in (("local", sandbox_local), ("prod", sandbox)):
        path = tmp_path / f"{env}.yaml"
        path.write_text(yaml.safe_dump(instance.env_config("admin")))
        configs += ["--env-config", f"{env}={path}"]
    run = run_suite("-m", "parity", "--env", "local", "--env", "prod", *configs, user=None)
    return run, pytester.path / "reports"


def rows(page: WebDriver) -> list[WebElement]:
    return page.find_elements("css selector", "tbody tr")


def label(row: WebElement) -> str:
    return row.find_element("css selector", "td.check").text


def test_parity_page_in_a_real_browser(prod_lacking_a_nested_app: tuple[SuiteRun, Path], browser: WebDriver) -> None:
    """One run (two sandboxes, a scenario switch) serves every assertion: the gate, the page, scripts off."""
    run, reports = prod_lacking_a_nested_app
    assert run.exit_code == 1, run.output[-3000:]
    failing = {(r["id"], r["env"], r["target"]) for r in run.results if r["verdict"] == "FAIL"}
    assert failing == {
        (NESTED_APP, "prod", "ci-pipelines"),
        (UMBRELLA, "prod", ""),
        ("parity.envs.same-components", None, ""),
        ("parity.gitops.live-matches-git", "prod", ""),  # the missing nested Application, against git
    }
    gate = subprocess.run(
        [sys.executable, "-m", "fixtures.reporting", str(reports / "gate.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
    )
    assert (gate.returncode, f"{NESTED_APP}[prod-ci-pipelines]" in gate.stdout) == (1, True), gate.stdout

    page_url = (reports / "parity.html").resolve().as_uri()
    browser.get(page_url)

    table = rows(browser)
    first = table[0]
    differing = [label(row) for row in table[:4]]
    assert differing == [
        "parity.gitops.live-matches-git",
        f"{NESTED_APP} [ci-pipelines]",
        UMBRELLA,
        "parity.envs.same-components",
    ]
    assert "diff" in first.get_attribute("class").split()
    same_row = next(row for row in table if "same" in row.get_attribute("class").split())
    highlight = first.value_of_css_property("background-color")
    assert highlight != same_row.value_of_css_property("background-color"), "the difference row is highlighted"
    assert first.find_element("css selector", "td.check").value_of_css_property("border-left-width") != "0px"

    # Every check x env of the run has its cell, holding its verdict and evidence.
    by_label = {label(row): row for row in table}
    assert len(by_label) == len(table)
    for record in run.results:
        name = record["id"] + (f" [{record['target']}]" if record["target"] else "")
        cells = by_label[name].find_elements("css selector", "td:not(.check)")
        if record["env"] is None:
            assert [cell.get_attribute("colspan") for cell in cells] == ["2"]
            cell = cells[0]
        else:
            assert len(cells) == 2, name
            cell = cells[["local", "prod"].index(record["env"])]
        assert cell.find_element("css selector", ".verdict").text == record["verdict"]

    # The filters: differences only, then by marker.
    browser.find_element("id", "diffonly").click()
    assert [label(row) for row in rows(browser) if row.is_displayed()] == differing
    browser.find_element("id", "diffonly").click()
    browser.execute_script(
        "var m=document.getElementById('marker'); m.value='smoke'; m.dispatchEvent(new Event('change'))"
    )
    shown = [row for row in rows(browser) if row.is_displayed()]
    assert shown
    assert all("smoke" in row.get_attribute("data-markers").split() for row in shown)
    browser.execute_script("var m=document.getElementById('marker'); m.value=''; m.dispatchEvent(new Event('change'))")

    SCREENSHOT.parent.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT))

    # Nothing but the page itself was requested, and the console stayed clean.
    requests = [json.loads(entry["message"])["message"] for entry in browser.get_log("performance")]
    urls = {m["params"]["request"]["url"] for m in requests if m["method"] == "Network.requestWillBeSent"}
    assert urls == {page_url}
    console: list[dict[str, Any]] = browser.get_log("browser")
    assert [entry for entry in console if entry["level"] in ("SEVERE", "WARNING")] == []

    # With scripts off the page still reads: every row shown, the difference first.
    scriptless = open_browser(scripts=False)
    try:
        scriptless.get(page_url)
        table = rows(scriptless)
        assert table
        assert all(row.is_displayed() for row in table)
        assert label(table[0]) == "parity.gitops.live-matches-git"  # differences first, by check ID
    finally:
        scriptless.quit()
