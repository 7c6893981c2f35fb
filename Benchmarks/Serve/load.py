#!/usr/bin/env python3
"""Load check of `meteo serve`: constant-rate open-loop load, wrk's closed-loop maximum, a table.

    python Benchmarks/Serve/load.py run --url http://127.0.0.1:PORT [--server-pid PID]
        [--rate 500] [--duration 30] [--warmup 5] [--connections 64] [--wrk PATH]
        [--wrk-duration 10] [--observations N] [--out .build/bench-serve] [--seed 1]
    python Benchmarks/Serve/load.py load --url URL --target mix|latest|observations|healthz
        [--rate 500] [--duration 30] [...]
    python Benchmarks/Serve/load.py wait --url URL [--pid PID] [--timeout 60]

`run` reads the stored places from /api/places (their ids and the regions among them), then:
  single    each region's /api/latest, the whole /api/latest and /api/observations?limit=100 of
            50 random places, one request at a time on a keep-alive connection with no other
            load (at least 200 each): the median time, the server's CPU a request and the
            response sizes, which bound what any load can reach;
  healthz   the generator against /healthz at --rate: its own overhead (the server does next to
            nothing there), so that the figures below are the server's, not the generator's;
  mix       the issue's load: /api/latest?region=R (the regions in turn) and
            /api/observations?place=ID&limit=100 (a random stored place), one each in turn, at
            --rate in all; reported as a whole (the target) and per endpoint;
  latest, observations
            each endpoint alone at --rate;
  wrk       `wrk -t2 -c32 -d<--wrk-duration>s --latency` (closed loop: as fast as the server
            answers) on the same paths (Benchmarks/Serve/paths.lua takes them in turn from a
            file), for the maximum throughput of each; left out without --wrk.
The open-loop generator (asyncio, standard library only) keeps --connections HTTP/1.1
keep-alive connections; request i is due at start + i / rate whatever happened before (a
constant rate, as wrk2), waits in a queue while every connection is busy, and its latency
runs from its due time to the last byte of its response, so that queueing counts (no
coordinated omission). The first --warmup seconds are sent but not counted. A run's achieved
rate is its counted 2xx responses over the time from the first counted due time to the last
response; an error is a non-2xx status, a failed connection or a response not complete 10 s
after it was due. Every phase notes the server's CPU (from /proc/PID/stat) and that of its
threads by role (the SQLite connection's serial queue near 100% would bound it alone), the
generator's (wrk's included) and the rest of the machine's (from /proc/stat), with the load
average, so that a colleague's build is visible next to the figures. Prints the table and
writes it as Markdown to OUT/table.md and everything as JSON to OUT/results.json.

`load` is one open-loop phase alone (for trying rates); `wait` waits for /healthz to answer 200.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import quote, urlsplit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # Benchmarks/
from benchlib import BenchError, alive, command_parser, positive, process_cpu_seconds, run_command, say  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET_P99_MS = 50.0
REQUEST_TIMEOUT_S = 10.0


# ---------------------------------------------------------------------------- the server's data

def get(url: str, timeout: float = 30) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def stored_places(base: str) -> tuple[list[str], list[str]]:
    """The place ids of /api/places and the regions among them (sorted)."""
    doc = json.loads(get(base + "/api/places"))
    places = [p["place_id"] for p in doc["places"]]
    regions = sorted({p["region"] for p in doc["places"] if p.get("region")})
    if not places or not regions:
        raise BenchError(f"{base}/api/places lists {len(places)} places in {len(regions)} regions: is the store empty?")
    return places, regions


def latest_path(region: str) -> str:
    return "/api/latest?region=" + quote(region, safe="")


def observations_path(place: str) -> str:
    return "/api/observations?place=" + quote(place, safe="") + "&limit=100"


def paths_for(target: str, count: int, places: list[str], regions: list[str], seed: int) -> list[tuple[str, str]]:
    """`count` (endpoint, path) pairs of a target: the regions in turn, random places, or both
    one after the other (mix)."""
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    r = 0
    for i in range(count):
        kind = target if target != "mix" else ("latest" if i % 2 == 0 else "observations")
        if kind == "latest":
            out.append((kind, latest_path(regions[r % len(regions)])))
            r += 1
        elif kind == "observations":
            out.append((kind, observations_path(rng.choice(places))))
        elif kind == "healthz":
            out.append((kind, "/healthz"))
        else:
            raise BenchError(f"unknown target {target}")
    return out


# ---------------------------------------------------------------------------- CPU accounting

def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs so far, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already inside user
    return total - idle, total


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def thread_group(name: str) -> str:
    """The role of a thread of `meteo serve`, from its name (15 characters at most): the
    serial DispatchQueue of the SQLite connection runs on Dispatch's overcommit threads, Swift
    tasks (route handlers, JSON) on the default-qos pool, SwiftNIO's event loops on NIO-*."""
    if "overcommit" in name:
        return "SQLite queue"
    if "default-qos" in name:
        return "Swift tasks"
    if name.startswith("NIO-"):
        return "NIO loops"
    return "other"


def sqlite_pct(cpu: dict) -> float | None:
    return cpu.get("server_threads_pct", {}).get("SQLite queue")


def threads_text(cpu: dict) -> str:
    return ", ".join(f"{k} {v:.0f}%" for k, v in cpu.get("server_threads_pct", {}).items())


class CPUMeter:
    """CPU used between start() and stop(), in % of one CPU: the server's, this process's and
    its children's (wrk), and the rest of the machine's (everything else: a colleague's build)."""

    def __init__(self, server_pid: int | None):
        self.server_pid = server_pid

    @staticmethod
    def own() -> float:
        s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

    def threads(self) -> dict[int, tuple[str, float]]:
        """The server's threads: id → (name, CPU seconds so far)."""
        out: dict[int, tuple[str, float]] = {}
        if not self.server_pid:
            return out
        base = f"/proc/{self.server_pid}/task"
        try:
            tids = os.listdir(base)
        except OSError:
            return out
        for tid in tids:
            try:
                with open(f"{base}/{tid}/stat") as f:
                    head, rest = f.read().rsplit(")", 1)
                fields = rest.split()
                name = head.split("(", 1)[1]
                out[int(tid)] = (name, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
            except (OSError, IndexError, ValueError):
                continue
        return out

    def start(self) -> None:
        self.t0 = time.monotonic()
        self.threads0 = self.threads()
        self.server0 = process_cpu_seconds(self.server_pid) if self.server_pid else None
        self.own0 = self.own()
        self.busy0, self.total0 = machine_jiffies()
        self.load_before = loadavg()

    def stop(self) -> dict:
        wall = time.monotonic() - self.t0
        server1 = process_cpu_seconds(self.server_pid) if self.server_pid else None
        # The server's CPU by thread group (see thread_group).
        groups: dict[str, float] = {}
        for tid, (name, cpu) in self.threads().items():
            used = cpu - self.threads0.get(tid, (name, 0.0))[1]
            groups[thread_group(name)] = groups.get(thread_group(name), 0.0) + used
        own = self.own() - self.own0
        busy1, total1 = machine_jiffies()
        cpus = os.cpu_count() or 1
        machine = (busy1 - self.busy0) / max(1, total1 - self.total0) * cpus * 100  # % of one CPU
        server = (server1 - self.server0) / wall * 100 if server1 is not None and self.server0 is not None else None
        own_pct = own / wall * 100
        others = machine - own_pct - (server or 0)
        return {"wall_s": wall, "server_cpu_pct": server, "generator_cpu_pct": own_pct,
                "server_threads_pct": {k: v / wall * 100 for k, v in sorted(groups.items(), key=lambda kv: -kv[1])},
                "machine_cpu_pct": machine, "others_cpu_pct": max(0.0, others), "cpus": cpus,
                "load_before": self.load_before, "load_after": loadavg()}


# ---------------------------------------------------------------------------- HTTP/1.1 client

class Connection:
    """One keep-alive HTTP/1.1 connection, one request at a time."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, path: str) -> tuple[int, int]:
        """GET path: (status, body bytes)."""
        if self.writer is None:
            await self.open()
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, chunked, close = None, False, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                close = True
        size = 0
        if chunked:
            while True:
                n = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if n:
                    size += len(await self.reader.readexactly(n))
                await self.reader.readexactly(2)
                if n == 0:
                    break
        elif length is not None:
            size = len(await self.reader.readexactly(length))
        else:
            size = len(await self.reader.read())
            close = True
        if close:
            self.close()
        return status, size


def percentile(sorted_values: list[float], p: float) -> float | None:
    """The nearest-rank percentile p (0-100) of sorted values."""
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(-(-p * len(sorted_values) // 100)) - 1))
    return sorted_values[k]


def summarize(records: list[tuple], since: float, rate_share: float, endpoint: str) -> dict:
    """Records (due, sent, done, endpoint, status, bytes) counted from `since` on."""
    lat, lag, sizes, errors, ok = [], [], [], 0, 0
    last_done = since
    for due, sent, done, _kind, status, size in records:
        if due < since:
            continue
        if status is None or not 200 <= status < 300:
            errors += 1
            continue
        ok += 1
        lat.append((done - due) * 1000)
        lag.append((sent - due) * 1000)
        sizes.append(size)
        last_done = max(last_done, done)
    lat.sort()
    lag.sort()
    span = last_done - since
    return {
        "endpoint": endpoint, "target_rate": rate_share, "requests": ok + errors, "ok": ok, "errors": errors,
        "achieved_rate": ok / span if span > 0 else 0.0,
        "p50_ms": percentile(lat, 50), "p90_ms": percentile(lat, 90), "p99_ms": percentile(lat, 99),
        "max_ms": lat[-1] if lat else None, "mean_ms": statistics.fmean(lat) if lat else None,
        # How late the generator sent requests after their due time (a connection free or not):
        # high with a fast server means the generator is the bottleneck.
        "send_lag_p50_ms": percentile(lag, 50), "send_lag_p99_ms": percentile(lag, 99),
        "mean_bytes": statistics.fmean(sizes) if sizes else None,
    }


async def open_loop(base: str, requests: list[tuple[str, str]], rate: float, warmup: float,
                    connections: int) -> tuple[list[tuple], float, float]:
    """Sends `requests` at a constant `rate` over `connections` keep-alive connections.
    Returns the records (due, sent, done, endpoint, status, bytes), the time counting starts
    and the time the last request was due."""
    u = urlsplit(base)
    host, port = u.hostname or "127.0.0.1", u.port or 80
    queue: asyncio.Queue = asyncio.Queue()
    records: list[tuple] = []
    conns = [Connection(host, port) for _ in range(connections)]
    await asyncio.gather(*(c.open() for c in conns))

    async def one(conn: Connection, path: str) -> tuple[int, int]:
        try:
            return await conn.request(path)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, IndexError):
            conn.close()  # reopened by the next request
            raise

    async def worker(conn: Connection) -> None:
        while True:
            item = await queue.get()
            if item is None:
                return
            due, kind, path = item
            sent = time.perf_counter()
            status, size = None, 0
            remaining = due + REQUEST_TIMEOUT_S - sent
            try:
                if remaining <= 0:
                    raise asyncio.TimeoutError
                status, size = await asyncio.wait_for(one(conn, path), remaining)
            except (asyncio.TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                    ValueError, IndexError):
                conn.close()
                status = None
            records.append((due, sent, time.perf_counter(), kind, status, size))

    workers = [asyncio.create_task(worker(c)) for c in conns]
    start = time.perf_counter() + 0.05
    n = len(requests)
    i = 0
    while i < n:
        # Everything due by now goes to the queue with its due time; then sleep to the next.
        due_now = min(n, int((time.perf_counter() - start) * rate) + 1)
        while i < due_now:
            kind, path = requests[i]
            queue.put_nowait((start + i / rate, kind, path))
            i += 1
        if i < n:
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    for c in conns:
        c.close()
    return records, start + warmup, start + (n - 1) / rate


def load_phase(base: str, target: str, rate: float, duration: float, warmup: float, connections: int,
               places: list[str], regions: list[str], seed: int, server_pid: int | None) -> dict:
    total = int(round((warmup + duration) * rate))
    requests = paths_for(target, total, places, regions, seed)
    meter = CPUMeter(server_pid)
    meter.start()
    records, since, _last_due = asyncio.run(open_loop(base, requests, rate, warmup, connections))
    cpu = meter.stop()
    kinds = ["latest", "observations"] if target == "mix" else [target]
    whole = summarize(records, since, rate, target)
    parts = {}
    if target == "mix":
        for k in kinds:
            parts[k] = summarize([r for r in records if r[3] == k], since, rate / len(kinds), k)
    return {"target": target, "rate": rate, "duration_s": duration, "warmup_s": warmup,
            "connections": connections, "all": whole, "endpoints": parts, "cpu": cpu}


# ---------------------------------------------------------------------------- single requests

def single_requests(base: str, places: list[str], regions: list[str], server_pid: int | None) -> list[dict]:
    """Each region's /api/latest, all of /api/latest, and /api/observations?limit=100 of 50
    random places, one request at a time on one keep-alive connection with no other load:
    the median time (client included), the server's CPU a request (from /proc, in 10 ms
    ticks over at least 200 requests) and the size."""
    import http.client
    u = urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port or 80, timeout=30)
    rng = random.Random(7)
    sample = [rng.choice(places) for _ in range(50)]
    probes = ([("latest", r, [latest_path(r)]) for r in regions] + [("latest", "(all regions)", ["/api/latest"])]
              + [("observations", "50 random places", [observations_path(p) for p in sample])]
              + [("healthz", "", ["/healthz"])])
    out = []
    for kind, what, paths in probes:
        def fetch(path: str) -> bytes:
            conn.request("GET", path)
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                raise BenchError(f"GET {path} answered {r.status}: {body[:200]!r}")
            return body
        fetch(paths[0])  # warm
        times, sizes, rows = [], [], []
        n = max(200, len(paths))
        cpu0 = process_cpu_seconds(server_pid) if server_pid else None
        for i in range(n):
            t0 = time.perf_counter()
            body = fetch(paths[i % len(paths)])
            times.append((time.perf_counter() - t0) * 1000)
            sizes.append(len(body))
            if i < len(paths) and kind != "healthz":
                rows.append(json.loads(body)["count"])
        cpu1 = process_cpu_seconds(server_pid) if server_pid else None
        out.append({"endpoint": kind, "what": what, "requests": n,
                    "rows": statistics.fmean(rows) if rows else None, "bytes": statistics.fmean(sizes),
                    "median_ms": statistics.median(times), "min_ms": min(times),
                    "server_cpu_ms": (cpu1 - cpu0) / n * 1000 if cpu0 is not None and cpu1 is not None else None})
    conn.close()
    return out


# ---------------------------------------------------------------------------- wrk

def run_wrk(wrk: str, base: str, paths: list[str], seconds: int, out_dir: str, name: str, server_pid: int | None) -> dict:
    paths_file = os.path.join(out_dir, f"wrk-{name}.paths")
    with open(paths_file, "w") as f:
        f.write("\n".join(paths) + "\n")
    cmd = [wrk, "-t2", "-c32", f"-d{seconds}s", "--latency", "-s", os.path.join(HERE, "paths.lua"), base, "--", paths_file]
    meter = CPUMeter(server_pid)
    meter.start()
    p = subprocess.run(cmd, capture_output=True, text=True)
    cpu = meter.stop()
    with open(os.path.join(out_dir, f"wrk-{name}.txt"), "w") as f:
        f.write(" ".join(cmd) + "\n" + p.stdout + p.stderr)
    if p.returncode != 0:
        raise BenchError(f"wrk failed on {name} (exit status {p.returncode}): {p.stderr.strip()[:300]}")
    text = p.stdout

    def number(pattern: str) -> float | None:
        m = re.search(pattern, text)
        return float(m.group(1)) if m else None

    def ms(label: str) -> float | None:
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if not m:
            return None
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    errors = int(number(r"Non-2xx or 3xx responses: (\d+)") or 0) + (sum(int(x) for x in socket.groups()) if socket else 0)
    return {"name": name, "requests_per_s": number(r"Requests/sec:\s+([\d.]+)"), "p50_ms": ms("50%"),
            "p99_ms": ms("99%"), "errors": errors, "cpu": cpu, "command": " ".join(cmd)}


# ---------------------------------------------------------------------------- the table

def fmt_ms(v: float | None) -> str:
    return "n/a" if v is None else (f"{v:.1f}" if v < 100 else f"{v:,.0f}")


def fmt_int(v: float | None) -> str:
    return "n/a" if v is None else f"{v:,.0f}"


def fmt_pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.0f}%"


def met(row: dict, rate: float) -> bool:
    return (row["p99_ms"] is not None and row["p99_ms"] < TARGET_P99_MS and row["errors"] == 0
            and row["achieved_rate"] >= 0.95 * rate)


def table(results: dict) -> str:
    rate = results["rate"]
    lines = [f"## meteo serve under load: {results['observations']:,} stored observations, "
             f"{results['places']:,} places in {len(results['regions'])} regions",
             "",
             f"Open loop at a constant rate ({results['connections']} keep-alive connections, latency from each "
             f"request's due time; {results['duration_s']:g} s counted after {results['warmup_s']:g} s of warm-up). "
             f"Target: p99 < {TARGET_P99_MS:g} ms at {rate:g} req/s, no errors. CPU in % of one CPU "
             f"({results['cpus']} here): the server's, and of it the SQLite connection's serial queue (one "
             f"thread at a time), the generator's (with wrk), everyone else's.",
             "",
             "| run | endpoint | target req/s | achieved req/s | p50 ms | p90 ms | p99 ms | max ms | errors "
             "| mean bytes | wrk max req/s | server CPU | of which SQLite queue | generator CPU | others CPU | load avg | target |",
             "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|"]
    wrk = {w["name"]: w for w in results.get("wrk", [])}

    def row(run: str, r: dict, phase: dict, wrk_name: str | None, judged: bool) -> None:
        w = wrk.get(wrk_name) if wrk_name else None
        cpu = phase["cpu"]
        verdict = ("met" if met(r, r["target_rate"]) else "NOT MET") if judged else ""
        lines.append(
            f"| {run} | {r['endpoint']} | {r['target_rate']:g} | {fmt_int(r['achieved_rate'])} | {fmt_ms(r['p50_ms'])} "
            f"| {fmt_ms(r['p90_ms'])} | {fmt_ms(r['p99_ms'])} | {fmt_ms(r['max_ms'])} | {r['errors']:,} "
            f"| {fmt_int(r['mean_bytes'])} | {fmt_int(w['requests_per_s']) if w else ''} "
            f"| {fmt_pct(cpu['server_cpu_pct'])} | {fmt_pct(sqlite_pct(cpu))} | {fmt_pct(cpu['generator_cpu_pct'])} | {fmt_pct(cpu['others_cpu_pct'])} "
            f"| {cpu['load_before']} | {verdict} |")

    for phase in results["phases"]:
        t = phase["target"]
        if t == "mix":
            row("mix", phase["all"], phase, "mix", True)
            for k, part in phase["endpoints"].items():
                row("mix", part, phase, None, False)
        elif t == "healthz":
            row("generator check", phase["all"], phase, "healthz", False)
        else:
            row("alone", phase["all"], phase, t, True)
    lines += ["", "wrk -t2 -c32 (closed loop, as fast as the server answers; its latencies are not comparable "
              "with the open loop's): " + ", ".join(
                  f"{w['name']} {fmt_int(w['requests_per_s'])} req/s (p50 {fmt_ms(w['p50_ms'])} ms, p99 "
                  f"{fmt_ms(w['p99_ms'])} ms, {w['errors']} errors, server CPU {fmt_pct(w['cpu']['server_cpu_pct'])}, "
                  f"{threads_text(w['cpu'])})"
                  for w in results.get("wrk", [])) if results.get("wrk") else "", ""]
    if not results.get("wrk"):
        lines[-2] = "wrk: not run (not installed)."
    lines += ["Single requests, one at a time on one keep-alive connection, no other load (at least 200 "
              "each; server CPU from /proc in 10 ms ticks):", "",
              "| endpoint | region / place | rows | bytes | median ms | min ms | server CPU ms a request |",
              "|---|---|--:|--:|--:|--:|--:|"]
    for s in results["single"]:
        lines.append(f"| {s['endpoint']} | {s['what']} | {fmt_int(s['rows'])} | {fmt_int(s['bytes'])} "
                     f"| {s['median_ms']:.2f} | {s['min_ms']:.2f} | {fmt_ms(s['server_cpu_ms'])} |")
    mix = next((p for p in results["phases"] if p["target"] == "mix"), None)
    if mix:
        verdict = "met" if met(mix["all"], rate) else "NOT MET"
        lines += ["", f"**Target p99 < {TARGET_P99_MS:g} ms at {rate:g} req/s (the mix): {verdict}** "
                      f"(p99 {fmt_ms(mix['all']['p99_ms'])} ms, {fmt_int(mix['all']['achieved_rate'])} req/s achieved, "
                      f"{mix['all']['errors']} errors)."]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- commands

def wait_healthy(base: str, pid: int | None, timeout: float) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pid is not None and not alive(pid):
            raise BenchError(f"the server (pid {pid}) exited before answering {base}/healthz")
        try:
            if get(base + "/healthz", timeout=2):
                return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise BenchError(f"{base}/healthz did not answer within {timeout:g} s")


def cmd_wait(args) -> int:
    wait_healthy(args.url.rstrip("/"), args.pid, args.timeout)
    return 0


def print_phase(phase: dict) -> None:
    cpu = phase["cpu"]
    rows = [phase["all"]] + list(phase["endpoints"].values())
    for r in rows:
        say(f"   {r['endpoint']:<13} {r['achieved_rate']:7.1f}/{r['target_rate']:g} req/s  p50 {fmt_ms(r['p50_ms'])}  "
            f"p90 {fmt_ms(r['p90_ms'])}  p99 {fmt_ms(r['p99_ms'])}  max {fmt_ms(r['max_ms'])} ms  errors {r['errors']}  "
            f"~{fmt_int(r['mean_bytes'])} B  (send lag p99 {fmt_ms(r['send_lag_p99_ms'])} ms)")
    say(f"   CPU: server {fmt_pct(cpu['server_cpu_pct'])} ({threads_text(cpu)}), generator {fmt_pct(cpu['generator_cpu_pct'])}, "
        f"others {fmt_pct(cpu['others_cpu_pct'])} (of {cpu['cpus']} × 100%); load average {cpu['load_before']} → {cpu['load_after']}")


def cmd_load(args) -> int:
    base = args.url.rstrip("/")
    places, regions = stored_places(base)
    say(f"== {args.target} at {args.rate:g} req/s for {args.duration:g} s (+{args.warmup:g} s warm-up), "
        f"{args.connections} connections")
    print_phase(load_phase(base, args.target, args.rate, args.duration, args.warmup, args.connections,
                           places, regions, args.seed, args.server_pid))
    return 0


def cmd_run(args) -> int:
    base = args.url.rstrip("/")
    os.makedirs(args.out, exist_ok=True)
    wait_healthy(base, args.server_pid, 60)
    places, regions = stored_places(base)
    say(f"== {len(places):,} places in {len(regions)} regions: {', '.join(regions)}")
    results = {"url": base, "observations": args.observations, "places": len(places), "regions": regions,
               "rate": args.rate, "duration_s": args.duration, "warmup_s": args.warmup,
               "connections": args.connections, "cpus": os.cpu_count(), "phases": [], "wrk": []}

    say("== single requests, one at a time on a keep-alive connection, no other load")
    results["single"] = single_requests(base, places, regions, args.server_pid)
    for s in results["single"]:
        say(f"   {s['endpoint']:<13} {s['what']:<18} {fmt_int(s['rows']):>6} rows {fmt_int(s['bytes']):>9} B  "
            f"median {s['median_ms']:6.2f} ms  server CPU {fmt_ms(s['server_cpu_ms'])} ms a request")

    phases = [("healthz", min(args.duration, 10)), ("mix", args.duration),
              ("latest", args.duration), ("observations", args.duration)]
    for target, duration in phases:
        say(f"== open loop: {target} at {args.rate:g} req/s for {duration:g} s (+{args.warmup:g} s warm-up), "
            f"{args.connections} connections")
        phase = load_phase(base, target, args.rate, duration, args.warmup, args.connections, places, regions,
                           args.seed, args.server_pid)
        print_phase(phase)
        results["phases"].append(phase)

    if args.wrk:
        for name in ["healthz", "latest", "observations", "mix"]:
            say(f"== wrk -t2 -c32 -d{args.wrk_duration}s: {name}")
            paths = [p for _, p in paths_for(name, 10_000, places, regions, args.seed + 1)]
            w = run_wrk(args.wrk, base, paths, args.wrk_duration, args.out, name, args.server_pid)
            say(f"   {fmt_int(w['requests_per_s'])} req/s, p50 {fmt_ms(w['p50_ms'])} ms, p99 {fmt_ms(w['p99_ms'])} ms, "
                f"{w['errors']} errors; server CPU {fmt_pct(w['cpu']['server_cpu_pct'])} ({threads_text(w['cpu'])}), "
                f"others {fmt_pct(w['cpu']['others_cpu_pct'])}")
            results["wrk"].append(w)
    else:
        say("== wrk: not run (no --wrk)")

    text = table(results)
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(text)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    say()
    say(text)
    say(f"(written to {os.path.join(args.out, 'table.md')} and results.json)")
    return 0


def main(argv=None) -> int:
    parser, sub = command_parser(__doc__)

    def load_options(p) -> None:
        p.add_argument("--url", required=True, help="the server, http://127.0.0.1:PORT")
        p.add_argument("--server-pid", type=int, help="the server's process id, for its CPU")
        p.add_argument("--rate", type=float, default=500, help="requests a second (500)")
        p.add_argument("--duration", type=float, default=30, help="seconds counted (30)")
        p.add_argument("--warmup", type=float, default=5, help="seconds sent first, not counted (5)")
        p.add_argument("--connections", type=positive, default=64, help="keep-alive connections (64)")
        p.add_argument("--seed", type=int, default=1, help="of the random places (1)")

    r = sub.add_parser("run", help="every phase and the table")
    load_options(r)
    r.add_argument("--wrk", help="the wrk executable; without it, no wrk figures")
    r.add_argument("--wrk-duration", type=positive, default=10, help="seconds of each wrk run (10)")
    r.add_argument("--observations", type=int, default=0, help="how many the store holds (for the title)")
    r.add_argument("--out", default=".build/bench-serve", help="where table.md and results.json go")
    r.set_defaults(fn=cmd_run)

    one = sub.add_parser("load", help="one open-loop phase")
    load_options(one)
    one.add_argument("--target", choices=["mix", "latest", "observations", "healthz"], default="mix")
    one.set_defaults(fn=cmd_load)

    w = sub.add_parser("wait", help="wait for /healthz")
    w.add_argument("--url", required=True)
    w.add_argument("--pid", type=int, help="fail early if this process exits")
    w.add_argument("--timeout", type=float, default=60)
    w.set_defaults(fn=cmd_wait)
    return run_command(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
