#!/usr/bin/env python3
"""Meteo on Spark vs pyspark (same server, same lake) vs Meteo's in-process engine.

Standard library only; scripts/bench spark makes the data and runs it:

    python3 Benchmarks/Spark/bench.py run --bin METEO --remote sc://HOST:PORT --peer-python PY
        --size N:ROWS:DIR [--size ...] --tiny ROWS:DIR [--repeat 1] [--server-pid PID]
        [--out .build/bench-spark]

Each --size is a data dir written by `meteo demo --lake DIR/lake` (ROWS observations in
DIR/store.sqlite and in the lake; N the size asked for); --tiny the same for the fixed-cost
lake. For each size, first untimed (it also warms the page cache and the server's JIT):
`meteo analyze --engine spark` and `--engine in-process` once each, whose observation counts
must both be ROWS (else the run stops with exit status 1), and whose places and rain/snow
counts must agree. Then --repeat times, in this order, each timed by its process wall time:

  Meteo on Spark   meteo analyze --engine spark --spark REMOTE --lake DIR/lake --data-dir DIR
                   --format json --log-level info; its `analysed on Spark` line gives prepare
                   (read, dedupe, cache) and elapsed (the analysis, after the connection);
  pyspark          Benchmarks/Spark/pyspark_peer.py on the same server and lake (its JSON
                   gives session creation, prepare and the aggregates); its results are checked
                   against Meteo's report (counts and the first place of each list exactly,
                   two correlations to 1e-9 relative);
  in-process       meteo analyze --engine in-process --data-dir DIR --format json --log-level
                   info (the SQLite store the same demo wrote); its `analysed` line gives
                   load_ms and analyse_ms.

Then the fixed cost: Meteo on Spark and pyspark on the tiny lake. With --server-pid, every
timed run starts once the server is (nearly) idle. Of the --repeat runs, the one with the
shortest wall time is shown. Prints the machine (and the range of the 1-minute load average
at the start of the runs: other work on the machine skews the times), one table and the
ratios, and writes them to OUT/table.md, every run to OUT/results.json and the logs to
OUT/logs/.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # Benchmarks/
from benchlib import (REPO, BenchError, command_parser, fmt_seconds, positive,  # noqa: E402
                      quiesce, run_command, say)

PEER = os.path.join(REPO, "Benchmarks", "Spark", "pyspark_peer.py")
NUMBER = r"([0-9.]+(?:e[-+]?[0-9]+)?)"


# ============================================================================ runs

def run_process(argv: list[str], log_path: str, stdout_path: str | None = None,
                timeout: float = 7200) -> tuple[float, str, str]:
    """Runs argv; returns (wall seconds, stdout, stderr). Its stderr goes to log_path, its
    stdout to stdout_path if given. A failure is a BenchError with the end of the log."""
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    wall = time.perf_counter() - t0
    with open(log_path, "w") as f:
        f.write(p.stderr)
    if stdout_path:
        with open(stdout_path, "w") as f:
            f.write(p.stdout)
    if p.returncode != 0:
        tail = "\n".join(p.stderr.strip().splitlines()[-15:])
        raise BenchError(f"{' '.join(argv[:3])} … failed (exit status {p.returncode}); {log_path} ends:\n{tail}")
    LOADS.append(load)
    return wall, p.stdout, p.stderr


# The 1-minute load average at the start of every run (other work on the machine skews times).
LOADS: list[float] = []


def duration_field(log: str, line_marker: str, key: str) -> float | None:
    """The `key=<n> seconds` metadata of the last log line containing line_marker."""
    lines = [ln for ln in log.splitlines() if line_marker in ln]
    if not lines:
        return None
    m = re.search(rf"\b{key}={NUMBER} seconds", lines[-1])
    return float(m.group(1)) if m else None


def ms_field(log: str, line_marker: str, key: str) -> float | None:
    lines = [ln for ln in log.splitlines() if re.search(line_marker, ln)]
    if not lines:
        return None
    m = re.search(rf"\b{key}=([0-9]+)\b", lines[-1])
    return int(m.group(1)) / 1000 if m else None


class Runner:
    def __init__(self, args):
        self.args = args
        self.logs = os.path.join(args.out, "logs")
        os.makedirs(self.logs, exist_ok=True)

    def quiet(self) -> None:
        quiesce(self.args.server_pid, timeout=120, report="Spark server")

    def meteo_spark(self, rows: int, data: str, tag: str) -> dict:
        self.quiet()
        base = os.path.join(self.logs, f"meteo-spark-{rows}-{tag}")
        wall, out, err = run_process(
            [self.args.bin, "analyze", "--engine", "spark", "--spark", self.args.remote,
             "--lake", os.path.join(data, "lake"), "--data-dir", data,
             "--format", "json", "--log-level", "info"], base + ".log", base + ".json")
        report = json.loads(out)
        prepare = duration_field(err, "analysed on Spark", "prepare")
        elapsed = duration_field(err, "analysed on Spark", "elapsed")
        if prepare is None or elapsed is None:
            raise BenchError(f"no 'analysed on Spark … prepare=… elapsed=…' line in {base}.log")
        return {"engine": "meteo-spark", "wall_s": wall, "analysis_s": elapsed, "prepare_s": prepare,
                "aggregate_s": elapsed - prepare, "report": report}

    def in_process(self, rows: int, data: str, tag: str) -> dict:
        base = os.path.join(self.logs, f"meteo-in-process-{rows}-{tag}")
        wall, out, err = run_process(
            [self.args.bin, "analyze", "--engine", "in-process", "--data-dir", data,
             "--format", "json", "--log-level", "info"], base + ".log", base + ".json")
        report = json.loads(out)
        load = ms_field(err, r"\banalysed\b(?! on)", "load_ms")
        analyse = ms_field(err, r"\banalysed\b(?! on)", "analyse_ms")
        if load is None or analyse is None:
            raise BenchError(f"no 'analysed … load_ms=… analyse_ms=…' line in {base}.log")
        return {"engine": "in-process", "wall_s": wall, "analysis_s": load + analyse, "prepare_s": load,
                "aggregate_s": analyse, "report": report}

    def pyspark(self, rows: int, data: str, tag: str) -> dict:
        self.quiet()
        base = os.path.join(self.logs, f"pyspark-{rows}-{tag}")
        wall, out, _ = run_process(
            [self.args.peer_python, PEER, "--remote", self.args.remote, "--lake", os.path.join(data, "lake"),
             "--window", "3600", "--top", "5", "--threads", str(self.args.peer_threads)],
            base + ".log", base + ".json")
        r = json.loads(out.strip().splitlines()[-1])
        return {"engine": "pyspark", "wall_s": wall, "session_s": r["session_s"], "import_s": r["import_s"],
                "session_to_last_s": r["total_s"], "analysis_s": r["prepare_s"] + r["aggregate_s"],
                "prepare_s": r["prepare_s"], "aggregate_s": r["aggregate_s"], "check": r["check"],
                "spark_version": r.get("spark_version")}


# ============================================================================ checks

def iso_seconds(text: str | None) -> int | None:
    if text is None:
        return None
    import datetime as dt
    return int(dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc).timestamp())


def report_figures(report: dict) -> dict:
    """The figures of a Meteo report that pyspark_peer.py's check holds too."""
    o = report["observations"]
    ex = report["extremes"]
    first = lambda rows: rows[0]["place_id"] if rows else None  # noqa: E731
    variables = report["correlation"]["variables"]
    matrix = report["correlation"]["matrix"]
    t, f, h = variables.index("temperature_c"), variables.index("feels_like_c"), variables.index("humidity_pct")
    return {
        "observations": o["count"], "places": o["places"], "first": iso_seconds(o["first"]),
        "last": iso_seconds(o["last"]), "regions": len(report["regions"]), "countries": len(report["countries"]),
        "windows": len(report["windows"]["series"]),
        "rain": report["rain_places"]["count"], "snow": report["snow_places"]["count"],
        "rain_and_snow": report["rain_and_snow_places"]["count"],
        "rain_places": len(report["rain_places"]["places"]), "snow_places": len(report["snow_places"]["places"]),
        "rain_and_snow_places": len(report["rain_and_snow_places"]["places"]),
        "hottest": first(ex["hottest"]), "coldest": first(ex["coldest"]), "windiest": first(ex["windiest"]),
        "wettest": first(ex["wettest"]),
        "r_temperature_feels_like": matrix[t][f], "r_temperature_humidity": matrix[t][h],
    }


def differences(a: dict, b: dict, keys=None) -> list[str]:
    out = []
    for k in keys or a.keys():
        x, y = a.get(k), b.get(k)
        if isinstance(x, float) or isinstance(y, float):
            if x is None or y is None or not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12):
                out.append(f"{k}: {x} vs {y}")
        elif x != y:
            out.append(f"{k}: {x} vs {y}")
    return out


# ============================================================================ machine

def machine(server_pid: int | None) -> dict:
    m = {"nproc": os.cpu_count(), "cpu": "?", "memory_gb": None, "os": platform.platform(),
         "spark_master": None, "spark_driver_memory": None}
    try:
        with open("/proc/cpuinfo") as f:
            m["cpu"] = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "?")
        with open("/proc/meminfo") as f:
            kb = int(next(ln for ln in f if ln.startswith("MemTotal")).split()[1])
            m["memory_gb"] = round(kb / 1024 / 1024, 1)
    except (OSError, StopIteration, ValueError):
        pass
    if server_pid:
        try:
            with open(f"/proc/{server_pid}/cmdline", "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
            if "--master" in argv:
                m["spark_master"] = argv[argv.index("--master") + 1]
            for a in argv:
                if a.startswith("spark.driver.memory="):
                    m["spark_driver_memory"] = a.split("=", 1)[1]
                elif a.startswith("-Xmx") and not m["spark_driver_memory"]:
                    m["spark_driver_memory"] = a[4:]
        except OSError:
            pass
    return m


# ============================================================================ table

LABELS = {"meteo-spark": "Meteo on Spark", "pyspark": "pyspark (Connect)", "in-process": "Meteo in-process (SQLite)"}


def best(runs: list[dict]) -> dict:
    return min(runs, key=lambda r: r["wall_s"])


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "n/a"


def table(sizes: list[dict], tiny: dict, m: dict, remote: str, repeat: int, threads: int) -> list[str]:
    lines = [
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gb']} GB; Spark Connect server {remote}: "
        f"master {m['spark_master'] or '?'}, driver memory {m['spark_driver_memory'] or '?'}"
        f"{', Spark ' + tiny['spark_version'] if tiny.get('spark_version') else ''}.",
        f"1-minute load average at the start of the runs: {min(LOADS):.2f} to {max(LOADS):.2f} "
        f"({m['nproc']} CPUs; above it, other work shared the machine).",
        f"Seconds, the fastest wall time of {repeat} run(s). pyspark issues its queries "
        + ("one after the other" if threads <= 1 else f"from {threads} threads") + "; Meteo issues its ten at once.",
        "",
        "| rows | engine | process wall s | analysis s | prepare s | aggregates s | session→last result s |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]

    def row(label_rows: str, r: dict) -> str:
        last = fmt_seconds(r.get("session_to_last_s")) if r["engine"] == "pyspark" else ""
        return (f"| {label_rows} | {LABELS[r['engine']]} | {fmt_seconds(r['wall_s'])} | {fmt_seconds(r['analysis_s'])} "
                f"| {fmt_seconds(r['prepare_s'])} | {fmt_seconds(r['aggregate_s'])} | {last} |")

    for s in sizes:
        for engine in ("meteo-spark", "pyspark", "in-process"):
            lines.append(row(f"{s['rows']:,}", best(s["runs"][engine])))
    for engine in ("meteo-spark", "pyspark"):
        lines.append(row(f"{tiny['rows']:,} (fixed cost)", best(tiny["runs"][engine])))
    lines += [
        "",
        "| rows | Meteo-Spark / pyspark, wall | Meteo-Spark / pyspark, analysis | Meteo-Spark / pyspark, prepare "
        "| Meteo-Spark / in-process, wall | Meteo-Spark / in-process, analysis |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for s in sizes + [tiny]:
        ms, ps = best(s["runs"]["meteo-spark"]), best(s["runs"]["pyspark"])
        ip = best(s["runs"]["in-process"]) if "in-process" in s["runs"] else None
        label = f"{s['rows']:,}" + (" (fixed cost)" if s is tiny else "")
        lines.append(f"| {label} | {ratio(ms['wall_s'], ps['wall_s'])} | {ratio(ms['analysis_s'], ps['analysis_s'])} "
                     f"| {ratio(ms['prepare_s'], ps['prepare_s'])} | {ratio(ms['wall_s'], ip['wall_s']) if ip else 'n/a'} "
                     f"| {ratio(ms['analysis_s'], ip['analysis_s']) if ip else 'n/a'} |")
    lines += [
        "",
        "process wall: from the process's start to its exit (Meteo: with the connection to Spark; pyspark: with "
        "python's start, pyspark's import and the session's creation and release). analysis: Meteo on Spark's "
        "`elapsed` (after the connection, to the caches dropped), pyspark's prepare + aggregates (after the session's "
        "creation, to the last result collected), the in-process load + analyse. prepare: the lake read, deduplicated "
        "and cached with the latest rows (Spark), the store read into memory (in-process). Below 1 a ratio favours "
        "Meteo on Spark.",
    ]
    return lines


# ============================================================================ run

def parse_size(text: str, tiny: bool = False) -> dict:
    parts = text.split(":", 2 if not tiny else 1)
    if tiny:
        return {"asked": None, "rows": int(parts[0]), "dir": parts[1]}
    return {"asked": int(parts[0]), "rows": int(parts[1]), "dir": parts[2]}


def check_engines(runner: Runner, s: dict, in_process: bool) -> None:
    """Untimed: Meteo on Spark and in-process agree with the expected count (and each other)."""
    rows, data = s["rows"], s["dir"]
    say(f"== check, {rows:,} rows: meteo analyze --engine spark" + (" and --engine in-process" if in_process else ""))
    spark = runner.meteo_spark(rows, data, "check")
    n_spark = spark["report"]["observations"]["count"]
    say(f"   Meteo on Spark: {n_spark:,} observations (wall {fmt_seconds(spark['wall_s'])} s, untimed)")
    if n_spark != rows:
        raise BenchError(f"Meteo on Spark counted {n_spark:,} observations in {data}/lake, expected {rows:,}")
    if in_process:
        ip = runner.in_process(rows, data, "check")
        n_ip = ip["report"]["observations"]["count"]
        say(f"   in-process: {n_ip:,} observations (wall {fmt_seconds(ip['wall_s'])} s, untimed)")
        if n_ip != n_spark:
            raise BenchError(f"the engines disagree: Meteo on Spark counted {n_spark:,} observations, "
                             f"in-process {n_ip:,} (expected {rows:,})")
        diff = differences(report_figures(spark["report"]), report_figures(ip["report"]),
                           ["observations", "places", "first", "last", "regions", "countries", "windows",
                            "rain", "snow", "rain_and_snow", "hottest", "coldest", "windiest", "wettest"])
        if diff:
            raise BenchError("Meteo on Spark and in-process disagree on " + "; ".join(diff))
        say("   the two engines agree (count, places, first/last, groups, windows, rain/snow, extremes)")
    s["check"] = {"meteo_spark": report_figures(spark["report"])}


def check_peer(s: dict, peer: dict) -> None:
    mine = s["check"]["meteo_spark"]
    diff = differences(mine, peer["check"], [k for k in mine])
    if diff:
        raise BenchError(f"pyspark_peer.py and Meteo on Spark disagree on {s['rows']:,} rows: " + "; ".join(diff))


def cmd_run(args) -> int:
    os.makedirs(args.out, exist_ok=True)
    runner = Runner(args)
    m = machine(args.server_pid)
    say(f"== machine: nproc {m['nproc']} ({m['cpu']}), {m['memory_gb']} GB; Spark {args.remote}: "
        f"master {m['spark_master'] or '? (not our server)'}, driver memory {m['spark_driver_memory'] or '?'}")
    sizes = [parse_size(t) for t in args.size]
    tiny = parse_size(args.tiny, tiny=True)
    results = {"machine": m, "remote": args.remote, "repeat": args.repeat, "peer_threads": args.peer_threads,
               "sizes": sizes, "tiny": tiny}

    def write_results():
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump(results, f, indent=1, default=str)

    for s in sizes:
        check_engines(runner, s, in_process=True)
        s["runs"] = {"meteo-spark": [], "pyspark": [], "in-process": []}
        for i in range(1, args.repeat + 1):
            rows, data, tag = s["rows"], s["dir"], str(i)
            say(f"== {rows:,} rows, run {i}/{args.repeat}")
            r = runner.meteo_spark(rows, data, tag)
            r.pop("report")
            s["runs"]["meteo-spark"].append(r)
            say(f"   Meteo on Spark      wall {fmt_seconds(r['wall_s'])} s, elapsed {fmt_seconds(r['analysis_s'])} s, prepare {fmt_seconds(r['prepare_s'])} s")
            r = runner.pyspark(rows, data, tag)
            check_peer(s, r)
            s["runs"]["pyspark"].append(r)
            say(f"   pyspark             wall {fmt_seconds(r['wall_s'])} s, session→last result {fmt_seconds(r['session_to_last_s'])} s, prepare {fmt_seconds(r['prepare_s'])} s")
            r = runner.in_process(rows, data, tag)
            r.pop("report")
            s["runs"]["in-process"].append(r)
            say(f"   in-process          wall {fmt_seconds(r['wall_s'])} s, load {fmt_seconds(r['prepare_s'])} s, analyse {fmt_seconds(r['aggregate_s'])} s")
            write_results()

    check_engines(runner, tiny, in_process=False)
    tiny["runs"] = {"meteo-spark": [], "pyspark": []}
    for i in range(1, args.repeat + 1):
        say(f"== fixed cost, {tiny['rows']} rows, run {i}/{args.repeat}")
        r = runner.meteo_spark(tiny["rows"], tiny["dir"], str(i))
        r.pop("report")
        tiny["runs"]["meteo-spark"].append(r)
        say(f"   Meteo on Spark      wall {fmt_seconds(r['wall_s'])} s, elapsed {fmt_seconds(r['analysis_s'])} s, prepare {fmt_seconds(r['prepare_s'])} s")
        r = runner.pyspark(tiny["rows"], tiny["dir"], str(i))
        check_peer(tiny, r)
        tiny["runs"]["pyspark"].append(r)
        tiny["spark_version"] = r.get("spark_version")
        say(f"   pyspark             wall {fmt_seconds(r['wall_s'])} s, session→last result {fmt_seconds(r['session_to_last_s'])} s, prepare {fmt_seconds(r['prepare_s'])} s")
    write_results()

    results["load_average_at_start"] = {"min": min(LOADS), "max": max(LOADS)}
    write_results()
    lines = table(sizes, tiny, m, args.remote, args.repeat, args.peer_threads)
    say()
    for ln in lines:
        say(ln)
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write("# Meteo on Spark vs pyspark vs in-process (scripts/bench spark)\n\n" + "\n".join(lines) + "\n")
    say(f"\n== wrote {os.path.join(args.out, 'table.md')} and results.json")
    return 0


def main(argv=None) -> int:
    parser, sub = command_parser(__doc__)
    r = sub.add_parser("run", help="check and time the three engines")
    r.add_argument("--bin", required=True, help="the meteo executable (built with the Spark trait)")
    r.add_argument("--remote", required=True, help="Spark Connect URL")
    r.add_argument("--peer-python", required=True, help="python with pyspark[connect] (scripts/services/spark python)")
    r.add_argument("--size", action="append", required=True, help="N:ROWS:DIR, a data dir with DIR/lake")
    r.add_argument("--tiny", required=True, help="ROWS:DIR, the fixed-cost data dir")
    r.add_argument("--repeat", type=positive, default=1)
    r.add_argument("--peer-threads", type=positive, default=1, help="pyspark_peer.py --threads (1)")
    r.add_argument("--server-pid", type=int, help="the Spark server's PID: wait for it to be idle; read its settings")
    r.add_argument("--out", default=os.path.join(REPO, ".build", "bench-spark"))
    r.set_defaults(fn=cmd_run)
    return run_command(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
