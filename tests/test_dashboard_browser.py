"""The dashboard in a real browser: ``streamlit run app.py`` on a loopback port, Debian's chromium
driven by Playwright, every page opened against a results/ folder made by real tiny ``scaler train``,
``search``, ``scale``, ``bench``, ``student`` and ``robustness`` runs; no error element, at least one rendered
plot per page, a screenshot of each, the per-epoch training curves, the robustness and self-training charts
drawn and the self-training table listing its rows.
The README's picture is the Scaling page's ladder chart: with ``SCALER_UPDATE_DOCS=1`` the test writes it to
docs/img/dashboard.png.

Needs Debian's ``chromium`` (scripts/setup.sh installs it) and the ``playwright`` package (the
``test`` extra); Playwright never downloads a browser here, it is pointed at chromium's binary.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["Zoo", "Runs", "Search", "Scaling", "Frontier", "Robustness", "Self-training", "Inspect"]
#: The charts (Streamlit keys) that must hold drawn traces, by page: the training curves, the robustness and the
#: self-training charts.
DRAWN = {"Runs": ["runs_curves"], "Scaling": ["scale_rung_curves", "scale_compare_curves"],
         "Robustness": ["robustness_mce", "robustness_errors"], "Self-training": ["self_training"]}
#: The rows the page's one dataframe must list, by page: the self-training's teacher, student and supervised.
#: (Streamlit puts no key class on a dataframe's container, so the page's own dataframe is found by its test id.)
TABLE_ROWS = {"Self-training": 3}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"),
]


# Tiny but real: seeded synthetic 16 px images, one epoch, a quarter of B0's width.
DATA = ["--data", "synthetic:classes=4,size=384,resolution=16", "--val-size", "64", "--train-size", "256",
        "--epochs", "1", "--batch-size", "64", "--device", "cpu"]
RUNS = [
    ["train", "plain-cnn", *DATA],
    ["train", "plain-cnn", *DATA, "--seed", "1"],  # a second model for the robustness comparison
    ["search", "--space", "mbconv", "--trials", "3", "--width", "0.25", "--pruner", "none", *DATA],
    # three grid points (as in test_scaling's TINY_GRID), the model at phi 2 trained, one matched-MACs comparison
    ["scale", "--base", "efficientnet-b0", "--phi", "2", "--train", "--width", "0.25", "--grid", "--step", "0.2",
     "--tol", "0.1", "--macs-tol", "0.1", "--compare", "--ratios", "2", "--bootstrap", "10", *DATA],
    # the frontier: a zoo model and the search's baseline, two seeds each
    ["bench", "--models", "plain-cnn", "--seeds", "2", "--width", "0.25", *DATA],
    # Noisy Student up the ladder the scale run wrote (b0 -> b0-phi1), two seeds so the differences have intervals
    ["student", "--base", "efficientnet-b0", "--threshold", "0", "--seeds", "2", "--width", "0.25", "--jobs", "1",
     *DATA],
]
#: The robustness comparison: the two trained plain-cnns (bench runs keep no weights), the first the reference.
ROBUSTNESS = ["--images", "32", "--corruptions", "gaussian_noise,rotate", "--frames", "3", "--device", "cpu"]


def run_ids(root: Path, kind: str) -> list[str]:
    """The ids of the runs of one kind under root/runs, oldest first."""
    import json

    return [p.parent.name for p in sorted((root / "runs").glob("*/run.json"))
            if json.loads(p.read_text()).get("kind") == kind]


def make_real_results(root: Path) -> Path:
    """results/ as a user's commands leave it: training runs, a search study, a scaling base, a bench, a
    self-training and a robustness comparison."""
    env = dict(os.environ, OMP_NUM_THREADS="1", SCALER_RESULTS=str(root))
    env.pop("SCALER_STORAGE", None)
    for argv in [*RUNS, None]:
        if argv is None:  # after the trainings: their run ids are known
            argv = ["robustness", *run_ids(root, "train"), *ROBUSTNESS]
        done = subprocess.run([sys.executable, "-m", "scaler", *argv], env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, f"scaler {' '.join(argv)}:\n{done.stderr[-3000:]}"
    assert (root / "search" / "mbconv-reward" / "best.arch").exists()
    assert (root / "bench" / "default" / "table.csv").exists()
    assert (root / "student" / "default" / "table.csv").exists()
    assert {"grid.csv", "ladder.csv", "compare.csv", "fits.json"} <= {
        p.name for p in (root / "scale" / "efficientnet-b0").iterdir()}
    assert (root / "robustness" / run_ids(root, "train")[0] / "summary.json").exists()
    return root


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the server's process: get SIGTERM if pytest itself dies (Linux), so no server outlives it."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def stop(proc: subprocess.Popen) -> None:
    """End the server and everything it started (its own process group)."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture
