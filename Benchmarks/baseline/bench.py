"""Issue 5, row 7: StreetSense next to the baselines users would write, in one run, on the same input.

(b) Offline: `streetsense replay --offline` next to `pandas_windows.py` on the same city-scale trace. Before any
timing, both run on a small trace with a timeline every 60 s, and every comparable value (sensor windows and
newest values, zone densities, coverage, density windows and percentiles) must agree: otherwise the run fails.

(a) Live: a real mosquitto on a free loopback port; per QoS (1, then 0), `paho_consumer.py` and then
`streetsense serve` each receive the same trace published at max by `streetsense replay --broker`. Their
sustained rates (messages between 10 % and 90 % of the trace arriving, over the time between) are compared,
as the end-to-end bench (row 3) compares StreetSense with mosquitto_sub. StreetSense's count comes from its
`/metrics` endpoint (`streetsense_messages_received_total`).

Prints markdown tables with each figure next to its reference and the ratio. `--smoke` uses tiny inputs, runs
everything once, and judges no timing. Run it with the virtual environment's Python (run.sh does).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CITY_SCALE = HERE.parent.parent / "simulators" / "scenarios" / "city-scale.yaml"
WINDOW_LABELS = ("1m", "5m", "15m", "1h")
WINDOW_STATS = ("count", "sum", "mean", "min", "max", "rate_per_minute")


class BenchFailure(Exception):
    """A step failed; the message says which and why."""


# MARK: Helpers


def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Runs a command, failing with its output if it exits non-zero."""
    completed = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, **kwargs)
    if completed.returncode != 0:
        raise BenchFailure(f"{' '.join(command)} exited with {completed.returncode}:\n{completed.stdout[-2000:]}{completed.stderr[-4000:]}")
    return completed


@dataclass(frozen=True)
class Timing:
    """One run of a command: wall-clock seconds, and the CPU seconds (user + system) it used."""

    wall: float
    cpu: float


def timed(command: list[str]) -> tuple[Timing, subprocess.CompletedProcess[str]]:
    """Wall-clock and CPU seconds of one run of a command (CPU time is what a shared machine cannot steal), and its result."""
    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    cpu_before, start = children_cpu(), time.perf_counter()
    completed = run(command)
    return Timing(wall=time.perf_counter() - start, cpu=children_cpu() - cpu_before), completed


