#!/usr/bin/env python3
"""Browser tests of the Meteo dashboard in real headless Chromium, driven over WebDriver.

Needs a running `meteo serve` on --url whose data dir (--data-dir) already holds observations,
the `meteo` binary (--meteo) to append new ones through the pipeline, Debian's chromium and
chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver) and selenium
(scripts/requirements-test.txt). It starts nothing but chromedriver.

Checks, each printed as one PASS or FAIL line:
  - every page (/, /map, /scatter, /heatmap, /series, /table, /place/ID, /dead-letters) loads,
    logs no SEVERE entry on the browser console, and shows its chart or table;
  - the map has one marker per place of /api/places;
  - a place named with HTML (--xss-name, id --xss-place-id) shows as text on /table and on its
    place page, and no element or script comes of it (no <img src=x>, no alert);
  - appending observations with `meteo ingest` + `meteo sink` updates the open overview and
    table within --live-timeout seconds, without a reload.
Screenshots of every page go to --artifacts. Exit status 0 when every check passed, 1 otherwise.

    python scripts/browser_test.py --url http://127.0.0.1:8080 --data-dir DIR --meteo .build/debug/meteo
"""

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
import traceback
import urllib.request
from datetime import datetime, timezone

from selenium import webdriver
from selenium.common.exceptions import UnexpectedAlertPresentException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

XSS_NAME = "<img src=x onerror=alert(1)>"

# Runs before any script of every page: records dialogs instead of opening them, and the
# errors that reach window.onerror, so that a check can tell that no injected script ran.
HOOKS = """
window.__alerts = [];
window.__errors = [];
['alert', 'confirm', 'prompt'].forEach(function (name) {
  window[name] = function (message) { window.__alerts.push(name + ': ' + String(message)); return name === 'confirm' ? false : null; };
});
window.addEventListener('error', function (e) { window.__errors.push(String(e.message || e.type)); }, true);
"""


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = []

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"PASS {name}" + (f" ({detail})" if detail else ""), flush=True)
        else:
            self.failed.append(name)
            print(f"FAIL {name}" + (f": {detail}" if detail else ""), flush=True)
        return ok

    def run(self, name, body):
        """Runs body() -> (ok, detail); an exception is a failure with its message."""
        start = time.monotonic()
        try:
            ok, detail = body()
        except UnexpectedAlertPresentException as e:
            ok, detail = False, f"an alert opened: {e.alert_text!r}"
        except WebDriverException as e:
            # Chromedriver's own stack trace (addresses only) would say nothing more.
            ok, detail = False, f"{type(e).__name__}: {(e.msg or '').strip()}"
        except Exception as e:  # noqa: BLE001: any error of a check is that check's failure
            ok, detail = False, f"{type(e).__name__}: {e}".strip()
            traceback.print_exc(file=sys.stdout)
        return self.check(name, ok, f"{detail}; {time.monotonic() - start:.1f} s")


