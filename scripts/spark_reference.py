#!/usr/bin/env python3
"""An independent check of Meteo's Spark engine: the same lake, read by pyspark's own Spark
Connect client with the DataFrame API (not Meteo's SQL, not Meteo's Arrow reader), and the
figures that `meteo analyze --format json` reports, printed as JSON in the same shape.

    python scripts/spark_reference.py --remote sc://127.0.0.1:15002 --lake DIR [--window 3600]

Needs the venv of scripts/services/spark (pyspark[connect] 4.3.0): `scripts/services/spark python`.
The figures: observation and place counts, first and last time; per region the rows, places,
mean/min/max temperature and humidity and mean pressure and wind; Spark's own corr() of every
pair of variables (pairwise complete: corr skips a row where either is null); the places with
rain, snow and both on their latest row, per region; the rows and mean temperature per region
and window.
"""
import argparse
import json
import sys

from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F

SCHEMA = (
    "v INT, place_id STRING, name STRING, country STRING, region STRING, latitude DOUBLE, longitude DOUBLE, "
    "observed_at STRING, source STRING, temperature_c DOUBLE, feels_like_c DOUBLE, humidity_pct DOUBLE, "
    "cloud_cover_pct DOUBLE, pressure_hpa DOUBLE, wind_speed_ms DOUBLE, wind_gust_ms DOUBLE, "
    "wind_direction_deg DOUBLE, visibility_m DOUBLE, rain_mm DOUBLE, snow_mm DOUBLE, weather_code INT"
)
VARIABLES = ["temperature_c", "feels_like_c", "humidity_pct", "pressure_hpa",
             "wind_speed_ms", "wind_gust_ms", "cloud_cover_pct", "visibility_m"]


def iso(seconds):
    import datetime
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--remote", required=True)
    parser.add_argument("--lake", required=True)
    parser.add_argument("--window", type=int, default=3600)
    args = parser.parse_args()

    spark = SparkSession.builder.remote(args.remote).getOrCreate()
    try:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
        raw = spark.read.schema(SCHEMA).json(args.lake)
        rows = (raw.withColumn("t", F.unix_seconds(F.to_timestamp("observed_at")))
                .where(F.col("place_id").isNotNull() & F.col("t").isNotNull())
                .dropDuplicates(["place_id", "t"]))
        rows = rows.cache()

        summary = rows.agg(F.count(F.lit(1)).alias("n"), F.countDistinct("place_id").alias("places"),
                           F.min("t").alias("first"), F.max("t").alias("last")).collect()[0]

        regions = []
        for r in (rows.where(F.col("region").isNotNull()).groupBy("region")
                  .agg(F.count(F.lit(1)).alias("n"), F.countDistinct("place_id").alias("places"),
                       F.avg("temperature_c").alias("t_mean"), F.min("temperature_c").alias("t_min"),
                       F.max("temperature_c").alias("t_max"), F.avg("humidity_pct").alias("h_mean"),
                       F.min("humidity_pct").alias("h_min"), F.max("humidity_pct").alias("h_max"),
                       F.avg("pressure_hpa").alias("p_mean"), F.avg("wind_speed_ms").alias("w_mean"))
                  .orderBy("region").collect()):
            regions.append({"region": r["region"], "observations": r["n"], "places": r["places"],
                            "temperature_c": {"mean": r["t_mean"], "min": r["t_min"], "max": r["t_max"]},
                            "humidity_pct": {"mean": r["h_mean"], "min": r["h_min"], "max": r["h_max"]},
                            "pressure_hpa": {"mean": r["p_mean"]}, "wind_speed_ms": {"mean": r["w_mean"]}})

        pairs = [(a, b) for i, a in enumerate(VARIABLES) for b in VARIABLES[i + 1:]]
        corr_row = rows.agg(*[F.corr(a, b).alias(f"{a}|{b}") for a, b in pairs]).collect()[0]
        correlation = {f"{a}|{b}": corr_row[f"{a}|{b}"] for a, b in pairs}

        newest = Window.partitionBy("place_id").orderBy(F.col("t").desc())
        latest = rows.withColumn("k", F.row_number().over(newest)).where(F.col("k") == 1)
        wet = {}
        for name, condition in [("rain_places", F.col("rain_mm") > 0), ("snow_places", F.col("snow_mm") > 0),
                                ("rain_and_snow_places", (F.col("rain_mm") > 0) & (F.col("snow_mm") > 0))]:
            by_region = {r["region"]: r["c"] for r in latest.groupBy("region").agg(F.count_if(condition).alias("c")).collect()}
            wet[name] = {"count": sum(by_region.values()), "by_region": by_region}

        start = F.col("t") - F.pmod(F.col("t"), F.lit(args.window))
        windows = [{"region": r["region"], "start": iso(r["start"]), "observations": r["n"], "temperature_c": r["m"]}
                   for r in rows.groupBy("region", start.alias("start"))
                   .agg(F.count(F.lit(1)).alias("n"), F.avg("temperature_c").alias("m")).collect()]

        json.dump({
            "observations": {"count": summary["n"], "places": summary["places"],
                             "first": iso(summary["first"]) if summary["first"] is not None else None,
                             "last": iso(summary["last"]) if summary["last"] is not None else None},
            "regions": regions, "correlation": correlation, "windows": windows, **wet,
        }, sys.stdout)
        print()
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
