"""Issue 5, row 7 (a): the live baseline a user would write, a paho-mqtt consumer with per-sensor rolling windows.

Subscribes to the readings topics, parses every payload with `json.loads`, and keeps, per sensor and metric, the
windows StreetSense keeps (1m, 5m, 15m, 1h on the reading's own time `t`): a `collections.deque` of (t, value)
per window with a running sum, old readings evicted as new ones arrive; count, mean, min and max come from the
deque when asked. Runs until it has received `--expected` messages or nothing arrived for `--idle-timeout`
seconds, then prints one JSON object on standard output:
`{"received", "invalid", "readings", "series", "elapsed_s", "overall_rate", "sustained_rate", "cpu_s", ...}`,
and with `--windows-out FILE` writes every series' window summaries there (after the measurement).

The sustained rate is measured as in the end-to-end bench (row 3): messages between the moments 10 % and 90 % of
the expected messages had arrived, over the time between them. A line `{"event": "subscribed"}` is printed as
soon as the broker acknowledged the subscription, so a driver can start the publisher then.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import threading
import time
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

#: Payload keys that are readings (StreetSense's metric vocabulary).
METRICS = frozenset(("people", "people_in", "people_out", "devices", "pm2_5", "pm10", "no2", "o3", "co2", "noise", "temperature", "humidity"))
#: Window label → length in seconds.
WINDOW_SECONDS = {"1m": 60.0, "5m": 300.0, "15m": 900.0, "1h": 3600.0}


class RollingWindow:
    """The readings of the last `length` seconds before the newest one, with their running sum."""

    def __init__(self, length: float) -> None:
        self.length = length
        self.readings: deque[tuple[float, float]] = deque()
        self.total = 0.0

    def add(self, t: float, value: float) -> None:
        """Adds a reading and evicts those at or before t − length."""
        self.readings.append((t, value))
        self.total += value
        horizon = t - self.length
        while self.readings[0][0] <= horizon:
            self.total -= self.readings.popleft()[1]

    def summary(self) -> dict[str, float | int | None]:
        """count, sum, mean, min and max of the window."""
        values = [value for _, value in self.readings]
        count = len(values)
        return {
            "count": count,
            "sum": self.total,
            "mean": self.total / count if count else None,
            "min": min(values) if values else None,
            "max": max(values) if values else None,
        }


class WindowConsumer:
    """Counts messages and keeps rolling windows per (topic, metric)."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.windows: dict[tuple[str, str], dict[str, RollingWindow]] = {}
        self.received = 0
        self.invalid = 0
        self.readings = 0
        self.first_at: float | None = None
        self.last_at: float | None = None
        self.low_mark = max(1, expected // 10)
        self.high_mark = max(1, expected - expected // 10)
        self.low_at: float | None = None
        self.high_at: float | None = None
        self.subscribed = threading.Event()

    def on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        """Subscribes once connected."""
        client.subscribe(userdata["topic"], qos=userdata["qos"])

    def on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reason_codes: Any, properties: Any) -> None:
        """Tells the driver the subscription is in place."""
        print(json.dumps({"event": "subscribed"}), flush=True)
        self.subscribed.set()

    def on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        """Parses one payload and feeds its readings to their windows."""
        now = time.monotonic()
        self.received += 1
        if self.first_at is None:
            self.first_at = now
        self.last_at = now
        if self.received == self.low_mark:
            self.low_at = now
        if self.received == self.high_mark:
            self.high_at = now
        try:
            payload = json.loads(message.payload)
            stamp = payload["t"]
            t = datetime.fromisoformat(stamp).timestamp() if isinstance(stamp, str) else float(stamp)
        except (ValueError, KeyError, TypeError):
            self.invalid += 1
            return
        for metric, value in payload.items():
            if metric not in METRICS:
                continue
            series = self.windows.get((message.topic, metric))
            if series is None:
                series = {label: RollingWindow(length) for label, length in WINDOW_SECONDS.items()}
                self.windows[(message.topic, metric)] = series
            for window in series.values():
                window.add(t, float(value))
            self.readings += 1

    def window_summaries(self) -> dict[str, dict[str, dict[str, float | int | None]]]:
        """`{"TOPIC metric": {"1m": {count, sum, mean, min, max}, ...}}` for every series."""
        return {f"{topic} {metric}": {label: window.summary() for label, window in series.items()} for (topic, metric), series in self.windows.items()}

    def result(self) -> dict[str, Any]:
        """The run's figures."""
        elapsed = (self.last_at - self.first_at) if self.first_at is not None and self.last_at is not None else 0.0
        sustained = None
        if self.low_at is not None and self.high_at is not None and self.high_at > self.low_at:
            sustained = (self.high_mark - self.low_mark) / (self.high_at - self.low_at)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "received": self.received,
            "expected": self.expected,
            "invalid": self.invalid,
            "readings": self.readings,
            "series": len(self.windows),
            "elapsed_s": elapsed,
            "overall_rate": self.received / elapsed if elapsed > 0 else None,
            "sustained_rate": sustained,
            "cpu_s": usage.ru_utime + usage.ru_stime,
        }


def main() -> None:
    """Command line: `paho_consumer.py --port P --expected N [--qos 1] [--idle-timeout 5]`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--topic", default="streetsense/v1/readings/#")
    parser.add_argument("--qos", type=int, choices=(0, 1), default=1)
    parser.add_argument("--client-id", default="baseline-paho-consumer")
    parser.add_argument("--expected", type=int, required=True, help="stop after this many messages")
    parser.add_argument("--idle-timeout", type=float, default=5.0, help="stop after this many seconds without a message")
    parser.add_argument("--connect-timeout", type=float, default=30.0, help="give up if not subscribed by then")
    parser.add_argument("--windows-out", type=Path, help="write every series' window summaries here at the end")
    parser.add_argument("--start-timeout", type=float, default=60.0, help="stop if the first message has not arrived by then")
    arguments = parser.parse_args()

    consumer = WindowConsumer(arguments.expected)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=arguments.client_id, userdata={"topic": arguments.topic, "qos": arguments.qos})
    client.on_connect = consumer.on_connect
    client.on_subscribe = consumer.on_subscribe
    client.on_message = consumer.on_message
    client.connect(arguments.host, arguments.port)
    client.loop_start()
    if not consumer.subscribed.wait(arguments.connect_timeout):
        client.loop_stop()
        sys.exit(f"not subscribed to {arguments.host}:{arguments.port} within {arguments.connect_timeout} s")
    # Until every expected message arrived, or nothing did for the idle timeout (the start timeout before the first).
    idle_since = time.monotonic()
    seen = 0
    while consumer.received < arguments.expected:
        time.sleep(0.05)
        if consumer.received != seen:
            seen, idle_since = consumer.received, time.monotonic()
        elif time.monotonic() - idle_since > (arguments.idle_timeout if seen else arguments.start_timeout):
            break
    client.disconnect()
    client.loop_stop()
    if arguments.windows_out:
        arguments.windows_out.write_text(json.dumps(consumer.window_summaries()) + "\n")
    print(json.dumps(consumer.result()), flush=True)


if __name__ == "__main__":
    main()
