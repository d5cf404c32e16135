"""Issue 5, row 7 (b): the offline baseline a user would write, pandas rolling windows over a StreetSense trace.

Reads a trace (JSON Lines, simulators/README.md) and the configuration it is replayed with, and computes what
`streetsense replay --offline` reports for the same input:

- per sensor and metric: the newest value and its time, and the 1m, 5m, 15m and 1h windows (count, sum, mean,
  min, max, and the rate of change per minute) with time-based `rolling`;
- per zone: the density (people per m² over the fresh sensors that cover it), its coverage, the windows of the
  density series sampled every 5 s of event time, and the nearest-rank p50/p95 of the last 15 minutes of samples.

Window semantics are StreetSense's (DESIGN §4): "now" is the newest reading time, and a window of length w at
now holds the readings whose bucket (10 s for 1m and 5m, 60 s for 15m and 1h) lies within w of now's bucket.
A user gets exactly that by flooring the timestamps to the bucket width before `rolling(w)`.

Not reproduced (the equality check compares around them): sensor status and counts, alerts, rejects and late
readings (a trace with faults would need StreetSense's validation rules).

The output is one JSON document: `{"as_of", "zones", "sensors"}` for the final state, plus `"timeline"`, a list
of such snapshots every `--every` of event time, when asked for.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

#: StreetSense's metric vocabulary (payload keys that are readings).
METRICS = ("people", "people_in", "people_out", "devices", "pm2_5", "pm10", "no2", "o3", "co2", "noise", "temperature", "humidity")
#: Window label → (length, bucket width).
WINDOWS = {"1m": ("60s", "10s"), "5m": ("300s", "10s"), "15m": ("900s", "60s"), "1h": ("3600s", "60s")}
#: What each window reports.
WINDOW_STATISTICS = ("count", "sum", "mean", "min", "max", "rate_per_minute")
#: Zone densities are sampled at multiples of this much event time.
ZONE_SAMPLE_INTERVAL = pd.Timedelta("5s")
#: The zone percentiles cover this much of the density series.
PERCENTILE_SPAN = pd.Timedelta("15min")
SERIES_KEYS = ["pilot", "sensor", "metric"]


@dataclass(frozen=True)
class Registry:
    """The zones and sensors of a StreetSense configuration, as the density computation needs them."""

    zone_areas: dict[str, float]
    sensors: pd.DataFrame  # pilot, sensor, zone, kind, factor, covered_m2, stale_after (Timedelta)

    @staticmethod
    def load(config_path: Path) -> Registry:
        """Reads `streetsense.yaml` and the zones file it names."""
        # libyaml's loader when PyYAML has it: the pure-Python one takes seconds for a city of sensors.
        config = yaml.load(config_path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        zones_file = config_path.parent / config["zones_file"]
        features = json.loads(zones_file.read_text())["features"]
        zone_areas = {f["properties"]["id"]: float(f["properties"]["area_m2"]) for f in features}
        sensors = pd.DataFrame(
            [
                {
                    "pilot": s["pilot"],
                    "sensor": s["id"],
                    "zone": s["zone"],
                    "kind": s["kind"],
                    "factor": float(s.get("factor", 1)),
                    "covered_m2": float(s["covered_m2"]) if "covered_m2" in s else math.nan,
                    "stale_after": pd.Timedelta(seconds=s.get("stale_after_s", 300)),
                }
                for s in config["sensors"]
            ]
        )
        sensors["covered_m2"] = sensors["covered_m2"].fillna(sensors["zone"].map(zone_areas))
        return Registry(zone_areas=zone_areas, sensors=sensors)


def load_readings(trace: Path) -> pd.DataFrame:
    """One row per reading: message (trace order), pilot, sensor, t, metric, value; duplicates dropped."""
    lines = pd.read_json(trace, lines=True, dtype=False)
    payloads = pd.DataFrame.from_records(lines["payload"].map(json.loads).tolist())
    topic = lines["topic"].str.rsplit("/", n=2, expand=True)
    arrival = pd.to_datetime(lines["at"], utc=True, format="ISO8601")
    t = pd.to_datetime(payloads["t"], utc=True, format="ISO8601").fillna(arrival)
    wide = payloads.drop(columns=["t"]).assign(message=np.arange(len(lines)), pilot=topic[1], sensor=topic[2], t=t)
    metrics = [m for m in METRICS if m in wide.columns]
    columns = wide.set_index(["message", "pilot", "sensor", "t"])[metrics].astype(float).rename_axis(columns="metric")
    readings = columns.stack(future_stack=True).dropna().rename("value").reset_index()
    return readings.drop_duplicates(SERIES_KEYS + ["t"]).sort_values(["t", "message"], kind="stable").reset_index(drop=True)


def rolling_windows(samples: pd.DataFrame, keys: list[str], instants: pd.DataFrame, include_now: bool) -> pd.DataFrame:
    """The four windows of every series in `samples` (keys, t, value) at each row of `instants` (keys, now).

    Each instant becomes a row without a value, placed after the samples with t ≤ now (`include_now`) or
    t < now, so that `rolling` over the bucket-floored times gives exactly StreetSense's window at that instant.
    Returns `instants` with a column `window_{label}_{statistic}` per window and statistic of WINDOW_STATISTICS.
    """
    probes = instants.rename(columns={"now": "t"}).assign(value=np.nan, is_probe=True)
    frame = pd.concat([samples[keys + ["t", "value"]].assign(is_probe=False), probes], ignore_index=True)
    frame["order"] = np.where(frame["is_probe"], 1 if include_now else -1, 0)
    # Sorted by series first, so that the grouped rolling results come out in the frame's row order.
    frame = frame.sort_values(keys + ["t", "order"], kind="stable").reset_index(drop=True)
    probe = frame["is_probe"].to_numpy()
    result = frame.loc[probe, keys + ["t"]].rename(columns={"t": "now"})
    origin = frame["t"].min().floor("1h")
    has_value = frame["value"].notna()
    for label, (length, bucket) in WINDOWS.items():
        frame["bucket"] = frame["t"].dt.floor(bucket)
        # The rate's least-squares sums over the readings: each reading stands at its bucket's time x (minutes).
        x = ((frame["bucket"] - origin) / pd.Timedelta("1min")).where(has_value, 0.0)
        frame["x"], frame["xx"], frame["xy"] = x, x * x, (x * frame["value"]).fillna(0.0)
        # Counting each bucket's first reading counts the buckets in a window (windows start on bucket edges).
        first_in_bucket = ~frame.loc[has_value, keys + ["bucket"]].duplicated()
        frame["opens_bucket"] = first_in_bucket.reindex(frame.index, fill_value=False).astype(float)
        grouped = frame.groupby(keys, sort=False).rolling(length, on="bucket", closed="right")
        value = grouped["value"]
        stats = pd.DataFrame({stat: getattr(value, stat)().to_numpy()[probe] for stat in ("count", "sum", "min", "max")}, index=result.index)
        sums = grouped[["x", "xx", "xy", "opens_bucket"]].sum()
        regression = pd.DataFrame(sums.to_numpy()[probe], columns=sums.columns, index=result.index)
        count = stats["count"].fillna(0).astype(int)
        result[f"window_{label}_count"] = count
        result[f"window_{label}_sum"] = stats["sum"].where(count > 0, 0.0)
        result[f"window_{label}_mean"] = (stats["sum"] / count).where(count > 0)
        result[f"window_{label}_min"] = stats["min"].where(count > 0)
        result[f"window_{label}_max"] = stats["max"].where(count > 0)
        result[f"window_{label}_rate_per_minute"] = rate_per_minute(count, stats["sum"], regression)
    return result


def rate_per_minute(count: pd.Series, total: pd.Series, sums: pd.DataFrame) -> pd.Series:
    """StreetSense's rate of change: the count-weighted least-squares slope of bucket means over bucket time (per
    minute), from sums over the readings (Σ1 = count, Σx, Σx², Σy = sum, Σxy); None with fewer than two buckets."""
    denominator = count * sums["xx"] - sums["x"] ** 2
    slope = (count * sums["xy"] - sums["x"] * total) / denominator
    return slope.where((sums["opens_bucket"] >= 2) & (denominator > 0))


def newest_values(readings: pd.DataFrame, keys: list[str], instants: pd.DataFrame) -> pd.DataFrame:
    """For each row of `instants` (keys, now): the value and time of the series' newest reading at or before now."""
    newest = readings.sort_values("t")[keys + ["t", "value"]].rename(columns={"t": "last_at", "value": "last"})
    return pd.merge_asof(
        instants.sort_values("now"), newest, left_on="now", right_on="last_at", by=keys, direction="backward", allow_exact_matches=True
    )


