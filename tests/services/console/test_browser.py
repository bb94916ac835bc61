"""The console in a real browser against a real ``cds serve --dev`` on loopback.

Chromium loads an example patient, calls a service, shows the card the service
answered, and sends feedback that the server stores; the model card page shows
the card's metrics next to the baseline with its plots; the jobs page shows a job
``cds score`` ran.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests import processes
from tests.services.cds_hooks.server import CdsServeProcess, start_cds_serve
from tests.services.console.browser import headless_chromium

pytestmark = [pytest.mark.server, pytest.mark.slow]

MODEL = "post-mi-mortality"
SERVICE = f"{MODEL}-patient-view"
EXAMPLE = f"{MODEL}/whas500-row-323.json"
WAIT_S = 60


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("console")


def settings(folder: Path) -> dict[str, str]:
    """The server's settings; ``cds score`` shares its jobs folder."""
    return {
        "CDS_DATABASE_URL": f"sqlite:///{folder / 'cds.db'}",
        "CDS_JOBS_DIR": str(folder / "jobs"),
        "CDS_PSEUDONYM_KEY": "console-test",
        # correctness here, not speed: a busy machine must not fail safe
        "CDS_HOOK_BUDGET_MS": "10000",
    }


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[CdsServeProcess]:
    process = start_cds_serve(settings(folder), folder / "logs")
    yield process
    process.stop()


@pytest.fixture(scope="module")
def browser(folder: Path) -> Iterator[webdriver.Chrome]:
    driver = headless_chromium(folder / "chromium-profile")
    yield driver
    driver.quit()


def wait(browser: webdriver.Chrome) -> WebDriverWait:
    return WebDriverWait(browser, WAIT_S)


def feedback_rows(database: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(database) as db:
        return db.execute("SELECT card_uuid, outcome, reason_code FROM cds_feedback").fetchall()


def test_try_a_patient_shows_the_services_card_and_stores_feedback(server, browser, folder):
    browser.get(f"{server.url}/console/#try")
    example = wait(browser).until(ec.visibility_of_element_located((By.ID, "example")))
    Select(example).select_by_value(EXAMPLE)
    Select(browser.find_element(By.ID, "service")).select_by_value(SERVICE)
    browser.find_element(By.ID, "run").click()
    card = wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#cards .card")))

    # The card shown is the service's answer to the request shown, as an EHR would show it.
    request = browser.find_element(By.ID, "raw-request").text
    response = browser.find_element(By.ID, "raw-response").text
    assert '"hook": "patient-view"' in request
    (expected,) = httpx.post(
        f"{server.url}/cds-services/{SERVICE}",
        content=request,
        timeout=WAIT_S,
        headers={"Content-Type": "application/json"},
    ).json()["cards"]
    assert card.find_element(By.CSS_SELECTOR, ".card-summary").text.endswith(expected["summary"])
    assert expected["indicator"] in card.get_attribute("class").split()
    assert (
        card.find_element(By.CSS_SELECTOR, ".card-indicator").text.lower() == expected["indicator"]
    )
    code = card.find_element(
        By.CSS_SELECTOR, ".card-detail code"
    )  # markdown rendered, not shown raw
    assert code.text == MODEL
    assert f"Model {MODEL} version 1." in card.find_element(By.CSS_SELECTOR, ".card-detail").text
    assert card.find_element(By.CSS_SELECTOR, ".card-detail table")  # contributing factors
    link = card.find_element(By.CSS_SELECTOR, ".card-link a")
    assert link.get_attribute("href") == expected["links"][0]["url"]
    uuid = card.get_attribute("data-uuid")
    assert uuid in response

    # Override with a reason, then accept: both stored in the server's feedback store.
    Select(card.find_element(By.CSS_SELECTOR, ".override-reason")).select_by_visible_text(
        "Clinical judgement differs"
    )
    card.find_element(By.CSS_SELECTOR, ".override").click()
    status = card.find_element(By.CSS_SELECTOR, ".feedback-status")
    wait(browser).until(lambda _: "overridden" in status.text)
    card.find_element(By.CSS_SELECTOR, ".accept").click()
    wait(browser).until(lambda _: "accepted" in status.text)
    assert "stored" in status.text
    rows = feedback_rows(folder / "cds.db")
    assert sorted(rows) == [(uuid, "accepted", None), (uuid, "overridden", "clinical-judgement")]


def test_a_model_card_page_shows_metrics_next_to_the_baseline_and_plots(server, browser):
    card = httpx.get(f"{server.url}/models/{MODEL}", timeout=WAIT_S).json()["card"]
    browser.get(f"{server.url}/console/#models/{MODEL}")
    page = wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, ".model-card")))
    assert page.find_element(By.TAG_NAME, "h2").text == card["title"]
    assert card["intended_use"] in page.text
    auroc = next(
        row
        for row in page.find_elements(By.CSS_SELECTOR, "table.metrics tr")
        if row.text.startswith("auroc")
    )
    assert f"{card['metrics']['overall']['auroc']['value']:.3f}" in auroc.text
    assert f"{card['baseline']['overall']['auroc']['value']:.3f}" in auroc.text
    subgroups = page.find_elements(By.CSS_SELECTOR, "table.subgroups tr")
    assert len(subgroups) == 1 + len(card["metrics"]["subgroups"])
    for plot in ("roc", "calibration"):
        image = page.find_element(By.CSS_SELECTOR, f".plot-{plot} img")
        wait(browser).until(
            lambda _, i=image: browser.execute_script(
                "return arguments[0].complete && arguments[0].naturalWidth > 0", i
            )
        )
    assert card["limitations"][0] in page.text


