#!/usr/bin/env python3
"""Meteo analytics vs peers (DuckDB, pandas, PySpark), checked against the numpy reference.

    python Benchmarks/Analytics/peers.py D [D2 ...] [--peers duckdb,pandas,spark]
        [--repeat 3] [--markdown OUT.md] [--spark-memory 6g] [--timeout 3600]

Each D holds observations.csv (specs/analytics-spec.md) and meteo.json (written by Meteo's
benchmark). The CSV is converted once to D/observations.parquet with DuckDB (explicit
types, empty field = NULL), reused while newer than the CSV. Then, each in its own
subprocess so that its peak memory is its own:
  - the numpy reference (scripts/analytics_reference.py) computes the whole report on the
    Parquet data and writes it to D/reference.json;
  - each peer loads the Parquet into its in-memory form (timed as "load"), then runs the
    three analyses --repeat times each (the median is reported), materialising the result:
      correlation  the 28 pairwise-complete Pearson r of the spec's 8 variables, and n;
      regions      per non-null region: count, mean/min/max temperature and humidity,
                   mean pressure and wind speed;
      rain_snow    latest row of each place, then places with rain > 0, snow > 0, both,
                   in total and per region (null region included).
Every engine (Meteo's report included) is compared with the reference: max relative error
of r and of the region means, and exact equality of counts, n, min and max. Mismatches and
failed peers are printed loudly, and the exit status is then 1.

Peak memory: the parent samples the child's process tree (the child and, for Spark, its
JVM) every 50 ms from /proc/<pid>/status and reports the sum over the tree of each
process's VmHWM (its own peak RSS, which the kernel keeps exactly); the sampled peak of
the summed VmRSS is kept in the JSON details too.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import numbers
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "scripts"))
sys.dont_write_bytecode = True  # no scripts/__pycache__ in the work tree

VARS = [
    "temperature_c", "feels_like_c", "humidity_pct", "pressure_hpa",
    "wind_speed_ms", "wind_gust_ms", "cloud_cover_pct", "visibility_m",
]
PAIRS = [(i, j) for i in range(len(VARS)) for j in range(i + 1, len(VARS))]
COLUMN_TYPES = {
    "place_id": "VARCHAR", "name": "VARCHAR", "country": "VARCHAR", "region": "VARCHAR",
    "latitude": "DOUBLE", "longitude": "DOUBLE", "observed_at": "BIGINT",
    **{c: "DOUBLE" for c in VARS}, "rain_mm": "DOUBLE", "snow_mm": "DOUBLE",
}
ANALYSES = ["correlation", "regions", "rain_snow"]
PEERS = ["duckdb", "pandas", "spark"]
LABEL = {"meteo": "Meteo", "duckdb": "DuckDB", "pandas": "pandas", "spark": "Spark",
         "numpy": "numpy reference"}
REL_TOLERANCE = 1e-9  # the spec's tolerance for means and r
MARK = "@@PEER-RESULT@@ "


# ============================================================================ children

def _clean(x):
    """JSON-ready: NaN/inf/NA -> None, numpy scalars -> Python numbers."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if x is None or isinstance(x, (str, bool)):
        return x
    if isinstance(x, numbers.Integral):
        return int(x)
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None  # pandas.NA and the like
    return f if math.isfinite(f) else None


def _timed(fn, repeat):
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return result, times


def _region_entry(count, t_mean, t_min, t_max, h_mean, h_min, h_max, p_mean, w_mean):
    return {"count": int(count),
            "temperature_c": {"mean": t_mean, "min": t_min, "max": t_max},
            "humidity_pct": {"mean": h_mean, "min": h_min, "max": h_max},
            "pressure_hpa": {"mean": p_mean}, "wind_speed_ms": {"mean": w_mean}}


def _rain_snow(rows):
    """rows of (region, rain, snow, both) per region -> the common shape."""
    by_region = sorted(([r, int(a), int(b), int(c)] for r, a, b, c in rows),
                       key=lambda e: (e[0] is None, e[0] or ""))
    total = {"rain": sum(e[1] for e in by_region), "snow": sum(e[2] for e in by_region),
             "both": sum(e[3] for e in by_region)}
    return {"total": total, "by_region": by_region}


