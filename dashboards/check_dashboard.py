#!/usr/bin/python3
"""Drives the StreetSense dashboard in headless Chromium (Debian chromium + chromium-driver + python3-selenium).

Run by the Swift test DashboardBrowserTests, which starts mosquitto and the service and publishes readings.
This script only looks and clicks; it writes what it saw to a JSON report and the Swift test asserts on it:

  1. opens the page at 1366x768, waits for the zones and --markers sensor markers on the map (noting each marker's
     status as first drawn) and for the alert feed to connect;
  2. waits until every zone named by --level shows that level and every marker named by --marker-status that
     status (markers are redrawn on every poll), reads each marker's colours and the tooltip of --tooltip;
  3. waits for an active alert of --ack-rule in the feed, clicks Acknowledge, answers the token dialog with
     --token, and waits until the row says acknowledged;
  4. opens the zone panel of --zone and reads the chart's datasets;
  5. filters the sensor table by --pilot;
  6. saves a screenshot at 1366x768 and 1920x1080 (checking that the panels fit the viewport);
  7. collects every browser console message;
  8. with --stop-signal, writes the report so far to that file, waits for the test to stop the service, and
     checks that the page shows the disconnected banner (console messages after the stop are kept apart:
     the page's requests to a stopped service fail, as they should).

Exit status 0 when every step ran, 1 when one timed out (the report says which), 2 on bad arguments.
"""

import argparse
import json
import os
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