def test_a_pasted_bundle_is_tried_and_bad_text_is_reported(server, browser):
    bundle = httpx.get(f"{server.url}/console/api/examples/{EXAMPLE}", timeout=WAIT_S).text
    browser.get(f"{server.url}/console/#try")
    example = wait(browser).until(ec.visibility_of_element_located((By.ID, "example")))
    Select(example).select_by_value("paste")
    pasted = browser.find_element(By.ID, "bundle-input")
    status = browser.find_element(By.ID, "try-status")

    pasted.send_keys("{not json")
    browser.find_element(By.ID, "run").click()
    wait(browser).until(lambda _: "not JSON" in status.text)
    assert browser.find_elements(By.CSS_SELECTOR, "#cards .card") == []

    pasted.clear()
    browser.execute_script("arguments[0].value = arguments[1]", pasted, bundle)  # no typing
    Select(browser.find_element(By.ID, "service")).select_by_value(SERVICE)
    browser.find_element(By.ID, "run").click()
    card = wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#cards .card")))
    assert MODEL in card.find_element(By.CSS_SELECTOR, ".card-detail code").text


def test_the_jobs_page_lists_a_scored_job_with_its_summary(server, browser, folder):
    browser.get(f"{server.url}/console/#jobs")
    none = wait(browser).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, "#jobs .no-jobs"))
    )
    assert none.text == "No batch jobs."

    # A tiny job in embedded mode (no broker), written into the server's jobs folder.
    cohort, out = folder / "cohort", folder / "scored"
    cds = [sys.executable, "-m", "services.cli"]
    build = ["cohort", "build", "whas500", "--out", str(cohort), "--format", "ndjson", "--n", "6"]
    score = ["score", str(cohort), "--out", str(out), "--models", MODEL, "--concurrency", "1"]
    score += ["--index-time", "2018-01-01T00:00:00+00:00", "--no-progress"]
    env = processes.cli_env(settings(folder))
    env.pop("CDS_BROKER_URL", None)  # embedded: scored in-process, no worker needed
    for command in (build, score):
        subprocess.run(
            [*cds, *command], cwd=processes.ROOT, env=env, check=True, capture_output=True
        )
    (job,) = httpx.get(f"{server.url}/jobs", timeout=WAIT_S).json()["jobs"]

    browser.refresh()  # still on #jobs
    row = wait(browser).until(ec.visibility_of_element_located((By.CSS_SELECTOR, "tr.job")))
    assert row.get_attribute("data-id") == job["id"]
    assert row.find_element(By.CSS_SELECTOR, ".job-state").text == "done"
    assert f"{job['total']}/{job['total']}" in row.text
    assert job["total"] == 6
    summary = httpx.get(
        row.find_element(By.CSS_SELECTOR, "a").get_attribute("href"), timeout=WAIT_S
    )
    assert summary.status_code == 200
    assert summary.headers["content-type"].startswith("text/csv")
    assert len(summary.text.splitlines()) > 1