def child_duckdb(parquet, repeat):
    import duckdb
    info = {"version": duckdb.__version__}
    con = duckdb.connect(":memory:")
    info["threads"] = con.execute("SELECT current_setting('threads')").fetchone()[0]
    t = time.perf_counter()
    con.execute("CREATE TABLE obs AS SELECT * FROM read_parquet(?)", [parquet])
    load_s = time.perf_counter() - t
    rows = con.execute("SELECT count(*) FROM obs").fetchone()[0]

    corr_sql = "SELECT " + ", ".join(
        [f"corr({VARS[i]}, {VARS[j]})" for i, j in PAIRS]
        + [f"regr_count({VARS[i]}, {VARS[j]})" for i, j in PAIRS]
        + [f"count({v})" for v in VARS]) + " FROM obs"
    regions_sql = """
        SELECT region, count(*),
               avg(temperature_c), min(temperature_c), max(temperature_c),
               avg(humidity_pct), min(humidity_pct), max(humidity_pct),
               avg(pressure_hpa), avg(wind_speed_ms)
        FROM obs WHERE region IS NOT NULL GROUP BY region ORDER BY region"""
    # arg_max skips rows whose first argument is NULL, so take the latest row as a struct
    rain_snow_sql = """
        WITH latest AS (
            SELECT arg_max({'region': region, 'rain': rain_mm, 'snow': snow_mm}, observed_at) AS l
            FROM obs GROUP BY place_id)
        SELECT struct_extract(l, 'region') AS region,
               count(*) FILTER (WHERE struct_extract(l, 'rain') > 0),
               count(*) FILTER (WHERE struct_extract(l, 'snow') > 0),
               count(*) FILTER (WHERE struct_extract(l, 'rain') > 0 AND struct_extract(l, 'snow') > 0)
        FROM latest GROUP BY 1"""
    run = {
        "correlation": lambda: con.execute(corr_sql).fetchall(),
        "regions": lambda: con.execute(regions_sql).fetchall(),
        "rain_snow": lambda: con.execute(rain_snow_sql).fetchall(),
    }
    timings, results = {}, {}
    for name in ANALYSES:
        res, timings[name] = _timed(run[name], repeat)
        results[name] = res
    k = len(PAIRS)
    row = results["correlation"][0]
    results["correlation"] = _corr_shape(row[:k], row[k:2 * k], row[2 * k:])
    results["regions"] = {r[0]: _region_entry(*r[1:]) for r in results["regions"]}
    results["rain_snow"] = _rain_snow(results["rain_snow"])
    return info, rows, load_s, timings, results


def _corr_shape(rs, ns, diag_n):
    k = len(VARS)
    r = [[None] * k for _ in range(k)]
    n = [[0] * k for _ in range(k)]
    for (i, j), rv, nv in zip(PAIRS, rs, ns):
        r[i][j] = r[j][i] = _clean(rv)
        n[i][j] = n[j][i] = int(nv)
    for i in range(k):
        n[i][i] = int(diag_n[i])
    return {"r": r, "n": n}


def child_pandas(parquet, repeat):
    import numpy as np
    import pandas as pd
    info = {"version": pd.__version__}
    t = time.perf_counter()
    df = pd.read_parquet(parquet)
    load_s = time.perf_counter() - t
    rows = len(df)

    def correlation():
        r = df[VARS].corr()  # pairwise complete
        present = df[VARS].notna().to_numpy(dtype=np.float64)
        return r.to_numpy(), present.T @ present

    def regions():
        return df.groupby("region", sort=True, dropna=True).agg(
            count=("observed_at", "size"),
            t_mean=("temperature_c", "mean"), t_min=("temperature_c", "min"),
            t_max=("temperature_c", "max"),
            h_mean=("humidity_pct", "mean"), h_min=("humidity_pct", "min"),
            h_max=("humidity_pct", "max"),
            p_mean=("pressure_hpa", "mean"), w_mean=("wind_speed_ms", "mean"))

    def rain_snow():
        latest_idx = df.groupby("place_id", sort=False)["observed_at"].idxmax().to_numpy()
        latest = df.loc[latest_idx, ["region", "rain_mm", "snow_mm"]]
        rain = (latest["rain_mm"] > 0).to_numpy()
        snow = (latest["snow_mm"] > 0).to_numpy()
        flags = pd.DataFrame({"region": latest["region"].to_numpy(), "rain": rain,
                              "snow": snow, "both": rain & snow})
        return flags.groupby("region", sort=False, dropna=False)[["rain", "snow", "both"]].sum()

    run = {"correlation": correlation, "regions": regions, "rain_snow": rain_snow}
    timings, results = {}, {}
    for name in ANALYSES:
        results[name], timings[name] = _timed(run[name], repeat)
    r, n = results["correlation"]
    results["correlation"] = _corr_shape([r[i, j] for i, j in PAIRS],
                                         [n[i, j] for i, j in PAIRS],
                                         [n[i, i] for i in range(len(VARS))])
    results["regions"] = {
        str(reg): _region_entry(*[_clean(v) for v in row])
        for reg, row in zip(results["regions"].index, results["regions"].itertuples(index=False))}
    results["rain_snow"] = _rain_snow(
        (None if (isinstance(reg, float) and math.isnan(reg)) or reg is None or reg is pd.NA
         else str(reg), row.rain, row.snow, row.both)
        for reg, row in zip(results["rain_snow"].index,
                            results["rain_snow"].itertuples(index=False)))
    return info, rows, load_s, timings, results