def fetch_json(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.load(r)


def fetch_text(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read().decode("utf-8")


def make_driver(args):
    options = webdriver.ChromeOptions()
    options.binary_location = args.chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--window-size={args.width},{args.height}", "--hide-scrollbars", "--force-device-scale-factor=1",
                 "--no-first-run", "--no-default-browser-check", "--disable-extensions", *args.chromium_arg):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An alert left open must fail the next command, never be dismissed silently.
    options.set_capability("unhandledPromptBehavior", "ignore")
    driver = webdriver.Chrome(service=Service(executable_path=args.chromedriver), options=options)
    driver.set_page_load_timeout(60)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": HOOKS})
    # The page itself gets width × height (the window would also count the browser's frame).
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": args.width, "height": args.height, "deviceScaleFactor": 1, "mobile": False})
    return driver


def console(driver):
    """The browser console entries since the last call: (severe, all)."""
    entries = driver.get_log("browser")
    return [e for e in entries if e.get("level") == "SEVERE"], entries


def describe(entries):
    return "; ".join(f"[{e.get('level')}] {e.get('message')}" for e in entries)


def wait_for(predicate, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return value
        time.sleep(step)


def shot(driver, args, name):
    os.makedirs(args.artifacts, exist_ok=True)
    path = os.path.join(args.artifacts, name + ".png")
    driver.save_screenshot(path)
    return path


def count(driver, selector):
    return driver.execute_script("return document.querySelectorAll(arguments[0]).length", selector)


def figure(driver, key):
    return driver.execute_script(
        "var e = document.querySelector('[data-figure=\"' + arguments[0] + '\"]'); return e ? e.textContent : null", key)


def number(text):
    digits = re.sub(r"[^0-9]", "", text or "")
    return int(digits) if digits else None


def load(driver, args, path):
    """Opens a page and waits for its script to have run; returns the console entries it logged.
    A load slower than --max-load seconds raises: a page of the dashboard must not hang."""
    start = time.monotonic()
    driver.get(args.url + path)
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
    took = time.monotonic() - start
    if took > args.max_load:
        raise RuntimeError(f"loading {path} took {took:.1f} s (more than {args.max_load:.0f} s)")
    # Console messages of late resources (the stream, a favicon) arrive just after the load.
    time.sleep(args.settle)
    return console(driver)


def page_check(checks, driver, args, name, path, expect):
    """Loads path, screenshots it, and checks: no SEVERE console entry, no alert, and expect(driver) -> (ok, detail)."""
    def body():
        severe, _ = load(driver, args, path)
        title = driver.title
        shot(driver, args, name)
        problems = []
        if severe:
            problems.append("console errors: " + describe(severe))
        if not title.endswith("· Meteo") or title.startswith(("Bad request", "Unknown place")):
            problems.append(f"unexpected title {title!r}")
        alerts = driver.execute_script("return window.__alerts || []")
        if alerts:
            problems.append(f"dialogs opened: {alerts}")
        errors = driver.execute_script("return window.__errors || []")
        if errors:
            problems.append(f"errors on the page: {errors}")
        ok, detail = expect(driver)
        if not ok:
            problems.append(detail)
        return (not problems, "; ".join(problems) if problems else detail)
    return checks.run(f"page {path}", body)


def append_observations(args, seed):
    """Appends observations newer than every stored one, through the pipeline: meteo ingest
    (synthetic source; its clock starts at the current 10-minute boundary, so enough ticks to
    pass the newest stored time) then meteo sink. Returns (ticks, outputs)."""
    places = fetch_json(args.url + "/api/places")["places"]
    newest = max(datetime.strptime(p["last_observed_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
                 for p in places)
    boundary = math.floor(time.time() / 600) * 600
    ticks = max(1, math.floor((newest - boundary) / 600) + 2)
    outputs = []
    for command in (["ingest", "--source", "synthetic", "--ticks", str(ticks), "--interval", "0", "--seed", str(seed),
                     "--data-dir", args.data_dir],
                    ["sink", "--until-idle", "--data-dir", args.data_dir]):
        r = subprocess.run([args.meteo] + command, capture_output=True, text=True, timeout=300)
        outputs.append(f"$ meteo {' '.join(command)}\n{r.stdout}{r.stderr}".strip())
        if r.returncode != 0:
            raise RuntimeError(f"meteo {command[0]} exited {r.returncode}: {r.stdout}{r.stderr}")
    return ticks, outputs


def stored_observations(args):
    """The store's count, as the server renders it on the overview."""
    m = re.search(r'data-figure="observations">([0-9,]+)<', fetch_text(args.url + "/"))
    return number(m.group(1)) if m else None


def wait_live(driver, timeout=15):
    return wait_for(lambda: driver.execute_script(
        "var s = document.getElementById('live-status'); return s && s.textContent === 'live'"), timeout)


def dashboard_screenshot(args):
    """The overview, live, as a whole page: the README's picture of the dashboard."""
    driver = make_driver(args)
    try:
        severe, _ = load(driver, args, "/")
        if not wait_live(driver):
            print("FAIL the overview never went live", flush=True)
            return 1
        height = driver.execute_script("return Math.ceil(document.documentElement.scrollHeight)")
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": args.width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        time.sleep(0.5)
        folder = os.path.dirname(os.path.abspath(args.dashboard_screenshot))
        os.makedirs(folder, exist_ok=True)
        driver.save_screenshot(args.dashboard_screenshot)
        size = os.path.getsize(args.dashboard_screenshot)
        print(f"saved {args.dashboard_screenshot}: {args.width}×{height}, {size / 1024:.0f} KiB" +
              (f"; console: {describe(severe)}" if severe else ""), flush=True)
        return 0
    finally:
        driver.quit()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="base URL of a running meteo serve, http://127.0.0.1:PORT")
    parser.add_argument("--data-dir", required=True, help="that server's data dir, where new observations are appended")
    parser.add_argument("--meteo", required=True, help="the meteo binary")
    parser.add_argument("--artifacts", default=".build/browser-artifacts", help="folder of the screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    parser.add_argument("--chromium-arg", action="append", default=[], help="another Chromium flag (repeatable)")
    parser.add_argument("--xss-name", default=XSS_NAME, help="the hostile place name stored beforehand")
    parser.add_argument("--xss-place-id", default="999999001")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--settle", type=float, default=0.5, help="seconds to wait after a load for late console messages")
    parser.add_argument("--max-load", type=float, default=15, help="seconds a page may take to load")
    parser.add_argument("--live-timeout", type=float, default=10, help="seconds an open page may take to show new data")
    parser.add_argument("--skip-live", action="store_true", help="do not append data (only look at the pages)")
    parser.add_argument("--dashboard-screenshot", metavar="PNG",
                        help="only save the live overview, the whole page at --width, to PNG (docs/dashboard.png), and exit")
    args = parser.parse_args()
    args.url = args.url.rstrip("/")

    if args.dashboard_screenshot:
        return dashboard_screenshot(args)

    checks = Checks()
    places = fetch_json(args.url + "/api/places")
    place_count = places["count"]
    ordinary = next((p for p in places["places"] if p["place_id"] != args.xss_place_id), None)
    print(f"server {args.url}: {place_count} places; artifacts in {args.artifacts}", flush=True)
    if ordinary is None:
        checks.check("the store has an ordinary place", False, "no place besides the hostile one")

    driver = make_driver(args)
    try:
        version = driver.capabilities.get("browserVersion", "?")
        print(f"chromium {version}, viewport {args.width}×{args.height}", flush=True)

        def markers(d):
            n = count(d, "svg.chart-map circle.marker")
            return n == place_count, f"{n} markers for {place_count} places"

        def overview(d):
            ok, detail = markers(d)
            figures = count(d, "[data-figure]")
            return ok and figures == 8, f"{detail}, {figures} key figures"

        def scatter(d):
            n = count(d, "svg.chart-scatter g.points circle")
            return n > 0, f"{n} points"

        def heatmap(d):
            n = count(d, "svg.chart-heatmap g.cell")
            side = math.isqrt(n)
            return n > 0 and side * side == n, f"{n} cells ({side}×{side})"

        def series(d):
            n = count(d, "svg.chart-line g.series")
            return n > 0, f"{n} series"

        def table(d):
            n = count(d, "table.sortable tbody tr[data-place]")
            return n == place_count, f"{n} rows for {place_count} places"

        def place(d):
            charts = count(d, "svg.chart-line")
            heading = d.find_element(By.TAG_NAME, "h1").text
            ok = charts == 2 and ordinary is not None and heading.startswith(ordinary["name"])
            return ok, f"heading {heading!r}, {charts} line charts"

        def dead_letters(d):
            n = count(d, "table.sortable")
            return n == 1, "the table is there"

        pages = [("overview", "/", overview), ("map", "/map", markers), ("scatter", "/scatter", scatter),
                 ("heatmap", "/heatmap", heatmap), ("series", "/series", series), ("table", "/table", table)]
        if ordinary is not None:
            pages.append(("place", "/place/" + ordinary["place_id"], place))
        pages.append(("dead-letters", "/dead-letters", dead_letters))
        for name, path, expect in pages:
            page_check(checks, driver, args, name, path, expect)

        # The hostile name: text in the table and on its page, never markup.
        def xss_table():
            severe, _ = load(driver, args, "/table")
            cells = driver.execute_script(
                "var name = arguments[0];"
                "return Array.prototype.filter.call(document.querySelectorAll('table.sortable td'),"
                " function (td) { return td.textContent === name; }).length", args.xss_name)
            cell = driver.find_element(By.CSS_SELECTOR, f'tr[data-place="{args.xss_place_id}"] td')
            visible = cell.is_displayed() and cell.text == args.xss_name
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", cell)
            shot(driver, args, "xss-table")
            injected = count(driver, 'img[src="x"]') + count(driver, "main img")
            alerts = driver.execute_script("return window.__alerts")
            errors = driver.execute_script("return window.__errors")
            ok = cells == 1 and visible and injected == 0 and not alerts and not errors and not severe
            return ok, (f"{cells} cell with the name as its text, shown as {cell.text!r}; {injected} injected img; "
                        f"dialogs {alerts}; page errors {errors}; console {describe(severe) or 'clean'}")
        checks.run("hostile place name is text on /table, no script runs", xss_table)

        def xss_place():
            severe, _ = load(driver, args, "/place/" + args.xss_place_id)
            shot(driver, args, "xss-place")
            heading = driver.find_element(By.TAG_NAME, "h1").text
            injected = count(driver, 'img[src="x"]') + count(driver, "main img")
            alerts = driver.execute_script("return window.__alerts")
            errors = driver.execute_script("return window.__errors")
            ok = heading.startswith(args.xss_name) and injected == 0 and not alerts and not errors and not severe
            return ok, (f"heading {heading!r}; {injected} injected img; dialogs {alerts}; page errors {errors}; "
                        f"console {describe(severe) or 'clean'}")
        checks.run(f"hostile place name is text on /place/{args.xss_place_id}", xss_place)

        def xss_map():
            severe, _ = load(driver, args, "/map")
            title = driver.execute_script(
                "var c = document.querySelector('circle.marker[data-place=\"' + arguments[0] + '\"] title'); return c ? c.textContent : null",
                args.xss_place_id)
            injected = count(driver, 'img[src="x"]')
            ok = title is not None and title.startswith(args.xss_name) and injected == 0 and not severe
            return ok, f"marker tooltip {title!r}; {injected} injected img"
        checks.run("hostile place name is text in its map tooltip", xss_map)

        def table_filter():
            load(driver, args, "/table")
            box = driver.find_element(By.ID, "table-filter")
            box.clear()
            box.send_keys(ordinary["name"])
            shown = wait_for(lambda: driver.execute_script(
                "return Array.prototype.filter.call(document.querySelectorAll('table.sortable tbody tr'), function (r) { return !r.hidden; }).length")
                < place_count, 5)
            visible = driver.execute_script(
                "return Array.prototype.filter.call(document.querySelectorAll('table.sortable tbody tr'), function (r) { return !r.hidden; })"
                ".map(function (r) { return r.cells[0].textContent; })")
            severe, _ = console(driver)
            ok = bool(shown) and ordinary["name"] in visible and all(ordinary["name"].lower() in v.lower() for v in visible) and not severe
            return ok, f"filter {ordinary['name']!r} shows {len(visible)} rows"
        if ordinary is not None:
            checks.run("table filter (script) hides the other rows", table_filter)

        def back_navigation():
            load(driver, args, "/")
            wait_live(driver)
            load(driver, args, "/heatmap")
            start = time.monotonic()
            driver.back()
            live = wait_live(driver, args.max_load)
            took = time.monotonic() - start
            path = driver.execute_script("return window.location.pathname")
            severe, _ = console(driver)
            ok = path == "/" and bool(live) and not severe
            return ok, f"back on {path} in {took:.1f} s, {'live' if live else 'not live'}; console {describe(severe) or 'clean'}"
        checks.run("going back shows a live page again", back_navigation)

        if not args.skip_live:
            def live(path, selector, seed, label):
                """Opens path, waits for its stream, appends observations through the pipeline and
                waits for the text of selector to change, on the same document (no reload).
                The latency is measured on the page's clock, from the end of `meteo sink` to the
                change; the driver's own polling can lag behind a page busy drawing the update."""
                load(driver, args, path)
                if not wait_live(driver):
                    status = driver.find_element(By.ID, "live-status").text
                    return False, f"#live-status never said 'live' (it says {status!r})", None
                found = driver.execute_script("""
                    var el = document.querySelector(arguments[0]);
                    if (!el) { return null; }
                    window.__sameDocument = arguments[1];
                    window.__changedAt = null;
                    new MutationObserver(function () { if (window.__changedAt === null) { window.__changedAt = performance.now(); } })
                        .observe(el, {childList: true, characterData: true, subtree: true});
                    return el.textContent;""", selector, path)
                if found is None:
                    return False, f"no element {selector} on {path}", None
                before = found
                stored_before = stored_observations(args)
                ticks, outputs = append_observations(args, seed=seed)
                appended_at = driver.execute_script("return performance.now()")
                stored_after = stored_observations(args)
                if not (stored_before and stored_after and stored_after > stored_before):
                    return False, f"the store did not grow: {stored_before} → {stored_after}\n" + "\n".join(outputs), None
                changed_at = wait_for(lambda: driver.execute_script("return window.__changedAt"), args.live_timeout + 20, step=0.2)
                after = driver.execute_script("return document.querySelector(arguments[0]).textContent", selector)
                same = driver.execute_script("return window.__sameDocument === arguments[0]", path)
                severe, _ = console(driver)
                shot(driver, args, label)
                latency = None if changed_at is None else max(0.0, (changed_at - appended_at) / 1000)
                problems = []
                if latency is None:
                    problems.append(f"{selector} did not change within {args.live_timeout + 20:.0f} s")
                elif latency > args.live_timeout:
                    problems.append(f"{selector} changed only {latency:.1f} s after the sink stored the data (more than {args.live_timeout:.0f} s)")
                if not same:
                    problems.append("the page was reloaded")
                if severe:
                    problems.append("console errors: " + describe(severe))
                detail = (f"{before!r} → {after!r}, store {stored_before} → {stored_after} observations ({ticks} tick(s) appended), "
                          f"shown {'never' if latency is None else f'{latency:.1f} s'} after the sink ended, "
                          f"{'same document' if same else 'reloaded'}")
                return (not problems and after != before, detail + ("; " + "; ".join(problems) if problems else ""), after)

            def live_overview():
                ok, detail, after = live("/", '[data-figure="observations"]', 99, "overview-live")
                if ok and number(after) != stored_observations(args):
                    return False, detail + f"; the figure {after!r} is not the store's count"
                return ok, detail
            checks.run("the open overview updates with new observations, without a reload", live_overview)

            def live_table():
                selector = f'tr[data-place="{ordinary["place_id"]}"] td[data-field="observed_at"]'
                ok, detail, _ = live("/table", selector, 7, "table-live")
                return ok, f"{ordinary['name']} observed " + detail
            if ordinary is not None:
                checks.run("the open table updates a row with new observations, without a reload", live_table)
    except WebDriverException as e:
        checks.check("webdriver session", False, f"{type(e).__name__}: {e}")
    finally:
        try:
            driver.quit()
        except Exception:  # noqa: BLE001
            pass

    total = checks.passed + len(checks.failed)
    print(f"browser tests: {checks.passed} passed, {len(checks.failed)} failed" +
          (f" ({', '.join(checks.failed)})" if checks.failed else ""), flush=True)
    return 0 if not checks.failed and total > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