def people_estimates(readings: pd.DataFrame, registry: Registry) -> pd.DataFrame:
    """Every change of a sensor's people estimate: pilot, sensor, t, people (count × factor; flow: occupancy × factor)."""
    sensors = registry.sensors
    counted = readings.merge(sensors[["pilot", "sensor", "kind", "factor"]], on=["pilot", "sensor"])
    direct = counted[((counted["kind"] == "occupancy") & (counted["metric"] == "people")) | ((counted["kind"] == "devices") & (counted["metric"] == "devices"))]
    direct = direct.assign(people=direct["value"] * direct["factor"])[["pilot", "sensor", "t", "people"]]

    gates = counted[(counted["kind"] == "flow") & counted["metric"].isin(["people_in", "people_out"])]
    signed = gates["value"].where(gates["metric"] == "people_in", -gates["value"])
    net = gates.assign(net=signed).groupby(["pilot", "sensor", "message"], sort=False).agg(t=("t", "max"), net=("net", "sum"), factor=("factor", "first"))
    net = net.reset_index().sort_values(["pilot", "sensor", "message"])

    def occupancy(changes: pd.Series) -> pd.Series:
        """A gate line's running occupancy: in − out per message, never below zero."""
        running = accumulate(changes, lambda total, change: max(0.0, total + change), initial=0.0)
        return pd.Series(list(running)[1:], index=changes.index)

    net["occupancy"] = net.groupby(["pilot", "sensor"], sort=False)["net"].transform(occupancy)
    flow = net.assign(people=net["occupancy"] * net["factor"])[["pilot", "sensor", "t", "people"]]
    return pd.concat([direct, flow], ignore_index=True)