def child_spark(parquet, repeat, memory):
    import warnings
    warnings.filterwarnings("ignore", category=FutureWarning)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    import pyspark
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    t = time.perf_counter()
    spark = (SparkSession.builder.master("local[2]").appName("meteo-peers")
             .config("spark.driver.memory", memory)
             .config("spark.driver.host", "127.0.0.1")
             .config("spark.driver.bindAddress", "127.0.0.1")
             .config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "4")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    info = {"version": pyspark.__version__,
            "startup_s": time.perf_counter() - t,
            "java": spark.sparkContext._jvm.java.lang.System.getProperty("java.version"),
            "settings": f"local[2], driver memory {memory}, shuffle partitions 4"}
    try:
        t = time.perf_counter()
        df = spark.read.parquet(parquet).cache()
        rows = df.count()
        load_s = time.perf_counter() - t

        corr_exprs = ([F.corr(VARS[i], VARS[j]) for i, j in PAIRS]
                      + [F.regr_count(F.col(VARS[i]), F.col(VARS[j])) for i, j in PAIRS]
                      + [F.count(v) for v in VARS])

        def correlation():
            return df.agg(*corr_exprs).collect()

        def regions():
            return (df.where(F.col("region").isNotNull()).groupBy("region").agg(
                F.count(F.lit(1)),
                F.avg("temperature_c"), F.min("temperature_c"), F.max("temperature_c"),
                F.avg("humidity_pct"), F.min("humidity_pct"), F.max("humidity_pct"),
                F.avg("pressure_hpa"), F.avg("wind_speed_ms"))
                .orderBy("region").collect())

        def rain_snow():
            latest = df.groupBy("place_id").agg(
                F.max_by(F.struct("region", "rain_mm", "snow_mm"), "observed_at").alias("l"))
            rain = F.col("l.rain_mm") > 0
            snow = F.col("l.snow_mm") > 0
            return (latest.groupBy(F.col("l.region").alias("region")).agg(
                F.count(F.when(rain, 1)), F.count(F.when(snow, 1)),
                F.count(F.when(rain & snow, 1))).collect())

        run = {"correlation": correlation, "regions": regions, "rain_snow": rain_snow}
        timings, results = {}, {}
        for name in ANALYSES:
            results[name], timings[name] = _timed(run[name], repeat)
    finally:
        spark.stop()
    k = len(PAIRS)
    row = list(results["correlation"][0])
    results["correlation"] = _corr_shape(row[:k], row[k:2 * k], row[2 * k:])
    results["regions"] = {r[0]: _region_entry(*[_clean(v) for v in r[1:]])
                          for r in results["regions"]}
    results["rain_snow"] = _rain_snow(tuple(r) for r in results["rain_snow"])
    return info, rows, load_s, timings, results


def results_from_report(rep):
    """The common result shape, from a spec report (the reference's or Meteo's)."""
    c = rep["correlation"]
    regions = {e["region"]: _region_entry(
        e["observations"],
        e["temperature_c"]["mean"], e["temperature_c"]["min"], e["temperature_c"]["max"],
        e["humidity_pct"]["mean"], e["humidity_pct"]["min"], e["humidity_pct"]["max"],
        e["pressure_hpa"]["mean"], e["wind_speed_ms"]["mean"]) for e in rep["regions"]}
    per = {}
    for pos, key in enumerate(("rain_places", "snow_places", "rain_and_snow_places")):
        for e in rep[key]["by_region"]:
            per.setdefault(e["region"], [0, 0, 0])[pos] = e["count"]
    rs = _rain_snow((r, *v) for r, v in per.items())
    rs["total"] = {"rain": rep["rain_places"]["count"], "snow": rep["snow_places"]["count"],
                   "both": rep["rain_and_snow_places"]["count"]}
    return {"correlation": {"r": c["matrix"], "n": c["n"]}, "regions": regions,
            "rain_snow": rs}


def child_numpy(parquet, window, top, report_out):
    import numpy as np
    import pyarrow
    import pyarrow.parquet as pq
    import analytics_reference as ref
    info = {"version": f"numpy {np.__version__}, pyarrow {pyarrow.__version__}"}
    t = time.perf_counter()
    cols = ref.columns_from_arrow(pq.read_table(parquet, columns=ref.HEADER))
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    report = ref.analyze(cols, window=window, top=top)
    info["analyze_s"] = time.perf_counter() - t
    if report_out:
        with open(report_out, "wb") as f:
            f.write(ref.to_json(report).encode("utf-8"))
    return info, len(cols["observed_at"]), load_s, {}, results_from_report(report)


def child_main(args):
    try:
        if args.child == "duckdb":
            out = child_duckdb(args.parquet, args.repeat)
        elif args.child == "pandas":
            out = child_pandas(args.parquet, args.repeat)
        elif args.child == "spark":
            out = child_spark(args.parquet, args.repeat, args.spark_memory)
        elif args.child == "numpy":
            out = child_numpy(args.parquet, args.window, args.top, args.report_out)
        else:
            raise ValueError(f"unknown engine {args.child}")
    except Exception:
        traceback.print_exc()
        return 1
    info, rows, load_s, timings, results = out
    payload = {
        "engine": args.child, "info": info, "rows": rows, "load_s": load_s,
        "timings_s": {k: statistics.median(v) for k, v in timings.items()},
        "all_timings_s": timings,
        "ru_maxrss_self_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "results": results,
    }
    sys.stdout.write(MARK + json.dumps(_clean(payload), allow_nan=False) + "\n")
    sys.stdout.flush()
    return 0


# ============================================================================ parent

def _read_status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line[:5]] = int(line.split()[1]) * 1024
    except OSError:
        pass
    return out


def _descendants(root):
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(d))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


class TreeMemory(threading.Thread):
    """Samples a process tree: peak of summed VmRSS, and the last VmHWM of each process."""

    def __init__(self, pid, interval=0.05):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.stop_event = threading.Event()
        self.hwm = {}
        self.peak_rss = 0

    def run(self):
        while not self.stop_event.is_set():
            total = 0
            for pid in _descendants(self.pid):
                st = _read_status(pid)
                if "VmHWM" in st:
                    self.hwm[pid] = max(self.hwm.get(pid, 0), st["VmHWM"])
                total += st.get("VmRSS", 0)
            self.peak_rss = max(self.peak_rss, total)
            self.stop_event.wait(self.interval)

    def result(self):
        return {"tree_hwm_bytes": sum(self.hwm.values()), "tree_rss_peak_bytes": self.peak_rss,
                "processes": len(self.hwm)}


def run_child(engine, parquet, args, report_out=None, window=3600, top=5):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", engine, "--parquet", parquet,
           "--repeat", str(args.repeat), "--spark-memory", args.spark_memory,
           "--window", str(window), "--top", str(top)]
    if report_out:
        cmd += ["--report-out", report_out]
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        mem = TreeMemory(proc.pid)
        mem.start()
        try:
            proc.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
        except KeyboardInterrupt:
            os.killpg(proc.pid, 9)
            raise
        finally:
            mem.stop_event.set()
            mem.join()
        wall = time.perf_counter() - t
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    payload = None
    for line in stdout.splitlines():
        if line.startswith(MARK):
            payload = json.loads(line[len(MARK):])
    if proc.returncode != 0 or payload is None:
        tail = "\n".join(stderr.strip().splitlines()[-25:])
        why = (f"timed out after {args.timeout} s" if proc.returncode == -9
               else f"exit status {proc.returncode}")
        return {"engine": engine, "error": f"{why}\n{tail}"}
    payload["memory"] = mem.result()
    payload["wall_s"] = wall
    return payload


def ensure_parquet(d):
    csv_path = os.path.join(d, "observations.csv")
    pq_path = os.path.join(d, "observations.parquet")
    if not os.path.exists(csv_path):
        raise FileNotFoundError(f"{csv_path} not found")
    if os.path.exists(pq_path) and os.path.getmtime(pq_path) >= os.path.getmtime(csv_path):
        return pq_path, None
    import duckdb
    q = lambda s: "'" + s.replace("'", "''") + "'"  # noqa: E731
    columns = "{" + ", ".join(f"{q(k)}: {q(v)}" for k, v in COLUMN_TYPES.items()) + "}"
    tmp = pq_path + ".tmp"
    t = time.perf_counter()
    con = duckdb.connect(":memory:")
    try:
        con.execute(
            f"COPY (SELECT * FROM read_csv({q(csv_path)}, header = true, delim = ',', "
            f"quote = '\"', escape = '\"', nullstr = '', auto_detect = false, "
            f"columns = {columns})) TO {q(tmp)} (FORMAT parquet, COMPRESSION zstd)")
    finally:
        con.close()
    os.replace(tmp, pq_path)
    return pq_path, time.perf_counter() - t


# ---------------------------------------------------------------------------- comparison

def _rel(a, b):
    return abs(a - b) / abs(b) if b != 0 else abs(a - b)


def compare(ref, got):
    """Max rel. error of r and of region means, and the exact mismatches (counts, n, min/max,
    null-ness); errors above the spec's tolerance are listed apart, in `tolerance`."""
    bad, tol, err_r, err_mean, worst_r = [], [], 0.0, 0.0, None
    k = len(VARS)
    for i in range(k):
        for j in range(k):
            if ref["correlation"]["n"][i][j] != got["correlation"]["n"][i][j]:
                bad.append(f"n[{VARS[i]}][{VARS[j]}]: {got['correlation']['n'][i][j]} "
                           f"!= {ref['correlation']['n'][i][j]}")
    for i, j in PAIRS:
        a, b = got["correlation"]["r"][i][j], ref["correlation"]["r"][i][j]
        if (a is None) != (b is None):
            bad.append(f"r[{VARS[i]}][{VARS[j]}]: {a} vs reference {b}")
        elif a is not None and _rel(a, b) >= err_r:
            err_r = _rel(a, b)
            worst_r = f"{VARS[i]} ~ {VARS[j]}: r = {b!r}, engine {a!r}"
    rr, gr = ref["regions"], got["regions"]
    for name in sorted(set(rr) | set(gr)):
        if name not in rr or name not in gr:
            bad.append(f"region {name!r} only in {'reference' if name in rr else 'engine'}")
            continue
        a, b = gr[name], rr[name]
        if a["count"] != b["count"]:
            bad.append(f"region {name!r} count {a['count']} != {b['count']}")
        for var in ("temperature_c", "humidity_pct", "pressure_hpa", "wind_speed_ms"):
            for stat, vb in b[var].items():
                va = a[var].get(stat)
                if (va is None) != (vb is None):
                    bad.append(f"region {name!r} {var}.{stat}: {va} vs reference {vb}")
                elif va is None:
                    continue
                elif stat == "mean":
                    err_mean = max(err_mean, _rel(va, vb))
                elif va != vb:
                    bad.append(f"region {name!r} {var}.{stat}: {va!r} != {vb!r}")
    if got["rain_snow"]["total"] != ref["rain_snow"]["total"]:
        bad.append(f"rain_snow total {got['rain_snow']['total']} != {ref['rain_snow']['total']}")
    ga = {e[0]: e[1:] for e in got["rain_snow"]["by_region"]}
    ra = {e[0]: e[1:] for e in ref["rain_snow"]["by_region"]}
    if ga != ra:
        for name in sorted(set(ga) | set(ra), key=lambda s: (s is None, s or "")):
            if ga.get(name) != ra.get(name):
                bad.append(f"rain_snow region {name!r}: (rain, snow, both) = {ga.get(name)} "
                           f"!= {ra.get(name)}")
    if err_r > REL_TOLERANCE:
        tol.append(f"max rel. error of r {err_r:.3g} > {REL_TOLERANCE:g} ({worst_r})")
    if err_mean > REL_TOLERANCE:
        tol.append(f"max rel. error of region means {err_mean:.3g} > {REL_TOLERANCE:g}")
    return {"max_rel_err_r": err_r, "worst_r": worst_r, "max_rel_err_means": err_mean,
            "mismatches": bad, "tolerance": tol}


def compare_reports(ref, got, path="report", out=None, tol=REL_TOLERANCE):
    """Field-by-field check of a whole spec report: means and r to tol, everything else exact."""
    out = [] if out is None else out
    if isinstance(ref, dict):
        # Meteo's report adds `engine` and `filter` at the top (docs/analytics.md).
        extra = {"engine", "filter"} if path == "report" else set()
        if not isinstance(got, dict) or set(ref) != set(got) - extra:
            out.append(f"{path}: keys {sorted(got) if isinstance(got, dict) else type(got).__name__}"
                       f" != {sorted(ref)}")
            return out
        for k in ref:
            compare_reports(ref[k], got[k], f"{path}.{k}", out, tol)
    elif isinstance(ref, list):
        if not isinstance(got, list) or len(got) != len(ref):
            out.append(f"{path}: length {len(got) if isinstance(got, list) else got!r} "
                       f"!= {len(ref)}")
            return out
        for i, (a, b) in enumerate(zip(ref, got)):
            compare_reports(a, b, f"{path}[{i}]", out, tol)
    elif isinstance(ref, float) and isinstance(got, (int, float)) and not isinstance(got, bool):
        approx = path.endswith(".mean") or ".matrix[" in path or (
            ".windows.series[" in path and not path.endswith((".observations", ".start")))
        if (approx and _rel(got, ref) > tol) or (not approx and got != ref):
            out.append(f"{path}: {got!r} != {ref!r}")
    elif type(ref) is not type(got) or ref != got:
        if not (isinstance(ref, int) and isinstance(got, float) and got == ref):
            out.append(f"{path}: {got!r} != {ref!r}")
    return out


# ---------------------------------------------------------------------------- output

def fmt_time(s):
    if s is None:
        return "—"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms" if s < 0.1 else f"{s * 1e3:.0f} ms"
    return f"{s:.2f} s"


def fmt_bytes(b):
    if b is None:
        return "—"
    if b >= 1 << 30:
        return f"{b / (1 << 30):.2f} GiB"
    return f"{b / (1 << 20):.0f} MiB"


def fmt_ratio(a, b):
    if a is None or b is None or b == 0:
        return "—"
    return f"{a / b:.3g}×"


def machine_info():
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    ram = int(line.split()[1]) * 1024
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu, "cores": cores, "ram": ram, "os": platform.platform(),
            "python": platform.python_version(),
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def build_table(engines, meteo):
    """Rows of cells: analyses, load, memory, errors; columns engines then ratios."""
    cols = ["meteo"] + [e for e in PEERS if e in engines]
    header = ["", *[LABEL[c] for c in cols], *[f"Meteo ÷ {LABEL[c]}" for c in cols[1:]]]
    value = {}
    for c in cols:
        e = meteo if c == "meteo" else engines[c]
        value[c] = e
    rows = []

    def num_row(title, get, fmt, ratio=True):
        vals = {c: (get(value[c]) if value[c] and "error" not in value[c] else None) for c in cols}
        cells = [fmt(vals[c]) if value[c] and "error" not in value[c] else "FAILED"
                 if value[c] else "—" for c in cols]
        ratios = [fmt_ratio(vals["meteo"], vals[c]) if ratio else "—" for c in cols[1:]]
        rows.append([title, *cells, *ratios])

    for a in ANALYSES:
        num_row(a, lambda e, a=a: e.get("timings_s", {}).get(a), fmt_time)
    num_row("load (Parquet → memory)", lambda e: e.get("load_s") if not isinstance(
        e.get("load_s"), dict) else None, fmt_time, ratio=False)
    num_row("peak memory", lambda e: e.get("peak_bytes"), fmt_bytes)
    num_row("max rel. error vs numpy (r / means)", lambda e: e.get("cmp"),
            lambda c: "—" if c is None else
            f"{c['max_rel_err_r']:.1e} / {c['max_rel_err_means']:.1e}", ratio=False)
    num_row("counts, n, min/max vs numpy", lambda e: e.get("cmp"),
            lambda c: "—" if c is None else
            ("equal" if not c["mismatches"] else f"{len(c['mismatches'])} MISMATCHES"),
            ratio=False)
    return header, rows


def render_text(header, rows):
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)  # noqa: E731
                               for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def render_markdown(header, rows):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


# ---------------------------------------------------------------------------- main

def bench_dir(d, args, failures):
    print(f"\n=== {d}")
    notes = []
    pq_path, conv_s = ensure_parquet(d)
    notes.append(f"Parquet: {pq_path} " + (f"converted from the CSV by DuckDB in {fmt_time(conv_s)}"
                                           if conv_s is not None else "reused (newer than the CSV)")
                 + f", {fmt_bytes(os.path.getsize(pq_path))}")
    print(notes[-1])

    meteo = None
    mpath = os.path.join(d, "meteo.json")
    try:
        with open(mpath, encoding="utf-8") as f:
            mj = json.load(f)
        meteo = {"engine": "meteo", "timings_s": mj.get("timings_s", {}),
                 "load_s": mj.get("load_s"), "peak_bytes": mj.get("peak_rss_bytes"),
                 "rows": mj.get("rows"), "report": mj.get("report")}
    except (OSError, ValueError) as e:
        print(f"!!! Meteo: cannot read {mpath}: {e}")
        failures.append(f"{d}: meteo.json: {e}")
    window, top = 3600, 5
    if meteo and isinstance(meteo.get("report"), dict):
        window = meteo["report"].get("windows", {}).get("width_s", window)
        top = meteo["report"].get("extremes", {}).get("n", top)

    ref_path = os.path.join(d, "reference.json")
    print("numpy reference … ", end="", flush=True)
    ref = run_child("numpy", pq_path, args, report_out=ref_path, window=window, top=top)
    if "error" in ref:
        print(f"FAILED\n!!! numpy reference failed: {ref['error']}")
        failures.append(f"{d}: numpy reference failed")
    else:
        print(f"{ref['rows']} rows, load {fmt_time(ref['load_s'])}, analyze (whole report) "
              f"{fmt_time(ref['info']['analyze_s'])}, peak {fmt_bytes(ref['memory']['tree_hwm_bytes'])}"
              f" → {ref_path}")

    engines = {}
    for peer in args.peers:
        print(f"{LABEL[peer]} … ", end="", flush=True)
        res = run_child(peer, pq_path, args)
        if "error" in res:
            print(f"FAILED\n!!! {LABEL[peer]} failed: {res['error']}")
            failures.append(f"{d}: {LABEL[peer]} failed")
        else:
            res["peak_bytes"] = res["memory"]["tree_hwm_bytes"]
            print(f"{res['rows']} rows, " + ", ".join(
                f"{a} {fmt_time(res['timings_s'][a])}" for a in ANALYSES)
                + f", load {fmt_time(res['load_s'])}, peak {fmt_bytes(res['peak_bytes'])}")
        engines[peer] = res

    # comparisons with the reference
    if "error" not in ref:
        if meteo and isinstance(meteo.get("report"), dict):
            try:
                meteo["results"] = results_from_report(meteo["report"])
            except (KeyError, TypeError) as e:
                print(f"!!! Meteo: the report lacks a field: {e!r}")
                failures.append(f"{d}: Meteo report lacks a field")
            with open(ref_path, encoding="utf-8") as f:
                full = compare_reports(json.load(f), meteo["report"])
            if full:
                print(f"!!! Meteo report vs reference.json: {len(full)} field(s) differ, e.g.:")
                for m in full[:10]:
                    print(f"      {m}")
                failures.append(f"{d}: Meteo report differs from the reference in {len(full)} fields")
            else:
                print("Meteo's whole report matches reference.json field by field "
                      f"(means and r to {REL_TOLERANCE:g} relative, the rest exact)")
        elif meteo:
            print("!!! Meteo: meteo.json has no report")
            failures.append(f"{d}: meteo.json has no report")
        for name, e in [("meteo", meteo), *engines.items()]:
            if not e or "error" in e or "results" not in e:
                continue
            if e.get("rows") is not None and e["rows"] != ref["rows"]:
                print(f"!!! {LABEL[name]}: {e['rows']} rows, the reference has {ref['rows']}")
                failures.append(f"{d}: {LABEL[name]} row count")
            e["cmp"] = compare(ref["results"], e["results"])
            if e["cmp"]["tolerance"]:
                if name == "meteo":  # the spec's tolerance binds Meteo, not the peers
                    print(f"!!! Meteo exceeds the spec's tolerance: {e['cmp']['tolerance']}")
                    failures.append(f"{d}: Meteo exceeds the spec's tolerance")
                else:
                    print(f"note: {LABEL[name]}: {'; '.join(e['cmp']['tolerance'])} "
                          "(its own numerics; only Meteo must meet the spec's tolerance)")
            if e["cmp"]["mismatches"]:
                print(f"!!! {LABEL[name]} DIFFERS from the numpy reference "
                      f"({len(e['cmp']['mismatches'])}):")
                for m in e["cmp"]["mismatches"][:15]:
                    print(f"      {m}")
                failures.append(f"{d}: {LABEL[name]} differs from the reference")

    header, rows = build_table(engines, meteo)
    rows_n = ref.get("rows") or (meteo or {}).get("rows")
    title = f"{d} — {rows_n:,} rows" if rows_n is not None else d
    print(f"\n{title}, median of {args.repeat} runs (ratio < 1: Meteo is faster / smaller)")
    print(render_text(header, rows))
    if meteo and isinstance(meteo.get("load_s"), dict):
        notes.append("Meteo load: " + ", ".join(
            f"{k} {fmt_time(v) if isinstance(v, (int, float)) else '—'}"
            for k, v in meteo["load_s"].items()))
    if engines.get("spark") and "error" not in engines["spark"]:
        si = engines["spark"]["info"]
        notes.append(f"Spark: session start {fmt_time(si['startup_s'])} (not in load), "
                     f"{si['settings']}, Java {si['java']}")
    if engines.get("duckdb") and "error" not in engines["duckdb"]:
        notes.append(f"DuckDB threads: {engines['duckdb']['info']['threads']}")
    for n in notes:
        print("  " + n)
    versions = {LABEL[k]: v["info"]["version"] for k, v in engines.items() if "error" not in v}
    if engines.get("spark") and "error" not in engines["spark"]:
        versions["Java"] = engines["spark"]["info"]["java"]
    if "error" not in ref:
        versions["reference"] = ref["info"]["version"]
    return {"dir": d, "title": title, "header": header, "rows": rows, "notes": notes,
            "versions": versions,
            "details": {"reference": {k: v for k, v in ref.items() if k != "results"},
                        **{k: {kk: vv for kk, vv in v.items() if kk != "results"}
                           for k, v in engines.items()}}}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dirs", nargs="*", metavar="D", help="workload directories")
    p.add_argument("--peers", default=",".join(PEERS), help="comma-separated: duckdb,pandas,spark")
    p.add_argument("--repeat", type=int, default=3, help="runs per analysis (median reported)")
    p.add_argument("--markdown", help="also write the tables as Markdown to this file")
    p.add_argument("--json", help="also write all measurements as JSON to this file")
    p.add_argument("--spark-memory", default="6g", help="spark.driver.memory (6g)")
    p.add_argument("--timeout", type=int, default=3600, help="seconds per child (3600)")
    # internal: one engine in a child process
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--parquet", help=argparse.SUPPRESS)
    p.add_argument("--window", type=int, default=3600, help=argparse.SUPPRESS)
    p.add_argument("--top", type=int, default=5, help=argparse.SUPPRESS)
    p.add_argument("--report-out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return child_main(args)
    if not args.dirs:
        p.error("give at least one workload directory")
    args.peers = [s.strip().lower() for s in args.peers.split(",") if s.strip()]
    unknown = [s for s in args.peers if s not in PEERS]
    if unknown:
        p.error(f"unknown peers {unknown}; choose from {PEERS}")
    if args.repeat < 1:
        p.error("--repeat must be >= 1")

    m = machine_info()
    header_lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {fmt_bytes(m['ram'])} RAM; {m['os']}; "
        f"Python {m['python']}; {m['date']}",
        "Peak memory: per engine, the sum over its process tree (Spark: Python driver + JVM) "
        "of each process's VmHWM, read from /proc every 50 ms; Meteo: its peak_rss_bytes.",
    ]
    for line in header_lines:
        print(line)
    failures, sections = [], []
    for d in args.dirs:
        try:
            sections.append(bench_dir(d, args, failures))
        except OSError as e:
            print(f"!!! {d}: {e}")
            failures.append(f"{d}: {e}")
        except Exception as e:  # a broken directory must not stop the others
            traceback.print_exc()
            print(f"!!! {d}: {e}")
            failures.append(f"{d}: {e}")
    versions = {}
    for s in sections:
        versions.update(s["versions"])
    vline = "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items())
    print("\n" + vline)
    if args.markdown:
        md = ["### Meteo analytics vs peers", "", *[f"{line}  " for line in header_lines],
              vline, ""]
        for s in sections:
            md += [f"#### {s['title']} (median of {args.repeat} runs; ratio < 1: Meteo is "
                   f"faster / smaller)", "", render_markdown(s["header"], s["rows"]), ""]
            md += [f"- {n}" for n in s["notes"]] + [""]
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write("\n".join(md))
        print(f"Markdown written to {args.markdown}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(_clean({"machine": m, "versions": versions, "sections": sections}), f,
                      indent=2, allow_nan=False)
    if failures:
        print(f"\n!!! {len(failures)} problem(s):")
        for f_ in failures:
            print(f"    {f_}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