def load_average() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def machine() -> str:
    """Cores and CPU model."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor())
    return f"{os.cpu_count()} cores, {model}"


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process has used (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def trace_messages(trace: Path) -> int:
    """Messages (lines) in a trace."""
    with trace.open("rb") as lines:
        return sum(1 for _ in lines)


def simulate(streetsense: str, directory: Path, name: str, sensors: int, duration: str) -> tuple[Path, Path]:
    """A city-scale trace and its configuration (`streetsense simulate --write-config`)."""
    trace = directory / f"{name}.jsonl"
    config_dir = directory / f"{name}-config"
    run([streetsense, "simulate", "--scenario", str(CITY_SCALE), "--seed", "7", "--sensors", str(sensors), "--duration", duration, "--out", str(trace), "--write-config", str(config_dir)])
    return trace, config_dir / "streetsense.yaml"


def sustained_rate(samples: list[tuple[float, int]], total: int) -> float | None:
    """Messages between the first samples at or past 10 % and 90 % of `total`, over the time between them."""
    if total <= 10:
        return None
    low = next((s for s in samples if s[1] >= total // 10), None)
    high = next((s for s in samples if s[1] >= total - total // 10), None)
    if low is None or high is None or high[1] <= low[1] or high[0] <= low[0]:
        return None
    return (high[1] - low[1]) / (high[0] - low[0])


def rate_text(rate: float | None) -> str:
    """A rate for the tables."""
    return "n/a" if rate is None else f"{rate:,.0f}"


def ratio_text(numerator: float | None, denominator: float | None) -> str:
    """numerator ÷ denominator for the tables."""
    if numerator is None or not denominator:
        return "n/a"
    return f"{numerator / denominator:.2f}×"


# MARK: Equality check


@dataclass
class Comparison:
    """Values compared between StreetSense's replay and pandas, and the ones that disagreed."""

    compared: int = 0
    mismatches: list[str] = field(default_factory=list)

    def value(self, where: str, expected: Any, actual: Any) -> None:
        """Compares one value (numbers within 1e-9 relative or absolute, anything else exactly)."""
        self.compared += 1
        if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
            if math.isclose(expected, actual, rel_tol=1e-9, abs_tol=1e-9):
                return
        elif expected == actual:
            return
        self.mismatches.append(f"{where}: streetsense {expected!r}, pandas {actual!r}")

    def windows(self, where: str, expected: dict[str, Any], actual: dict[str, Any]) -> None:
        """Compares count, sum, mean, min, max and rate of change of the four windows."""
        for label in WINDOW_LABELS:
            for stat in WINDOW_STATS:
                self.value(f"{where}.windows.{label}.{stat}", expected[label][stat], actual[label][stat])

    def snapshot(self, where: str, expected: dict[str, Any], actual: dict[str, Any]) -> None:
        """Compares one report or timeline line with the pandas snapshot of the same `as_of`."""
        self.value(f"{where}.as_of", expected["as_of"], actual["as_of"])
        pandas_zones = {zone["id"]: zone for zone in actual["zones"]}
        self.value(f"{where}.zones", sorted(z["id"] for z in expected["zones"]), sorted(pandas_zones))
        for zone in expected["zones"]:
            mine = pandas_zones.get(zone["id"])
            if mine is None:
                continue
            at = f"{where}.zones[{zone['id']}]"
            for key in ("people", "density_ppm2", "p50_density_15m", "p95_density_15m"):
                self.value(f"{at}.{key}", zone[key], mine[key])
            for key in ("sensors_used", "sensors_stale", "covered_m2"):
                self.value(f"{at}.coverage.{key}", zone["coverage"][key], mine["coverage"][key])
            self.windows(at, zone["windows"], mine["windows"])
        pandas_sensors = {(s["pilot"], s["id"]): s["metrics"] for s in actual["sensors"]}
        reported = {(s["pilot"], s["id"]): s["metrics"] for s in expected["sensors"] if s["metrics"]}
        self.value(f"{where}.sensors with readings", sorted(reported), sorted(pandas_sensors))
        for key, metrics in reported.items():
            mine = pandas_sensors.get(key, {})
            self.value(f"{where}.sensors[{key[0]}/{key[1]}].metrics", sorted(metrics), sorted(mine))
            for metric, summary in metrics.items():
                if metric not in mine:
                    continue
                at = f"{where}.sensors[{key[0]}/{key[1]}].{metric}"
                self.value(f"{at}.last", summary["last"], mine[metric]["last"])
                self.value(f"{at}.last_at", summary["last_at"], mine[metric]["last_at"])
                self.windows(at, summary["windows"], mine[metric]["windows"])


def silence_one_sensor(trace: Path) -> None:
    """Drops the first camera's messages from the last two thirds of a trace, so that it goes stale and its short
    windows empty (city-scale has no silences of its own)."""
    lines = trace.read_text().splitlines(keepends=True)
    topic = next(json.loads(line)["topic"] for line in lines if "/cam-" in line)
    cut = len(lines) // 3
    trace.write_text("".join(lines[:cut]) + "".join(line for line in lines[cut:] if json.loads(line)["topic"] != topic))