def zone_estimates(estimates: pd.DataFrame, registry: Registry, instants: pd.Series) -> pd.DataFrame:
    """Each zone's density at each instant: Σ people ÷ Σ covered m² over its sensors fresh at that instant.

    Returns zone, now, density (NaN when no fresh sensor), people, sensors_used, sensors_stale, covered_m2.
    """
    counting = registry.sensors[registry.sensors["kind"].isin(["occupancy", "devices", "flow"])]
    grid = counting.merge(pd.DataFrame({"now": instants.unique()}), how="cross")
    latest = pd.merge_asof(
        grid.sort_values("now"), estimates.sort_values("t"), left_on="now", right_on="t", by=["pilot", "sensor"], direction="backward"
    )
    latest = latest[latest["t"].notna()]
    fresh = (latest["now"] - latest["t"]) <= latest["stale_after"]
    latest = latest.assign(
        used=fresh.astype(int), stale=(~fresh).astype(int), fresh_people=latest["people"].where(fresh, 0.0), fresh_m2=latest["covered_m2"].where(fresh, 0.0)
    )
    zones = latest.groupby(["zone", "now"]).agg(
        people_sum=("fresh_people", "sum"), sensors_used=("used", "sum"), sensors_stale=("stale", "sum"), covered_m2=("fresh_m2", "sum")
    )
    zones = zones.reset_index()
    zones["density"] = (zones["people_sum"] / zones["covered_m2"]).where((zones["sensors_used"] > 0) & (zones["covered_m2"] > 0))
    area = zones["zone"].map(registry.zone_areas)
    zones["people"] = zones["density"] * area
    zones["covered_m2"] = np.minimum(zones["covered_m2"], area)
    return zones.drop(columns=["people_sum"])


def nearest_rank(values: np.ndarray, p: float) -> float | None:
    """StreetSense's nearest-rank percentile of `values` (None when empty)."""
    if len(values) == 0:
        return None
    ordered = np.sort(values)
    rank = math.ceil(p * len(ordered))
    return float(ordered[max(0, min(len(ordered) - 1, rank - 1))])


def sample_instants(first: pd.Timestamp, last: pd.Timestamp) -> pd.DatetimeIndex:
    """The zone sample instants StreetSense has taken once "now" is `last`: multiples of 5 s from `first` on, before `last`."""
    start = first.ceil(ZONE_SAMPLE_INTERVAL)
    instants = pd.date_range(start, last, freq=ZONE_SAMPLE_INTERVAL)
    return instants[instants < last]


def timeline_points(first: pd.Timestamp, last: pd.Timestamp, every: pd.Timedelta) -> pd.DatetimeIndex:
    """Timeline points: multiples of `every` from the first at or after `first` to the first at or after `last`."""
    return pd.date_range(first.ceil(every), last.ceil(every), freq=every)


