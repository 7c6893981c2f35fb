"""The obvious Python backfill, the peer of `meteo backfill` + `meteo sink` in scripts/bench backfill.

Standard library only. For the same places and days, from the same stub, it asks Open-Meteo's
archive for the same hourly variables in requests of the same size (138 places x 30 days,
Meteo's planner's cut at 100,000 rows a request), then, per request:
  - parses the answer with json.loads,
  - makes one row per place and hour (snowfall cm -> mm of water x 10 / 7; an hour whose values
    are all null is skipped), as Meteo does,
  - inserts the rows with executemany("INSERT OR REPLACE …") into a SQLite table keyed on
    (place_id, observed_at), and commits.
Times: fetch (urllib, the network), parse (json.loads + rows), insert (executemany + commit).
Prints one JSON object.

What it does not do that Meteo does: no durable log between fetching and storing, no event
encoding and decoding, no validation, one index (the primary key) where Meteo's store keeps
three and a `latest` table; so it is a lower bound of the work, not the same work.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time
import urllib.parse
import urllib.request

VARIABLES = [
    "temperature_2m", "apparent_temperature", "relative_humidity_2m", "pressure_msl", "wind_speed_10m",
    "wind_direction_10m", "wind_gusts_10m", "cloud_cover", "rain", "snowfall", "precipitation", "weather_code",
]
COLUMNS = [
    "temperature_c", "feels_like_c", "humidity_pct", "pressure_hpa", "wind_speed_ms", "wind_direction_deg",
    "wind_gust_ms", "cloud_cover_pct", "rain_mm", "snow_mm", "precipitation_mm", "weather_code",
]


def coordinate(v: float) -> str:
    r = round(v * 10000) / 10000
    return str(int(r)) if r == int(r) else repr(r)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--archive-url", required=True)
    ap.add_argument("--places", required=True, help="JSON file: [{id, name, country, region, latitude, longitude}]")
    ap.add_argument("--since", required=True)
    ap.add_argument("--until", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--per-request", type=int, default=138)
    args = ap.parse_args()

    with open(args.places) as f:
        places = json.load(f)
    if os.path.exists(args.db):
        os.remove(args.db)
    db = sqlite3.connect(args.db)
    db.execute(
        "CREATE TABLE observations (place_id TEXT NOT NULL, observed_at INTEGER NOT NULL, name TEXT, country TEXT, region TEXT, "
        "latitude REAL, longitude REAL, source TEXT, " + ", ".join(f"{c} REAL" for c in COLUMNS)
        + ", PRIMARY KEY (place_id, observed_at))")
    insert = ("INSERT OR REPLACE INTO observations VALUES (" + ",".join("?" * (8 + len(COLUMNS))) + ")")
    fetch_s = parse_s = insert_s = 0.0
    rows_total = skipped = 0
    t_all = time.perf_counter()
    for start in range(0, len(places), args.per_request):
        group = places[start:start + args.per_request]
        query = urllib.parse.urlencode({
            "latitude": ",".join(coordinate(p["latitude"]) for p in group),
            "longitude": ",".join(coordinate(p["longitude"]) for p in group),
            "hourly": ",".join(VARIABLES), "start_date": args.since, "end_date": args.until,
            "wind_speed_unit": "ms", "timezone": "GMT", "timeformat": "unixtime",
        }, safe=",")
        t0 = time.perf_counter()
        request = urllib.request.Request(args.archive_url, data=query.encode(), method="POST",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(request, timeout=600) as response:
            body = response.read()
        t1 = time.perf_counter()
        answer = json.loads(body)
        if isinstance(answer, dict):
            answer = [answer]
        if len(answer) != len(group):
            raise SystemExit(f"peer: {len(answer)} locations for {len(group)} places")
        rows = []
        for p, location in zip(group, answer):
            hourly = location["hourly"]
            times = hourly["time"]
            columns = [hourly.get(v) or [None] * len(times) for v in VARIABLES]
            snow = VARIABLES.index("snowfall")
            for k, t in enumerate(times):
                values = [c[k] for c in columns]
                if all(v is None for v in values):
                    skipped += 1
                    continue
                if values[snow] is not None:
                    values[snow] = values[snow] * 10 / 7
                rows.append((p["id"], t, p["name"], p["country"], p.get("region"), p["latitude"], p["longitude"],
                             "open-meteo-archive", *values))
        t2 = time.perf_counter()
        db.executemany(insert, rows)
        db.commit()
        t3 = time.perf_counter()
        fetch_s += t1 - t0
        parse_s += t2 - t1
        insert_s += t3 - t2
        rows_total += len(rows)
    total_s = time.perf_counter() - t_all
    stored = db.execute("SELECT count(*) FROM observations").fetchone()[0]
    db.close()
    print(json.dumps({
        "observations": rows_total, "stored": stored, "skipped_hours": skipped,
        "seconds": {"fetch": round(fetch_s, 3), "parse": round(parse_s, 3), "insert": round(insert_s, 3), "total": round(total_s, 3)},
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