def check_equality(streetsense: str, python: str, directory: Path, sensors: int, duration: str) -> Comparison:
    """Replays a small trace with StreetSense and pandas (timeline every 60 s) and compares every comparable value."""
    trace, config = simulate(streetsense, directory, "check", sensors, duration)
    silence_one_sensor(trace)
    report, timeline, pandas_out = directory / "check.report.json", directory / "check.timeline.jsonl", directory / "check.pandas.json"
    run([streetsense, "replay", str(trace), "--offline", "--config", str(config), "--report", str(report), "--timeline", str(timeline), "--every", "60s"])
    run([python, str(HERE / "pandas_windows.py"), str(trace), "--config", str(config), "--out", str(pandas_out), "--every", "60s"])
    expected_report = json.loads(report.read_text())
    expected_timeline = [json.loads(line) for line in timeline.read_text().splitlines()]
    actual = json.loads(pandas_out.read_text())
    comparison = Comparison()
    comparison.value("timeline points", [p["as_of"] for p in expected_timeline], [p["as_of"] for p in actual["timeline"]])
    for expected, mine in zip(expected_timeline, actual["timeline"]):
        comparison.snapshot(f"timeline@{expected['as_of']}", expected, mine)
    comparison.snapshot("report", expected_report, actual)
    if comparison.mismatches:
        shown = "\n  ".join(comparison.mismatches[:40])
        raise BenchFailure(f"pandas and StreetSense disagree on {len(comparison.mismatches)} of {comparison.compared} values:\n  {shown}")
    return comparison


# MARK: Offline timing


@dataclass
class OfflineTiming:
    """Each run of StreetSense's offline replay and of pandas on one trace."""

    messages: int
    streetsense: list[Timing]
    pandas: list[Timing]
    streetsense_reported: list[str]


def time_offline(streetsense: str, python: str, trace: Path, config: Path, directory: Path, repetitions: int) -> OfflineTiming:
    """Alternates StreetSense and pandas runs on the same trace, `repetitions` times each."""
    timing = OfflineTiming(messages=trace_messages(trace), streetsense=[], pandas=[], streetsense_reported=[])
    for _ in range(repetitions):
        run_timing, completed = timed([streetsense, "replay", str(trace), "--offline", "--config", str(config), "--report", str(directory / "timed.report.json")])
        timing.streetsense.append(run_timing)
        timing.streetsense_reported.append(completed.stderr.strip().splitlines()[-1])
        run_timing, _ = timed([python, str(HERE / "pandas_windows.py"), str(trace), "--config", str(config), "--out", str(directory / "timed.pandas.json")])
        timing.pandas.append(run_timing)
    return timing


# MARK: Live


class Broker:
    """A mosquitto on a free loopback port, configured as the shipped configs are for throughput."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.config = directory / "mosquitto.conf"
        self.log = directory / "mosquitto.log"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\nmax_queued_messages 10000000\n"
            f"persistence false\nlog_dest file {self.log}\n"
        )
        mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.process = subprocess.Popen([mosquitto, "-c", str(self.config)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise BenchFailure(f"mosquitto did not listen on {self.port}: {self.log.read_text() if self.log.exists() else ''}")

    @property
    def url(self) -> str:
        """`mqtt://127.0.0.1:PORT`."""
        return f"mqtt://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Terminates the broker."""
        self.process.terminate()
        self.process.wait(timeout=10)


@dataclass
class LivePhase:
    """One subscriber receiving one publication of the trace."""

    subscriber: str
    qos: int
    published: int
    received: int = 0
    sustained_rate: float | None = None
    cpu_seconds: float | None = None
    publisher_rate: str = ""
    load_before: str = ""
    load_after: str = ""