SIZES = [(1366, 768), (1920, 1080)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True, help="the operator token typed into the dialog")
    parser.add_argument("--zones", type=int, required=True, help="how many zone polygons the map must show")
    parser.add_argument("--level", action="append", default=[], metavar="ZONE=LEVEL")
    parser.add_argument("--markers", type=int, required=True, help="how many sensor markers the map must show")
    parser.add_argument("--marker-status", action="append", default=[], metavar="PILOT/SENSOR=STATUS",
                        help="a status the sensor's marker must come to show")
    parser.add_argument("--tooltip", required=True, metavar="PILOT/SENSOR", help="the marker whose tooltip is read")
    parser.add_argument("--ack-rule", required=True)
    parser.add_argument("--zone", required=True, help="the zone whose panel is opened")
    parser.add_argument("--pilot", required=True, help="the pilot the sensor table is filtered by")
    parser.add_argument("--reason", action="append", default=[], metavar="SENSOR=REASON",
                        help="a reject reason the filtered table must come to show for a sensor")
    parser.add_argument("--out", required=True, help="folder for the screenshots")
    parser.add_argument("--report", required=True)
    parser.add_argument("--stop-signal", help="file written when the service may be stopped")
    parser.add_argument("--timeout", type=float, default=90)
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    levels = dict(item.split("=", 1) for item in args.level)
    marker_statuses = dict(item.split("=", 1) for item in args.marker_status)
    os.makedirs(args.out, exist_ok=True)

    report = {"steps": [], "console": [], "screenshots": [], "failure": None}
    options = webdriver.ChromeOptions()
    options.binary_location = args.chromium
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1366,768",
                 "--hide-scrollbars", "--force-color-profile=srgb"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(args.chromedriver), options=options)
    wait = WebDriverWait(driver, args.timeout, poll_frequency=0.2)

    def step(name, condition):
        report["steps"].append(name)
        try:
            return wait.until(lambda d: condition(d))
        except TimeoutException:
            raise StepFailed(f"timed out after {args.timeout} s: {name}")

    try:
        viewport(driver, *SIZES[0])
        driver.get(args.url)
        step("zones on the map", lambda d: len(d.find_elements(By.CSS_SELECTOR, "path[data-zone]")) == args.zones)
        step(f"{args.markers} sensor markers on the map",
             lambda d: len(d.find_elements(By.CSS_SELECTOR, "path[data-sensor-marker]")) == args.markers)
        report["markers_at_load"] = {key: marker["status"] for key, marker in markers(driver).items()}
        step("alert feed connected", lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-feed") == "connected")
        step("sensor table loaded", lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-sensors") == "loaded")
        step("zone levels " + ", ".join(f"{z}={l}" for z, l in levels.items()),
             lambda d: all(zone_attribute(d, zone, "data-level") == level for zone, level in levels.items()))
        report["zones"] = {
            element.get_attribute("data-zone"): {"level": element.get_attribute("data-level"), "fill": element.get_attribute("fill")}
            for element in driver.find_elements(By.CSS_SELECTOR, "path[data-zone]")
        }
        report["labels"] = {
            element.get_attribute("data-zone-label"): element.text
            for element in driver.find_elements(By.CSS_SELECTOR, "[data-zone-label]")
        }
        step("sensor markers " + ", ".join(f"{s}={status}" for s, status in marker_statuses.items()),
             lambda d: all(markers(d).get(key, {}).get("status") == status for key, status in marker_statuses.items()))
        report["markers"] = markers(driver)
        for marker in report["markers"].values():
            marker["contrast"] = contrast_ratio(marker["fill"], marker["stroke"])
        report["sensor_legend"] = driver.find_element(By.ID, "sensor-legend").text
        # Hovering a marker opens its tooltip (the mouse event at the marker's centre, as a pointer would send it).
        driver.execute_script("""
            const marker = document.querySelector(`path[data-sensor-marker='${arguments[0]}']`);
            const box = marker.getBoundingClientRect();
            marker.dispatchEvent(new MouseEvent('mouseover', {bubbles: true, clientX: box.x + box.width / 2, clientY: box.y + box.height / 2}));""",
            args.tooltip)
        report["tooltip"] = step(f"the tooltip of {args.tooltip}",
                                 lambda d: first([e.text for e in d.find_elements(By.CSS_SELECTOR, ".sensor-tip") if e.is_displayed()]))
        driver.execute_script(
            "document.querySelector(`path[data-sensor-marker='${arguments[0]}']`).dispatchEvent(new MouseEvent('mouseout', {bubbles: true}))",
            args.tooltip)

        # The alert raised after the page connected arrives on the SSE stream; acknowledge it from the page.
        selector = f"li.alert[data-rule='{args.ack_rule}'][data-state='active']"
        row = step(f"an active {args.ack_rule} alert in the feed", lambda d: first(d.find_elements(By.CSS_SELECTOR, selector)))
        alert_id = row.get_attribute("data-alert-id")
        report["feed_before_ack"] = feed_rows(driver)
        row.find_element(By.CSS_SELECTOR, "button.ack").click()
        dialog_input = step("the token dialog", lambda d: visible(d.find_element(By.ID, "token-input")))
        dialog_input.send_keys(args.token)
        driver.find_element(By.ID, "token-submit").click()
        step(f"alert {alert_id} acknowledged on the page", lambda d: d.find_elements(
            By.CSS_SELECTOR, f"li.alert[data-alert-id='{alert_id}'][data-acknowledged='true']"))
        report["acknowledged"] = {
            "alert_id": int(alert_id),
            "text": driver.find_element(By.CSS_SELECTOR, f"li.alert[data-alert-id='{alert_id}'] .acked").text,
            "token_kept": driver.execute_script("return sessionStorage.getItem('streetsense.operator_token')") == args.token,
            "button_left": len(driver.find_elements(By.CSS_SELECTOR, f"li.alert[data-alert-id='{alert_id}'] button.ack")),
        }
        report["feed"] = feed_rows(driver)
        report["contrast"] = contrast(driver)
        report["banner_hidden"] = driver.find_element(By.ID, "feed-banner").get_attribute("hidden") is not None

        # The zone panel: click the zone's polygon.
        driver.execute_script(
            "document.querySelector(`path[data-zone='${arguments[0]}']`).dispatchEvent(new MouseEvent('click', {bubbles: true}))", args.zone)
        step(f"the panel of {args.zone}", lambda d: d.find_element(By.ID, "zone-detail").get_attribute("data-zone") == args.zone
             and d.execute_script("return !!Chart.getChart(document.getElementById('zone-chart'))"))
        report["zone_panel"] = driver.execute_script("""
            const chart = Chart.getChart(document.getElementById('zone-chart'));
            return {
              title: document.getElementById('zone-title').textContent,
              level: document.querySelector('#zone-facts [data-level]').getAttribute('data-level'),
              facts: document.getElementById('zone-facts').innerText,
              sensors: [...document.querySelectorAll('#zone-sensors [data-sensor]')].map((e) => e.getAttribute('data-sensor')),
              datasets: chart.data.datasets.map((d) => ({label: d.label, points: d.data.length, first: d.data.length ? d.data[0].y : null})),
            };""")

        # The sensor table filtered by one pilot.
        driver.execute_script(
            "const s = document.getElementById('pilot-filter'); s.value = arguments[0]; s.dispatchEvent(new Event('change'));", args.pilot)
        for item in args.reason:
            sensor, reason = item.split("=", 1)
            step(f"{sensor} listed with rejects of {reason}", lambda d: d.find_elements(
                By.CSS_SELECTOR, f"#sensors tbody tr[data-sensor='{sensor}'] [data-reason='{reason}']"))
        report["filtered_pilots"] = driver.execute_script(
            "return [...document.querySelectorAll('#sensors tbody tr')].map((r) => r.getAttribute('data-pilot'))")
        report["filtered_rows"] = driver.execute_script("""
            return [...document.querySelectorAll('#sensors tbody tr')].map((r) => ({
              sensor: r.getAttribute('data-sensor'), status: r.getAttribute('data-status'),
              reasons: [...r.querySelectorAll('[data-reason]')].map((c) => c.getAttribute('data-reason'))}))""")
        report["url_after_filter"] = driver.current_url

        # Screenshots: at each size, the panels fit the viewport and the page does not scroll.
        report["layout"] = {}
        for width, height in SIZES:
            viewport(driver, width, height)
            time.sleep(1.0)  # let Leaflet and Chart.js redraw after the resize (not an assertion)
            path = os.path.join(args.out, f"dashboard-{width}x{height}.png")
            driver.save_screenshot(path)
            report["screenshots"].append(path)
            report["layout"][f"{width}x{height}"] = driver.execute_script("""
                const panels = [...document.querySelectorAll('.panel')].map((p) => p.getBoundingClientRect());
                return {
                  viewport: [innerWidth, innerHeight],
                  page: [document.documentElement.scrollWidth, document.documentElement.scrollHeight],
                  panels_inside: panels.every((r) => r.left >= 0 && r.top >= 0 && r.right <= innerWidth + 0.5 && r.bottom <= innerHeight + 0.5),
                  smallest_panel: [Math.min(...panels.map((r) => r.width)), Math.min(...panels.map((r) => r.height))],
                };""")
        report["console"] = console(driver)
        if args.stop_signal:
            with open(args.stop_signal + ".tmp", "w") as file:
                json.dump(report, file, indent=2)
            os.replace(args.stop_signal + ".tmp", args.stop_signal)
            viewport(driver, *SIZES[0])
            banner = step("the disconnected banner after the service stopped",
                          lambda d: visible(d.find_element(By.ID, "feed-banner")))
            report["banner_after_stop"] = banner.text
            report["feed_state_after_stop"] = driver.find_element(By.TAG_NAME, "body").get_attribute("data-feed")
            path = os.path.join(args.out, "dashboard-disconnected.png")
            driver.save_screenshot(path)
            report["screenshots"].append(path)
            report["console_after_stop"] = console(driver)
    except StepFailed as failure:
        report["failure"] = str(failure)
        try:
            driver.save_screenshot(os.path.join(args.out, "dashboard-failure.png"))
        except WebDriverException:
            pass
        report["console"] += console(driver)
    finally:
        driver.quit()
    with open(args.report, "w") as file:
        json.dump(report, file, indent=2)
    return 1 if report["failure"] else 0


class StepFailed(Exception):
    pass


def console(driver):
    """The browser console messages since the last call."""
    return [{"level": entry["level"], "message": entry["message"], "source": entry.get("source")} for entry in driver.get_log("browser")]


def contrast(driver):
    """The WCAG contrast ratio of the text on every coloured badge, button and header, and of the muted text."""
    return driver.execute_script("""
        const rgb = (text) => text.match(/[\\d.]+/g).slice(0, 3).map(Number);
        const luminance = (c) => {
          const [r, g, b] = c.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
          return 0.2126 * r + 0.7152 * g + 0.0722 * b;
        };
        const background = (e) => {
          for (; e; e = e.parentElement) {
            const c = getComputedStyle(e).backgroundColor;
            if (c && !c.startsWith('rgba(0, 0, 0, 0)') && c !== 'transparent') return rgb(c);
          }
          return [255, 255, 255];
        };
        const selectors = ['.swatch', '.sev', 'button', 'header.top h1', 'header.top .summary', '.alert .meta', '.facts dt',
                           '.sensors .pilot', '.chip', '.acked', '.empty', '.zone-label', '.sensor-legend', '.sensor-legend .key'];
        const results = [];
        for (const selector of selectors) {
          for (const e of document.querySelectorAll(selector)) {
            if (!e.offsetParent && getComputedStyle(e).position !== 'fixed') continue;
            const [a, b] = [luminance(rgb(getComputedStyle(e).color)), luminance(background(e))];
            results.push({selector, text: e.textContent.trim().slice(0, 30), ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)});
          }
        }
        return results;""")


def markers(driver):
    """Every sensor marker on the map by pilot/sensor: its status and the colours Leaflet gave it."""
    return driver.execute_script("""
        const result = {};
        for (const e of document.querySelectorAll('path[data-sensor-marker]')) {
          result[e.getAttribute('data-sensor-marker')] = {
            status: e.getAttribute('data-status'), fill: e.getAttribute('fill'), stroke: e.getAttribute('stroke'),
            fill_opacity: e.getAttribute('fill-opacity')};
        }
        return result;""")


def contrast_ratio(first_colour, second_colour):
    """The WCAG contrast ratio of two #rrggbb colours."""
    def luminance(colour):
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    a, b = sorted([luminance(first_colour), luminance(second_colour)], reverse=True)
    return round((a + 0.05) / (b + 0.05), 2)


def viewport(driver, width, height):
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


def zone_attribute(driver, zone, name):
    elements = driver.find_elements(By.CSS_SELECTOR, f"path[data-zone='{zone}']")
    return elements[0].get_attribute(name) if elements else None


def first(elements):
    return elements[0] if elements else None


def visible(element):
    return element if element.is_displayed() else None


def feed_rows(driver):
    return driver.execute_script("""
        return [...document.querySelectorAll('#feed li.alert')].map((li) => ({
          id: Number(li.getAttribute('data-alert-id')), rule: li.getAttribute('data-rule'), state: li.getAttribute('data-state'),
          acknowledged: li.getAttribute('data-acknowledged') === 'true', severity: [...li.classList].find((c) => c.startsWith('severity-')),
          text: li.innerText}))""")


if __name__ == "__main__":
    sys.exit(main())