def rfc3339(time: pd.Timestamp) -> str:
    """UTC with milliseconds, as StreetSense writes times."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.") + f"{time.microsecond // 1000:03d}Z"


def number(value: Any) -> float | int | None:
    """A JSON number (None for NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def window_objects(row: Any) -> dict[str, dict[str, float | int | None]]:
    """`{"1m": {count, sum, mean, min, max, rate_per_minute}, ...}` from a row of `rolling_windows`."""
    return {label: {stat: number(getattr(row, f"window_{label}_{stat}")) for stat in WINDOW_STATISTICS} for label in WINDOWS}


def compute(readings: pd.DataFrame, registry: Registry, points: list[tuple[pd.Timestamp, pd.Timestamp]]) -> list[dict[str, Any]]:
    """One snapshot per (as_of, now) in `points`: zones and sensors as StreetSense shows them when "now" is `now`."""
    nows = pd.Series(sorted({now for _, now in points}), dtype=readings["t"].dtype)
    series = readings[SERIES_KEYS].drop_duplicates()
    sensor_instants = series.merge(pd.DataFrame({"now": nows}), how="cross")
    sensor_windows = rolling_windows(readings, SERIES_KEYS, sensor_instants, include_now=True)
    sensor_rows = newest_values(readings, SERIES_KEYS, sensor_instants).merge(sensor_windows, on=SERIES_KEYS + ["now"])
    sensor_rows = sensor_rows[sensor_rows["last_at"].notna()]

    estimates = people_estimates(readings, registry)
    samples = zone_estimates(estimates, registry, pd.Series(sample_instants(readings["t"].min(), nows.max())))
    samples = samples[samples["density"].notna()].rename(columns={"now": "t", "density": "value"})
    zone_now = zone_estimates(estimates, registry, nows)
    zone_instants = pd.DataFrame({"zone": list(registry.zone_areas)}).merge(pd.DataFrame({"now": nows}), how="cross")
    zone_windows = rolling_windows(samples, ["zone"], zone_instants, include_now=False)
    zone_rows = zone_instants.merge(zone_now, on=["zone", "now"], how="left").merge(zone_windows, on=["zone", "now"])

    sensors_by_now = {now: frame for now, frame in sensor_rows.groupby("now")}
    zones_by_now = {now: frame for now, frame in zone_rows.groupby("now")}
    samples_by_zone = {zone: frame for zone, frame in samples.groupby("zone")}
    snapshots = []
    for as_of, now in points:
        zones = []
        for row in zones_by_now[now].itertuples():
            recent = samples_by_zone.get(row.zone)
            values = np.array([]) if recent is None else recent.loc[(recent["t"] > now - PERCENTILE_SPAN) & (recent["t"] < now), "value"].to_numpy()
            zones.append(
                {
                    "id": row.zone,
                    "people": number(row.people),
                    "density_ppm2": number(row.density),
                    "windows": window_objects(row),
                    "p50_density_15m": nearest_rank(values, 0.5),
                    "p95_density_15m": nearest_rank(values, 0.95),
                    "coverage": {
                        "sensors_used": int(0 if math.isnan(row.sensors_used) else row.sensors_used),
                        "sensors_stale": int(0 if math.isnan(row.sensors_stale) else row.sensors_stale),
                        "covered_m2": number(0.0 if math.isnan(row.covered_m2) else row.covered_m2),
                    },
                }
            )
        sensors: dict[tuple[str, str], dict[str, Any]] = {}
        for row in sensors_by_now.get(now, pd.DataFrame()).itertuples():
            metrics = sensors.setdefault((row.pilot, row.sensor), {})
            metrics[row.metric] = {"last": number(row.last), "last_at": rfc3339(row.last_at), "windows": window_objects(row)}
        snapshots.append(
            {
                "as_of": rfc3339(as_of),
                "zones": zones,
                "sensors": [{"pilot": pilot, "id": sensor, "metrics": metrics} for (pilot, sensor), metrics in sorted(sensors.items())],
            }
        )
    return snapshots


def main() -> None:
    """Command line: `pandas_windows.py TRACE --config FILE --out OUT.json [--every 60s]`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trace", type=Path)
    parser.add_argument("--config", type=Path, required=True, help="streetsense.yaml (zones and sensors)")
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON result")
    parser.add_argument("--every", help="also a timeline point every this much event time (e.g. 60s)")
    arguments = parser.parse_args()

    readings = load_readings(arguments.trace)
    registry = Registry.load(arguments.config)
    newest = readings["t"].max()
    points: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    if arguments.every:
        times = pd.DatetimeIndex(readings["t"].sort_values())
        for point in timeline_points(readings["t"].min(), newest, pd.Timedelta(arguments.every)):
            # "Now" at a point is the newest reading time at or before it.
            points.append((point, times[times.searchsorted(point, side="right") - 1]))
    points.append((newest, newest))
    snapshots = compute(readings, registry, points)
    result = snapshots[-1] | ({"timeline": snapshots[:-1]} if arguments.every else {})
    arguments.out.write_text(json.dumps(result, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
