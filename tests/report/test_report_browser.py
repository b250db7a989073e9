"""The report in a real browser: headless Chromium driven by Selenium, page opened from disk.

Needs Chromium and its driver (Debian: ``apt-get install chromium chromium-driver``;
``.ci/run`` installs them) and ``selenium`` (the ``test`` extra). Skips, saying which is
missing, only where they are not installed.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import numpy as np
import pytest

from blindiqa.models.load import load
from blindiqa.models.quality_scale import QualityScale
from blindiqa.report import write_report
from blindiqa.scoring import score_files
from blindiqa.scoring.inputs import iter_inputs

_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_DRIVERS = ("chromedriver", "/usr/lib/chromium/chromedriver", "/usr/bin/chromedriver")
_INSTALL = "apt-get install chromium chromium-driver (.ci/run does)"


def _find(names: tuple[str, ...]) -> str | None:
    return next((p for name in names if (p := shutil.which(name))), None)


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium that keeps the page's console messages."""
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is not installed (pip install '.[test]')")
    binary, driver = _find(_BROWSERS), _find(_DRIVERS)
    if binary is None:
        pytest.skip(f"no Chromium on this machine ({_INSTALL})")
    if driver is None:
        pytest.skip(f"no chromedriver on this machine ({_INSTALL})")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,2400", "--hide-scrollbars"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=webdriver.ChromeService(executable_path=driver),
                         options=options)
    yield d
    d.quit()


@pytest.fixture()
def report_page(report_photos, tmp_path) -> Path:
    model = load("niqe")
    model.quality_scale = QualityScale.fit(np.linspace(1, 20, 50), "test")
    out = tmp_path / "report"
    records = score_files(model, iter_inputs([str(report_photos)]), with_maps=True)
    write_report(records, out, model_name=model.name, scale=model.quality_scale)
    return out / "index.html"


def _gallery(browser, key: str) -> list[str]:
    return browser.execute_script(
        "return Array.from(document.querySelectorAll('#gallery .card'))"
        ".map(c => c.getAttribute(arguments[0]));", f"data-{key}")


def _numbers(values: list[str]) -> list[float]:
    return [float(v) for v in values if v != ""]


def _click(browser, selector: str) -> None:
    from selenium.webdriver.common.by import By

    browser.find_element(By.CSS_SELECTOR, selector).click()


def test_report_in_chromium(browser, report_page, report_photos, tricky_name, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(report_page.as_uri())
    assert browser.title == "blindiqa report"
    cards = browser.find_elements(By.CSS_SELECTOR, "#gallery .card")
    assert len(cards) == 6
    assert len(browser.find_elements(By.CSS_SELECTOR, "#gallery .card.failed")) == 1
    assert browser.find_elements(By.CSS_SELECTOR, "#worst .card")  # sections are filled
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.histogram rect")) == 20
    names = [n.rsplit("/", 1)[-1] for n in _gallery(browser, "name")]
    assert tricky_name in names  # a name of markup, shown as text

    # every thumbnail loads from disk (relative links work under file://)
    WebDriverWait(browser, 10).until(lambda b: b.execute_script(
        "return Array.from(document.querySelectorAll('#gallery img'))"
        ".every(i => i.complete && i.naturalWidth > 0);"))

    _click(browser, 'button[data-sort="score"]')
    scores = _gallery(browser, "score")
    assert scores[-1] == ""  # the image not scored goes last
    assert _numbers(scores) == sorted(_numbers(scores)) and len(_numbers(scores)) == 5
    _click(browser, 'button[data-sort="score"]')
    scores = _gallery(browser, "score")
    assert _numbers(scores) == sorted(_numbers(scores), reverse=True) and scores[-1] == ""
    assert "descending" in browser.find_element(By.ID, "sort-state").text
    _click(browser, 'button[data-sort="quality"]')
    qualities = _numbers(_gallery(browser, "quality"))
    assert qualities == sorted(qualities) and len(qualities) == 5
    _click(browser, 'button[data-sort="name"]')
    assert _gallery(browser, "name") == sorted(_gallery(browser, "name"),
                                               key=lambda s: s.lower())
    _click(browser, 'button[data-sort="i"]')
    assert _gallery(browser, "i") == [str(i) for i in range(6)]

    # a click on a card shows its quality map
    viewer = browser.find_element(By.ID, "viewer")
    assert not viewer.is_displayed()
    link = browser.find_element(By.CSS_SELECTOR, "#gallery .card a.map-link")
    href = link.get_attribute("href")
    link.click()
    assert viewer.is_displayed()
    image = browser.find_element(By.ID, "viewer-img")
    assert image.get_attribute("src") == href
    WebDriverWait(browser, 10).until(lambda b: b.execute_script(
        "const i = document.getElementById('viewer-img');"
        "return i.complete && i.naturalWidth > 0;"))
    assert "score" in browser.find_element(By.ID, "viewer-caption").text
    # the picture shows the plain photo beside its map: twice as wide as the thumbnail
    thumb_width = link.find_element(By.TAG_NAME, "img").get_attribute("naturalWidth")
    assert int(image.get_attribute("naturalWidth")) >= 2 * int(thumb_width)
    assert image.get_attribute("alt") == "the photo (left) and its quality map (right)"
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    _click(browser, "#viewer-close")
    assert not viewer.is_displayed()

    # the quality slider hides the photos below it, and says how many are shown
    shown = browser.find_element(By.ID, "shown")
    assert shown.text == "6 of 6 shown"
    qualities = sorted(_numbers(_gallery(browser, "quality")))
    cut = qualities[2]  # keeps the three best (distinct qualities here)
    browser.execute_script(
        "const s = document.getElementById('min-quality'); s.value = arguments[0];"
        "s.dispatchEvent(new Event('input'));", str(int(cut)))
    visible = [c for c in browser.find_elements(By.CSS_SELECTOR, "#gallery .card")
               if c.is_displayed()]
    kept = [q for q in qualities if q >= int(cut)]
    assert len(visible) == len(kept) and shown.text == f"{len(kept)} of 6 shown"
    assert all(float(c.get_attribute("data-quality")) >= int(cut) for c in visible)
    browser.execute_script(
        "const s = document.getElementById('min-quality'); s.value = 0;"
        "s.dispatchEvent(new Event('input'));")
    assert shown.text == "6 of 6 shown"

    # every card links to its original file, the name with markup and the corrupt one too
    links = [a.get_attribute("href")
             for a in browser.find_elements(By.CSS_SELECTOR, "#gallery a.original")]
    assert len(links) == 6
    files = sorted(Path(url2pathname(urlparse(u).path)).name for u in links)
    assert files == sorted(p.name for p in report_photos.iterdir())

    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == []
