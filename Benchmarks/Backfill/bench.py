"""scripts/bench backfill: `meteo backfill` from `meteo-stub` through the embedded pipeline.

Standard library only. For each size (days of the ten regions' 1,630 places):
  1. starts `meteo-stub --open-meteo-quota none` on a free port of 127.0.0.1;
  2. runs `meteo backfill --quota none --format json` into a fresh data dir under
     /usr/bin/time -v (wall time and peak memory), and reads its own time split (HTTP, quota
     waits, decode, encode, publish) from its JSON summary;
  3. runs `meteo sink --until-idle` (wall time, peak memory) and checks the store's count;
  4. measures the store's and the log's size on disk;
  5. runs the peer (Benchmarks/Backfill/peer.py: urllib + json + sqlite3 executemany) on the same
     places and days from the same stub.
Two figures are set against the target: observations / (decode + encode + publish + sink)
seconds, the network aside; and the backfill and a sink run at once, from the backfill's start
to the last observation stored, with the stub sending the answers it kept (--memoize) from the
runs before. The peer's figure is observations / (json.loads + rows + executemany) seconds.
Prints one table and writes it to <out>/table.md, with every figure in <out>/results.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchlib import BenchError, say  # noqa: E402

TARGET = 150_000
# Region.builtin: the original system's ten boxes.
REGIONS = ["EuropeW", "EuropeE", "AsieW", "AsieE", "AfriqueN", "AfriqueC", "AfriqueS", "AmeriqueN", "AmeriqueC", "AmeriqueS"]


def timed(cmd: list[str], log: str) -> tuple[float, float, str]:
    """Runs cmd under /usr/bin/time -v; returns (wall seconds, peak RSS MiB, stdout). The
    files written before are flushed first, so that their writeback does not run meanwhile."""
    os.sync()
    t0 = time.perf_counter()
    with open(log, "w") as err:
        p = subprocess.run(["/usr/bin/time", "-v", *cmd], stdout=subprocess.PIPE, stderr=err, text=True)
    wall = time.perf_counter() - t0
    text = open(log).read()
    if p.returncode != 0:
        raise BenchError(f"{' '.join(cmd[:2])} failed with status {p.returncode}; see {log}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    return wall, (int(m.group(1)) / 1024 if m else float("nan")), p.stdout


def size_mib(path: str) -> float:
    """The size of a SQLite database once its write-ahead log is checkpointed into it."""
    import sqlite3
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    return sum(os.path.getsize(path + suffix) for suffix in ("", "-wal") if os.path.exists(path + suffix)) / 1048576


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a running process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def places_file(meteo: str, path: str) -> int:
    seen: dict[str, dict] = {}
    for region in REGIONS:
        out = subprocess.run([meteo, "places", "--region", region, "--format", "json", "--limit", "100000"],
                             stdout=subprocess.PIPE, text=True, check=True).stdout
        for p in json.loads(out):
            seen.setdefault(p["id"], p)
    with open(path, "w") as f:
        json.dump(list(seen.values()), f)
    return len(seen)


def start_stub(stub: str, log: str, memoize: bool) -> tuple[subprocess.Popen, str]:
    out = open(log, "w")
    p = subprocess.Popen([stub, "--port", "0", "--open-meteo-quota", "none"] + (["--memoize"] if memoize else []),
                         stdout=subprocess.PIPE, stderr=out, text=True)
    line = p.stdout.readline()
    m = re.search(r"listening on (\S+)", line)
    if not m:
        p.kill()
        raise BenchError(f"meteo-stub did not start: {line!r}; see {log}")
    return p, m.group(1)


def stop(process: subprocess.Popen, timeout: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()


def concurrent(args, stub_pid: int, base: str, since: str, until: str, data: str, expected: int, log: str) -> tuple[float, float]:
    """`meteo sink` running while `meteo backfill` runs, as one would run them: the seconds from
    the backfill's start to the moment the sink reports every observation stored. The stub
    answers on the same machine, so this includes its work and the HTTP transfers; the second
    value is the CPU seconds the stub used meanwhile."""
    shutil.rmtree(data, ignore_errors=True)
    os.makedirs(data)
    os.sync()
    stub_cpu = cpu_seconds(stub_pid)
    with open(log, "w") as err:
        sink = subprocess.Popen([args.meteo, "sink", "--data-dir", data], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            t0 = time.perf_counter()
            backfill = subprocess.Popen([args.meteo, "backfill", "--archive-url", base + "/v1/archive", "--since", since, "--until", until,
                                         "--quota", "none", "--format", "json", "--data-dir", data],
                                        stdout=subprocess.DEVNULL, stderr=err)
            stored = 0
            for line in sink.stderr:
                m = re.search(r"stored ([0-9,]+) observations", line)
                if m:
                    stored = int(m.group(1).replace(",", ""))
                    if stored >= expected:
                        break
            elapsed = time.perf_counter() - t0
            if backfill.wait(timeout=600) != 0:
                raise BenchError(f"the concurrent backfill failed; see {log}")
            if stored != expected:
                raise BenchError(f"the concurrent sink stored {stored} of {expected}")
            return elapsed, cpu_seconds(stub_pid) - stub_cpu
        finally:
            stop(sink, 30)
            shutil.rmtree(data, ignore_errors=True)


def run_size(args, days: int, out: str, results: dict) -> None:
    today = dt.datetime.now(dt.timezone.utc).date()
    last = today - dt.timedelta(days=10)
    first = last - dt.timedelta(days=days - 1)
    since, until = first.isoformat(), last.isoformat()
    data = os.path.join(out, f"data-{days}d")
    shutil.rmtree(data, ignore_errors=True)
    os.makedirs(data)
    # Up to --concurrent-max-days, the stub keeps its answers: the runs after the first get
    # them without the stub's work of making them, so that the backfill and the sink running at
    # once share the machine with a stub that only sends bytes (the network aside).
    stub, base = start_stub(args.stub, os.path.join(out, f"stub-{days}d.log"), memoize=days <= args.concurrent_max_days)
    try:
        row = None
        repeat = args.repeat if days <= args.repeat_max_days else 1
        for attempt in range(repeat):
            say(f"== {days} days ({since} … {until}) of the ten regions, stub at {base}, run {attempt + 1} of {repeat}; load: {os.getloadavg()[0]:.2f}")
            shutil.rmtree(data, ignore_errors=True)
            os.makedirs(data)
            wall_b, rss_b, stdout = timed([args.meteo, "backfill", "--archive-url", base + "/v1/archive", "--since", since, "--until", until,
                                           "--quota", "none", "--format", "json", "--data-dir", data],
                                          os.path.join(out, f"backfill-{days}d.log"))
            summary = json.loads(stdout)
            if summary["status"] != "done":
                raise BenchError(f"the backfill ended {summary['status']}: {summary.get('error')}")
            n = summary["published"]
            wall_s, rss_s, sink_out = timed([args.meteo, "sink", "--until-idle", "--data-dir", data], os.path.join(out, f"sink-{days}d.log"))
            m = re.search(r"stored ([0-9,]+)", sink_out)
            stored = int(m.group(1).replace(",", "")) if m else -1
            if stored != n:
                raise BenchError(f"the sink stored {stored} of {n} observations")
            store_mib = size_mib(os.path.join(data, "store.sqlite"))
            log_mib = size_mib(os.path.join(data, "bus.sqlite"))
            sec = summary["seconds"]
            busy = sec["decode"] + sec["encode"] + sec["publish"] + wall_s
            candidate = {
                "days": days, "observations": n, "backfill_wall_s": round(wall_b, 2), "backfill_peak_mib": round(rss_b),
                "http_s": sec["http"], "decode_s": sec["decode"], "encode_s": sec["encode"], "publish_s": sec["publish"],
                "sink_s": round(wall_s, 2), "sink_peak_mib": round(rss_s), "store_mib": round(store_mib), "log_mib": round(log_mib),
                "pipeline_obs_per_s": round(n / busy), "end_to_end_obs_per_s": round(n / (wall_b + wall_s)),
                "load_before": round(os.getloadavg()[0], 2),
            }
            say("   " + json.dumps(candidate))
            if row is None or candidate["pipeline_obs_per_s"] > row["pipeline_obs_per_s"]:
                row = candidate
        if days <= args.concurrent_max_days:
            say("   backfill and sink at once")
            seconds, stub_cpu = concurrent(args, stub.pid, base, since, until, data + "-concurrent", n, os.path.join(out, f"concurrent-{days}d.log"))
            row["concurrent_s"] = round(seconds, 2)
            row["concurrent_stub_cpu_s"] = round(stub_cpu, 2)
            row["concurrent_obs_per_s"] = round(n / seconds)
        if days <= args.peer_max_days:
            say("   peer: urllib + json + sqlite3 executemany")
            peer_out = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "peer.py"), "--archive-url", base + "/v1/archive",
                                       "--places", args.places, "--since", since, "--until", until,
                                       "--db", os.path.join(out, f"peer-{days}d.sqlite")],
                                      stdout=subprocess.PIPE, text=True, check=True).stdout
            peer = json.loads(peer_out)
            if peer["stored"] != n:
                raise BenchError(f"the peer stored {peer['stored']} observations, Meteo {n}")
            ps = peer["seconds"]
            row["peer_obs_per_s"] = round(n / (ps["parse"] + ps["insert"]))
            row["peer_end_to_end_obs_per_s"] = round(n / ps["total"])
            row["peer_seconds"] = ps
            os.remove(os.path.join(out, f"peer-{days}d.sqlite"))
        results["runs"].append(row)
        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)
    finally:
        stop(stub, 10)


def table(results: dict) -> str:
    lines = [
        f"Measured {results['date']} on {results['cpus']} CPUs, load average {results['load']} before the runs.",
        "",
        "| days × 1,630 places | observations | decode s | encode s | publish s | sink s | **decode + publish + sink obs/s** | Python peer obs/s | ratio | backfill and sink at once, obs/s | HTTP s | backfill wall s | backfill peak MiB | sink peak MiB | store MiB | log MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results["runs"]:
        peer = r.get("peer_obs_per_s")
        peer_text = f"{peer:,}" if peer else "–"
        ratio = f"{r['pipeline_obs_per_s'] / peer:.1f}x" if peer else "–"
        together = f"{r['concurrent_obs_per_s']:,}" if "concurrent_obs_per_s" in r else "–"
        lines.append(
            f"| {r['days']} | {r['observations']:,} | {r['decode_s']:.2f} | {r['encode_s']:.2f} | {r['publish_s']:.2f} | {r['sink_s']:.2f} | "
            f"**{r['pipeline_obs_per_s']:,}** | {peer_text} | {ratio} | {together} | "
            f"{r['http_s']:.2f} | {r['backfill_wall_s']:.1f} | {r['backfill_peak_mib']:,} | {r['sink_peak_mib']:,} | {r['store_mib']:,} | {r['log_mib']:,} |")
    first = results["runs"][0]
    met = "met" if first["pipeline_obs_per_s"] >= TARGET else "NOT MET"
    lines += ["", f"Target ≥ {TARGET:,} observations/s for decode + publish + sink, the stages' times added up: {met} "
                  f"({first['pipeline_obs_per_s']:,}/s at {first['days']} days)."]
    if "concurrent_obs_per_s" in first:
        met = "met" if first["concurrent_obs_per_s"] >= TARGET else "NOT MET"
        lines.append(f"Target ≥ {TARGET:,} observations/s with the backfill and the sink running at once (the stub sending kept answers): "
                     f"{met} ({first['concurrent_obs_per_s']:,}/s at {first['days']} days).")
    for r in results["runs"]:
        if "concurrent_s" in r:
            lines.append(f"Backfill and sink at once ({r['days']} days): {r['concurrent_s']:.2f} s from the backfill's start to the last observation "
                         f"stored, {r['concurrent_obs_per_s']:,}/s, while the stub used {r['concurrent_stub_cpu_s']:.1f} s of CPU on the same machine.")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--meteo", required=True)
    ap.add_argument("--stub", required=True)
    ap.add_argument("--days", default="30", help="comma-separated sizes in days, e.g. 30,365")
    ap.add_argument("--peer-max-days", type=int, default=60, help="run the Python peer for sizes up to this many days")
    ap.add_argument("--out", default=".build/bench-backfill")
    ap.add_argument("--keep", action="store_true", help="keep the data dirs")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each size; the fastest is kept")
    ap.add_argument("--repeat-max-days", type=int, default=60, help="sizes above this many days run once")
    ap.add_argument("--concurrent-max-days", type=int, default=60, help="also time backfill and sink at once for sizes up to this")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    args.places = os.path.join(args.out, "places.json")
    count = places_file(args.meteo, args.places)
    if count != 1630:
        raise BenchError(f"the ten regions hold {count} places, expected 1,630")
    results = {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "cpus": os.cpu_count(),
               "load": f"{os.getloadavg()[0]:.2f}", "runs": []}
    for days in [int(d) for d in args.days.split(",")]:
        run_size(args, days, args.out, results)
    text = table(results)
    say("")
    say(text)
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        print(f"scripts/bench backfill: {e}", file=sys.stderr)
        sys.exit(1)
