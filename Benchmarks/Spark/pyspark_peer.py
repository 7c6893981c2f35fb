#!/usr/bin/env python3
"""The pyspark peer of `meteo analyze --engine spark`: the same analysis, written with Spark's
own Python Connect client, on the same Spark Connect server and the same lake.

    python Benchmarks/Spark/pyspark_peer.py --remote sc://127.0.0.1:15002 --lake DIR
        [--window 3600] [--top 5] [--threads 1] [--dedupe drop|window]

Run with the python of scripts/services/spark (`scripts/services/spark python`), whose venv
holds pyspark[connect] of the server's version. What it does, as Meteo's SparkEngine
(Sources/MeteoSpark/SparkEngine.swift) does:

  prepare   the lake's NDJSON read with the same explicit schema (no inference pass), rows
            without a place or a readable time dropped, t = unix_seconds(to_timestamp(
            observed_at)), one row per (place_id, t) (dropDuplicates; --dedupe window: Meteo's
            row_number over (place_id, t)), the columns Meteo keeps,
            cached and materialised (count); then each place's latest row (row_number over
            place_id order by t desc), cached and materialised too: Meteo's "prepare";
  aggregate count, distinct places, min and max t; per region and per country: count,
            distinct places, count/avg/min/max of temperature_c, humidity_pct, pressure_hpa and
            wind_speed_ms; per (region, t - pmod(t, window)): count and the four means; corr()
            of the 28 pairs of the 8 variables; per region among the latest rows: count_if
            rain_mm > 0, snow_mm > 0, both; the top --top hottest, coldest, windiest and wettest
            latest rows and the full lists of places with rain, snow, both, by value desc then
            place_id. Every result is collected to the client.

The queries are issued one after the other (as a pyspark script is ordinarily written), or
from --threads threads at once (Meteo issues its ten at once). The clock starts before the
session is created (after pyspark's import, timed apart) and stops when the last result is
collected; the caches are then unpersisted and the session released (not timed). Prints one JSON object on stdout:
{"import_s", "session_s", "prepare_s", "aggregate_s", "total_s" (session creation to the last
result), "rows", "threads", "dedupe", "spark_version", "check": {...}} where check holds
figures that scripts/bench compares with Meteo's report (counts, the first places of the
lists, two correlations).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

# Sources/MeteoSpark/SparkEngine.swift, lakeSchema (docs/lake.md).
LAKE_SCHEMA = (
    "v INT, place_id STRING, name STRING, country STRING, region STRING, latitude DOUBLE, longitude DOUBLE, "
    "observed_at STRING, source STRING, temperature_c DOUBLE, feels_like_c DOUBLE, humidity_pct DOUBLE, "
    "cloud_cover_pct DOUBLE, pressure_hpa DOUBLE, wind_speed_ms DOUBLE, wind_gust_ms DOUBLE, "
    "wind_direction_deg DOUBLE, visibility_m DOUBLE, rain_mm DOUBLE, snow_mm DOUBLE, weather_code INT"
)
CORRELATION_FIELDS = ["temperature_c", "feels_like_c", "humidity_pct", "pressure_hpa",
                      "wind_speed_ms", "wind_gust_ms", "cloud_cover_pct", "visibility_m"]
GROUP_FIELDS = ["temperature_c", "humidity_pct", "pressure_hpa", "wind_speed_ms"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--remote", required=True, help="Spark Connect URL, sc://HOST:PORT")
    p.add_argument("--lake", required=True, help="the lake folder (made absolute: the server runs elsewhere)")
    p.add_argument("--window", type=int, default=3600, help="window width in seconds (3600)")
    p.add_argument("--top", type=int, default=5, help="length of the extremes lists (5)")
    p.add_argument("--threads", type=int, default=1, help="queries issued at once (1: one after the other)")
    p.add_argument("--dedupe", choices=("drop", "window"), default="drop",
                   help="drop: dropDuplicates (pyspark's way, the default); window: row_number over "
                        "(place_id, t) order by observed_at, keeping the first (Meteo's SQL)")
    args = p.parse_args(argv)
    lake = args.lake if "://" in args.lake else os.path.abspath(args.lake)

    t_start = time.perf_counter()
    from pyspark.sql import SparkSession, Window
    from pyspark.sql import functions as F

    t0 = time.perf_counter()
    spark = SparkSession.builder.remote(args.remote).getOrCreate()
    t_session = time.perf_counter()

    # 1. prepare: read, dedupe, cache (materialised), and the latest rows, cached.
    measures = CORRELATION_FIELDS + ["rain_mm", "snow_mm"]
    raw = spark.read.schema(LAKE_SCHEMA).option("mode", "PERMISSIVE").json(lake)
    parsed = (raw.withColumn("t", F.unix_seconds(F.to_timestamp("observed_at")))
              .where(F.col("place_id").isNotNull() & F.col("t").isNotNull()))
    if args.dedupe == "drop":
        unique = parsed.dropDuplicates(["place_id", "t"])
    else:
        copy = Window.partitionBy("place_id", "t").orderBy("observed_at")
        unique = parsed.withColumn("copy", F.row_number().over(copy)).where(F.col("copy") == 1)
    selection = unique.select("place_id", "name", "country", "region", "t", *measures).cache()
    rows = selection.count()
    recency = Window.partitionBy("place_id").orderBy(F.col("t").desc())
    latest = (selection.withColumn("recency", F.row_number().over(recency))
              .where(F.col("recency") == 1).drop("recency").cache())
    latest_rows = latest.count()
    t_prepared = time.perf_counter()

    # 2. the aggregates, each collected.
    def summary():
        return selection.agg(F.count(F.lit(1)).alias("n"), F.countDistinct("place_id").alias("places"),
                             F.min("t").alias("first"), F.max("t").alias("last")).collect()

    def groups(key):
        columns = []
        for f in GROUP_FIELDS:
            columns += [F.count(f), F.avg(f), F.min(f), F.max(f)]
        return (selection.where(F.col(key).isNotNull()).groupBy(key)
                .agg(F.count(F.lit(1)).alias("n"), F.countDistinct("place_id").alias("places"), *columns)
                .collect())

    def windows():
        start = F.col("t") - F.pmod(F.col("t"), F.lit(args.window).cast("bigint"))
        return (selection.withColumn("start", start).groupBy("region", "start")
                .agg(F.count(F.lit(1)).alias("n"), *[F.avg(f) for f in GROUP_FIELDS]).collect())

    def correlation():
        pairs = [(a, b) for i, a in enumerate(CORRELATION_FIELDS) for b in CORRELATION_FIELDS[i + 1:]]
        return selection.agg(*[F.corr(a, b).alias(f"{a}__{b}") for a, b in pairs]).collect()

    def latest_counts():
        rain, snow = F.col("rain_mm") > 0, F.col("snow_mm") > 0
        return latest.groupBy("region").agg(F.count_if(rain).alias("rain"), F.count_if(snow).alias("snow"),
                                            F.count_if(rain & snow).alias("both")).collect()

    def ranked(condition, value, ascending=False, limit=None):
        df = latest.withColumn("value", value).where(condition)
        df = df.orderBy(F.col("value").asc() if ascending else F.col("value").desc(), F.col("place_id").asc())
        if limit is not None:
            df = df.limit(limit)
        return df.select("place_id", "name", "country", "region", "t", "rain_mm", "snow_mm", "value").collect()

    value_present = F.col("value").isNotNull()
    wet = F.coalesce(F.col("rain_mm"), F.lit(0.0)) + F.coalesce(F.col("snow_mm"), F.lit(0.0))
    jobs = {
        "summary": summary,
        "regions": lambda: groups("region"),
        "countries": lambda: groups("country"),
        "windows": windows,
        "correlation": correlation,
        "latest_counts": latest_counts,
        "rain": lambda: ranked(F.col("rain_mm") > 0, F.col("rain_mm")),
        "snow": lambda: ranked(F.col("snow_mm") > 0, F.col("snow_mm")),
        "both": lambda: ranked((F.col("rain_mm") > 0) & (F.col("snow_mm") > 0), F.col("rain_mm") + F.col("snow_mm")),
        "hottest": lambda: ranked(value_present, F.col("temperature_c"), limit=args.top),
        "coldest": lambda: ranked(value_present, F.col("temperature_c"), ascending=True, limit=args.top),
        "windiest": lambda: ranked(value_present, F.col("wind_speed_ms"), limit=args.top),
        "wettest": lambda: ranked((F.col("rain_mm").isNotNull() | F.col("snow_mm").isNotNull()) & (F.col("value") > 0),
                                  wet, limit=args.top),
    }
    if args.threads > 1:
        with ThreadPoolExecutor(max_workers=args.threads) as pool:
            futures = {name: pool.submit(fn) for name, fn in jobs.items()}
            results = {name: f.result() for name, f in futures.items()}
    else:
        results = {name: fn() for name, fn in jobs.items()}
    t_done = time.perf_counter()

    # Not timed: the server's version, the caches and the session released.
    version = spark.version
    latest.unpersist()
    selection.unpersist()
    try:
        spark.stop()
    except Exception:  # a released session is no measurement
        pass

    s = results["summary"][0]
    corr = results["correlation"][0]
    first = lambda name: results[name][0]["place_id"] if results[name] else None  # noqa: E731
    check = {
        "observations": s["n"], "places": s["places"], "first": s["first"], "last": s["last"],
        "regions": len(results["regions"]), "countries": len(results["countries"]),
        "windows": len(results["windows"]), "latest": latest_rows,
        "rain": sum(r["rain"] for r in results["latest_counts"]),
        "snow": sum(r["snow"] for r in results["latest_counts"]),
        "rain_and_snow": sum(r["both"] for r in results["latest_counts"]),
        "rain_places": len(results["rain"]), "snow_places": len(results["snow"]),
        "rain_and_snow_places": len(results["both"]),
        "hottest": first("hottest"), "coldest": first("coldest"), "windiest": first("windiest"),
        "wettest": first("wettest"),
        "r_temperature_feels_like": corr["temperature_c__feels_like_c"],
        "r_temperature_humidity": corr["temperature_c__humidity_pct"],
    }
    print(json.dumps({
        "import_s": round(t0 - t_start, 6),
        "session_s": round(t_session - t0, 6),
        "prepare_s": round(t_prepared - t_session, 6),
        "aggregate_s": round(t_done - t_prepared, 6),
        "total_s": round(t_done - t0, 6),
        "rows": rows, "threads": args.threads, "dedupe": args.dedupe, "spark_version": version, "check": check,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