def publish(streetsense: str, trace: Path, broker: Broker, client_id: str) -> subprocess.Popen[str]:
    """Starts `streetsense replay TRACE --broker … --speed max`."""
    return subprocess.Popen(
        [streetsense, "replay", str(trace), "--broker", broker.url, "--speed", "max", "--client-id", client_id],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def publisher_rate(publisher: subprocess.Popen[str]) -> str:
    """Waits for the publisher and returns the rate from its summary line (`published N messages in S s (R msg/s); …`)."""
    output, _ = publisher.communicate(timeout=600)
    if publisher.returncode != 0:
        raise BenchFailure(f"streetsense replay --broker failed ({publisher.returncode}):\n{output[-2000:]}")
    rate = re.search(r"\((\d+) msg/s\)", output)
    return f"{int(rate[1]):,} msg/s" if rate else output.strip()[-200:]


def run_paho(streetsense: str, python: str, trace: Path, broker: Broker, qos: int, messages: int, idle_timeout: float) -> LivePhase:
    """The paho consumer receives one publication of the trace."""
    phase = LivePhase(subscriber="paho-mqtt consumer", qos=qos, published=messages)
    consumer = subprocess.Popen(
        [python, str(HERE / "paho_consumer.py"), "--port", str(broker.port), "--qos", str(qos), "--expected", str(messages), "--idle-timeout", str(idle_timeout),
         "--client-id", f"baseline-paho-qos{qos}", "--windows-out", str(trace.parent / f"paho-windows-qos{qos}.json")],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert consumer.stdout is not None
    ready = consumer.stdout.readline()
    if "subscribed" not in ready:
        consumer.kill()
        raise BenchFailure(f"the paho consumer did not subscribe: {ready}{consumer.communicate()[1][-2000:]}")
    phase.load_before = load_average()
    publisher = publish(streetsense, trace, broker, f"baseline-replay-paho-qos{qos}")
    output, errors = consumer.communicate(timeout=3600)
    phase.load_after = load_average()
    phase.publisher_rate = publisher_rate(publisher)
    if consumer.returncode != 0:
        raise BenchFailure(f"the paho consumer failed ({consumer.returncode}): {errors[-2000:]}")
    result = json.loads(output.strip().splitlines()[-1])
    phase.received = result["received"]
    phase.sustained_rate = result["sustained_rate"]
    phase.cpu_seconds = result["cpu_s"]
    return phase


def messages_received(metrics_url: str) -> int:
    """`streetsense_messages_received_total`, summed over its labels."""
    with urllib.request.urlopen(metrics_url, timeout=5) as response:
        text = response.read().decode()
    return sum(int(float(line.rsplit(" ", 1)[1])) for line in text.splitlines() if line.startswith("streetsense_messages_received_total"))


def run_streetsense(streetsense: str, trace: Path, config: Path, broker: Broker, qos: int, messages: int, directory: Path, idle_timeout: float) -> LivePhase:
    """`streetsense serve` (event clock, fresh SQLite) receives one publication of the trace."""
    phase = LivePhase(subscriber="StreetSense (serve)", qos=qos, published=messages)
    http_port = free_port()
    state = Path(tempfile.mkdtemp(prefix=f"serve-qos{qos}-", dir=directory))
    environment = os.environ | {
        "STREETSENSE_MQTT_URL": broker.url,
        "STREETSENSE_MQTT_CLIENT_ID": f"baseline-streetsense-qos{qos}",
        "STREETSENSE_HTTP_LISTEN": f"127.0.0.1:{http_port}",
        "STREETSENSE_STORE_SQLITE_PATH": str(state / "streetsense.sqlite"),
        "STREETSENSE_PIPELINE_CLOCK": "event",
    }
    log = (state / "serve.log").open("w")
    service = subprocess.Popen([streetsense, "serve", "--config", str(config)], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=environment)
    metrics_url = f"http://127.0.0.1:{http_port}/metrics"
    try:
        # Ready once a probe (not JSON: counted as a rejected message) has come through the broker.
        deadline = time.monotonic() + 60
        baseline = 0
        while baseline == 0:
            if time.monotonic() > deadline or service.poll() is not None:
                raise BenchFailure(f"streetsense serve did not receive a probe: {(state / 'serve.log').read_text()[-3000:]}")
            subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1", "-t", "streetsense/v1/readings/bench/probe", "-m", "probe"], stdin=subprocess.DEVNULL, check=False)
            time.sleep(0.3)
            try:
                baseline = messages_received(metrics_url)
            except OSError:
                continue
        time.sleep(0.6)
        baseline = messages_received(metrics_url)
        phase.load_before = load_average()
        cpu_before = cpu_seconds(service.pid)
        start = time.monotonic()
        publisher = publish(streetsense, trace, broker, f"baseline-replay-streetsense-qos{qos}")
        samples: list[tuple[float, int]] = [(start, 0)]
        while True:
            time.sleep(0.02)
            count = messages_received(metrics_url) - baseline
            now = time.monotonic()
            if count != samples[-1][1]:
                samples.append((now, count))
            if count >= messages and publisher.poll() is not None:
                break
            if now - samples[-1][0] > idle_timeout and (publisher.poll() is not None or count == 0 and now - start > 60):
                break
        phase.cpu_seconds = cpu_seconds(service.pid) - cpu_before
        phase.load_after = load_average()
        phase.publisher_rate = publisher_rate(publisher)
        phase.received = samples[-1][1]
        phase.sustained_rate = sustained_rate(samples, messages)
    finally:
        service.send_signal(signal.SIGTERM)
        try:
            service.wait(timeout=60)
        except subprocess.TimeoutExpired:
            service.kill()
        log.close()
    return phase


def with_qos(trace: Path, qos: int, directory: Path) -> Path:
    """A copy of a trace with every message at `qos`."""
    copy = directory / f"{trace.stem}-qos{qos}.jsonl"
    pattern = re.compile(r',"qos":\d}$')
    with trace.open() as source, copy.open("w") as target:
        for line in source:
            target.write(pattern.sub(f',"qos":{qos}}}', line.rstrip("\n")) + "\n")
    return copy


# MARK: Main


def main() -> None:
    """Runs the equality check, the offline timing and the live comparison, and prints the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streetsense", required=True, help="the streetsense executable (release for timing)")
    parser.add_argument("--smoke", action="store_true", help="tiny inputs, everything once, no timing judged")
    parser.add_argument("--sensors", type=int, default=10_000, help="city-scale sensors of the timed trace")
    parser.add_argument("--duration", default="30m", help="event time of the timed trace")
    parser.add_argument("--repetitions", type=int, default=3, help="offline runs of each side")
    parser.add_argument("--qos", type=int, nargs="+", default=[1, 0], choices=(0, 1))
    parser.add_argument("--work-dir", type=Path, default=Path(".build/baseline-work"))
    arguments = parser.parse_args()
    if arguments.smoke:
        arguments.sensors, arguments.duration, arguments.repetitions = 40, "5m", 1
    python = sys.executable
    streetsense = str(Path(arguments.streetsense).resolve())
    shutil.rmtree(arguments.work_dir, ignore_errors=True)
    arguments.work_dir.mkdir(parents=True)
    directory = arguments.work_dir.resolve()

    print(f"# Baselines users would write (issue 5, row 7){' — smoke run, timings not judged' if arguments.smoke else ''}\n")
    print(f"- machine: {machine()}; {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; load {load_average()}")
    versions = run([python, "-c", "import numpy, pandas, paho.mqtt; print(f'pandas {pandas.__version__}, numpy {numpy.__version__}, paho-mqtt {paho.mqtt.__version__}')"]).stdout.strip()
    print(f"- Python {platform.python_version()}, {versions}; streetsense {streetsense}")

    check_sensors, check_duration = (20, "12m") if arguments.smoke else (30, "75m")
    comparison = check_equality(streetsense, python, directory, check_sensors, check_duration)
    print(f"- equality check: city-scale {check_sensors} sensors, {check_duration}, timeline every 60 s: {comparison.compared} values equal "
          "(sensor last/last_at and 1m/5m/15m/1h count, sum, mean, min, max, rate_per_minute; zone density, people, coverage, density windows, p50/p95)\n",
          flush=True)

    trace, config = simulate(streetsense, directory, "city", arguments.sensors, arguments.duration)
    messages = trace_messages(trace)
    print(f"- timed trace: city-scale, {arguments.sensors} sensors, {arguments.duration} of event time, {messages} messages, "
          f"{trace.stat().st_size / 1e6:.0f} MB\n", flush=True)

    load_before = load_average()
    offline = time_offline(streetsense, python, trace, config, directory, arguments.repetitions)
    print("## (b) Offline: the same windows over the same trace (whole process, wall clock and CPU, best of "
          f"{arguments.repetitions}; load {load_before} → {load_average()})\n")
    print("| | wall s (each run) | CPU s (each run) | msg/s (best wall) | msg/s (best CPU) |")
    print("|---|---|---|---|---|")
    for name, runs in (("`streetsense replay --offline --report`", offline.streetsense), ("`pandas_windows.py` (pandas rolling)", offline.pandas)):
        print(f"| {name} | {', '.join(f'{r.wall:.2f}' for r in runs)} | {', '.join(f'{r.cpu:.2f}' for r in runs)} | "
              f"{rate_text(messages / min(r.wall for r in runs))} | {rate_text(messages / min(r.cpu for r in runs))} |")
    ratios = []
    for measure, name in (("wall", "wall clock"), ("cpu", "CPU time")):
        best = min(getattr(r, measure) for r in offline.pandas) / min(getattr(r, measure) for r in offline.streetsense)
        median = statistics.median(getattr(r, measure) for r in offline.pandas) / statistics.median(getattr(r, measure) for r in offline.streetsense)
        ratios.append(f"{name} {best:.1f}× (best runs), {median:.1f}× (medians)")
    print(f"\n**StreetSense ÷ pandas** (target ≥ 10×): {'; '.join(ratios)}.")
    print(f"StreetSense's own line (last run): `{offline.streetsense_reported[-1]}`\n", flush=True)

    broker = Broker(directory)
    phases: list[tuple[LivePhase, LivePhase]] = []
    idle_timeout = 5.0 if arguments.smoke else 10.0
    try:
        for qos in arguments.qos:
            qos_trace = with_qos(trace, qos, directory)
            paho = run_paho(streetsense, python, qos_trace, broker, qos, messages, idle_timeout)
            print(f"- QoS {qos} paho: {paho.received}/{messages}, sustained {rate_text(paho.sustained_rate)} msg/s", flush=True)
            service = run_streetsense(streetsense, qos_trace, config, broker, qos, messages, directory, idle_timeout)
            print(f"- QoS {qos} StreetSense: {service.received}/{messages}, sustained {rate_text(service.sustained_rate)} msg/s", flush=True)
            phases.append((paho, service))
            qos_trace.unlink()
    finally:
        broker.stop()
    print(f"\n## (a) Live: the same trace published at max through one mosquitto (port {broker.port}), one subscriber at a time\n")
    print("| QoS | subscriber | received / published | sustained msg/s | subscriber CPU s | load before → after | publisher | StreetSense ÷ paho |")
    print("|---|---|---|---|---|---|---|---|")
    for paho, service in phases:
        for phase in (paho, service):
            ratio = ratio_text(service.sustained_rate, paho.sustained_rate) if phase is service else ""
            cpu = "n/a" if phase.cpu_seconds is None else f"{phase.cpu_seconds:.1f}"
            print(f"| {phase.qos} | {phase.subscriber} | {phase.received} / {phase.published} | {rate_text(phase.sustained_rate)} | "
                  f"{cpu} | {phase.load_before} → {phase.load_after} | {phase.publisher_rate} | {ratio} |")
    lost = [f"QoS 1 {p.subscriber}: {p.published - p.received}" for pair in phases for p in pair if p.qos == 1 and p.received != p.published]
    if lost:
        print(f"\nQoS 1 messages not received: {'; '.join(lost)}")
    if arguments.smoke:
        print("\nsmoke run: equality checked, every step ran once; timings are not judged")
    if lost and arguments.smoke:
        raise BenchFailure("messages were lost at QoS 1 in the smoke run")


if __name__ == "__main__":
    try:
        main()
    except BenchFailure as failure:
        print(f"\nbaseline bench failed: {failure}", file=sys.stderr)
        sys.exit(1)