def server(tmp_path: Path):
    """``streamlit run app.py`` against results/ from real runs; yields its URL, always stopped."""
    results = make_real_results(tmp_path / "results")
    port = free_port()
    env = dict(os.environ, SCALER_RESULTS=str(results), PYTHONUNBUFFERED="1")
    env.pop("SCALER_STORAGE", None)
    log = open(tmp_path / "streamlit.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 45
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode}:\n{(tmp_path / 'streamlit.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("streamlit did not answer on its health endpoint within 45 s")
            time.sleep(0.3)
        yield url
    finally:
        stop(proc)
        log.close()


def picture_path(tmp_path: Path) -> Path:
    """Where the README's picture of the dashboard goes: docs/img/dashboard.png when SCALER_UPDATE_DOCS=1
    (to refresh the checked-in one), else a temporary file, so a plain test run changes nothing."""
    return ROOT / "docs" / "img" / "dashboard.png" if os.environ.get("SCALER_UPDATE_DOCS") == "1" else (
        tmp_path / "dashboard.png")


def wait_for_app(page) -> None:
    """Until the app's script has run to the end (Streamlit marks its root element)."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=40_000)


def test_every_page_renders_in_chromium(server: str, tmp_path: Path) -> None:
    started = time.monotonic()
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2400})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            for name in PAGES:
                page.goto(f"{server}/?page={name.lower()}")
                wait_for_app(page)
                page.wait_for_selector(".js-plotly-plot", timeout=30_000)
                for key in DRAWN.get(name, []):  # a plotly chart that drew at least one line or heatmap
                    page.locator(f".st-key-{key} .js-plotly-plot").locator(".scatterlayer .trace, .hm").first.wait_for(
                        state="attached", timeout=30_000)
                if name in TABLE_ROWS:  # a dataframe whose grid (its accessible table) counts every row
                    grid = page.locator("[data-testid='stDataFrame'] table[role='grid']")
                    grid.wait_for(state="attached", timeout=30_000)
                    assert grid.get_attribute("aria-rowcount") == str(TABLE_ROWS[name] + 1), name  # and the header
                page.wait_for_timeout(500)  # let plotly finish drawing before the screenshot
                page.screenshot(path=str(shots / f"{name.lower()}.png"), full_page=True)
                assert page.locator('[data-testid="stException"]').count() == 0, name
                assert page.locator(".js-plotly-plot").count() >= 1, name
                assert page.get_by_role("heading", name=name).count() >= 1, name
            # navigation by the sidebar, as a user does it
            page.locator('[data-testid="stSidebar"]').get_by_text("Scaling", exact=True).click()
            page.wait_for_selector("h1:has-text('Scaling')", timeout=30_000)
            wait_for_app(page)
            assert page.locator('[data-testid="stException"]').count() == 0
            assert "page=scaling" in page.url
            # the README's picture: the Scaling page's ladder chart, at a laptop's window width
            page.set_viewport_size({"width": 1200, "height": 900})
            page.goto(f"{server}/?page=scaling")
            wait_for_app(page)
            ladders = page.locator(".st-key-scale_ladders")
            ladders.locator(".js-plotly-plot").wait_for(timeout=30_000)
            page.wait_for_timeout(500)
            picture = picture_path(tmp_path)
            picture.parent.mkdir(parents=True, exist_ok=True)
            ladders.screenshot(path=str(picture))
            assert not errors, errors
        finally:
            browser.close()
    print(f"screenshots in {shots}; {time.monotonic() - started:.1f} s in the browser")
    assert sorted(p.name for p in shots.iterdir()) == sorted(f"{n.lower()}.png" for n in PAGES)
    assert 20_000 < picture.stat().st_size < 300_000, f"{picture}: {picture.stat().st_size} bytes"
