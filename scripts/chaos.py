"""Meteo's fault-injection suite: the real stack under a steady load, one fault at a time.

Run it through scripts/chaos (which builds meteo, prepares Python and starts the servers).
Each case runs the pipeline under load, injects a fault, heals it, waits for the store to hold
everything the producer had acknowledged, and checks the store against the producer's own
record (meteo ingest --delivery-log): events acknowledged, stored, lost, duplicated,
dead-lettered and the time to recover. See the README, "Faults and recovery".
"""
from __future__ import annotations

import argparse
import http.server
import json
import os
import re
import secrets
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pymongo
from kafka import KafkaProducer

import delivery_log  # scripts/delivery_log.py, beside this file

ROOT = Path(__file__).resolve().parent.parent


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------- processes


class Proc:
    """A meteo process with its own log file; started in its own session."""

    def __init__(self, run: "Run", name: str, args: list[str], env: dict[str, str] | None = None):
        self.run, self.name, self.args, self.env = run, name, args, env or {}
        self.log_path = run.dir / "logs" / f"{name}.log"
        self.popen: subprocess.Popen | None = None
        self.starts = 0
        self.unexpected_exits: list[int] = []

    def start(self) -> None:
        env = dict(os.environ)
        env.update(self.run.base_env)
        env.update(self.env)
        self.starts += 1
        out = open(self.log_path, "ab")
        out.write(f"\n==== chaos: start #{self.starts} at {time.strftime('%H:%M:%S')}\n".encode())
        out.flush()
        self.popen = subprocess.Popen([str(self.run.meteo)] + self.args, stdout=out, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, env=env, start_new_session=True, cwd=self.run.dir)
        out.close()

    @property
    def pid(self) -> int:
        assert self.popen
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def check(self) -> None:
        """Records an exit nobody asked for (a crash)."""
        if self.popen is not None and self.popen.poll() is not None:
            self.unexpected_exits.append(self.popen.returncode)
            log(f"!! {self.name} exited by itself with status {self.popen.returncode}; see {self.log_path}")
            self.popen = None

    def kill9(self) -> None:
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
            self.popen.wait()
        self.popen = None

    def stop(self, timeout: float = 20) -> int | None:
        if not self.alive():
            self.popen = None
            return None
        os.kill(self.pid, signal.SIGTERM)
        try:
            code = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            code = self.popen.wait()
        self.popen = None
        return code


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service(name: str, action: str) -> str:
    r = subprocess.run([str(ROOT / "scripts" / "services" / name), action], capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0 and action != "status":
        raise RuntimeError(f"scripts/services/{name} {action} failed: {r.stderr.strip()}")
    return (r.stdout + r.stderr).strip()


# --------------------------------------------------------------------------- weather API stub


class APIStub:
    """Open-Meteo's and OpenWeatherMap's documented response formats, with a schedule of faults.

    Each request takes the next mode of the schedule (then 'ok' once it is used up): ok,
    429 (Retry-After 1), 500, 503, stall (no answer for 30 s), truncated (half a body), types
    (a string where a number belongs).
    """

    def __init__(self, owm_key: str):
        self.owm_key = owm_key
        self.schedule: list[str] = []
        self.lock = threading.Lock()
        self.served: dict[str, int] = {}
        self.bad_keys = 0
        self.clock = int(time.time()) // 60 * 60
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                stub.handle(self)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next_mode(self) -> tuple[str, int]:
        with self.lock:
            mode = self.schedule.pop(0) if self.schedule else "ok"
            self.served[mode] = self.served.get(mode, 0) + 1
            self.clock += 60  # each good answer is a new observation time
            return mode, self.clock

    def handle(self, h: http.server.BaseHTTPRequestHandler) -> None:
        from urllib.parse import parse_qs, urlparse
        url = urlparse(h.path)
        q = parse_qs(url.query)
        mode, t = self.next_mode()
        if mode == "stall":
            time.sleep(30)
            return self.reply(h, 503, b'{"error":true,"reason":"stalled"}')
        if mode == "429":
            return self.reply(h, 429, b'{"error":true,"reason":"Too many concurrent requests"}', {"Retry-After": "1"})
        if mode in ("500", "503"):
            return self.reply(h, int(mode), b'{"error":true,"reason":"upstream failure"}')
        if url.path.endswith("/weather"):  # OpenWeatherMap current weather
            if q.get("appid", [""])[0] != self.owm_key:
                with self.lock:
                    self.bad_keys += 1
                return self.reply(h, 401, b'{"cod":401,"message":"Invalid API key."}')
            lat, lon = float(q["lat"][0]), float(q["lon"][0])
            body = {"coord": {"lon": lon, "lat": lat}, "weather": [{"id": 500, "main": "Rain", "description": "light rain"}],
                    "main": {"temp": "warm" if mode == "types" else 11.5, "feels_like": 10.1, "pressure": 1012, "humidity": 81},
                    "visibility": 9000, "wind": {"speed": 4.1, "deg": 250}, "clouds": {"all": 90}, "rain": {"1h": 0.4},
                    "dt": t, "sys": {"country": "FR"}, "timezone": 3600, "id": 0, "name": "stub", "cod": 200}
        else:  # Open-Meteo forecast, one or many locations
            lats = q.get("latitude", ["0"])[0].split(",")
            lons = q.get("longitude", ["0"])[0].split(",")
            items = []
            for i, (la, lo) in enumerate(zip(lats, lons)):
                current = {"time": t, "interval": 900, "temperature_2m": 9.5 + i, "relative_humidity_2m": 70,
                           "apparent_temperature": 7.0, "pressure_msl": 1015.2, "wind_speed_10m": 12.0,
                           "wind_direction_10m": 200, "wind_gusts_10m": 20.0, "cloud_cover": 40, "precipitation": 0.0,
                           "rain": 0.0, "snowfall": 0.0, "weather_code": 2, "visibility": 24000}
                if mode == "types":
                    current["temperature_2m"] = "warm"
                items.append({"latitude": float(la), "longitude": float(lo), "utc_offset_seconds": 0, "timezone": "GMT",
                              "current_units": {"time": "unixtime", "temperature_2m": "°C", "wind_speed_10m": "km/h",
                                                "wind_gusts_10m": "km/h", "precipitation": "mm", "rain": "mm",
                                                "snowfall": "cm", "visibility": "m"},
                              "current": current})
            body = items if len(items) > 1 else items[0]
        data = json.dumps(body).encode()
        if mode == "truncated":
            data = data[: len(data) // 2]
        self.reply(h, 200, data)

    @staticmethod
    def reply(h, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(data)
        except OSError:
            pass  # the client gave up (its time-out)


# --------------------------------------------------------------------------- the run


@dataclass
class Row:
    fault: str
    acked: int = 0
    stored: int = 0
    lost: int = 0
    duplicated: int = 0
    poison: int = 0
    dead_lettered: int = 0
    recover_s: float | None = None
    measured: bool = True  # False: the row is not about the event counts
    note: str = ""
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)

    def fail(self, why: str) -> None:
        self.ok = False
        self.problems.append(why)
        log(f"!! {self.fault}: {why}")


class Run:
    def __init__(self, args):
        self.args = args
        self.meteo = Path(args.meteo).resolve()
        self.dir = Path(args.dir).resolve()
        (self.dir / "logs").mkdir(parents=True, exist_ok=True)
        self.run_id = secrets.token_hex(4)
        self.topic = f"chaos.{self.run_id}"
        self.group = f"chaos-sink-{self.run_id}"
        self.database = f"chaos_{self.run_id}"
        self.broker = f"127.0.0.1:{os.environ.get('METEO_BROKER_PORT', '19092')}"
        self.spark = f"sc://127.0.0.1:{os.environ.get('METEO_SPARK_PORT', '15002')}"
        mongo_port = os.environ.get("METEO_MONGO_PORT", "27117")
        admin_user = os.environ.get("METEO_MONGO_USER", "root")
        admin_password = os.environ.get("METEO_MONGO_PASSWORD", "example")
        self.admin_uri = f"mongodb://{admin_user}:{admin_password}@127.0.0.1:{mongo_port}/?authSource=admin"
        # The secrets this run hands to meteo; none may appear in a log, an error or /metrics.
        self.mongo_password = "chaos-pw-" + secrets.token_hex(12)
        self.owm_key = "chaoskey" + secrets.token_hex(12)
        self.auth_token = "chaos-token-" + secrets.token_hex(12)
        self.mongo_user = f"chaos-{self.run_id}"
        self.mongo_uri = f"mongodb://{self.mongo_user}:{self.mongo_password}@127.0.0.1:{mongo_port}/?authSource=admin"
        self.lake = self.dir / "lake"
        self.delivery_log = self.dir / "delivered.log"
        self.delivery_offset = 0
        self.acked: list[str] = []  # in delivery order, as the log grows
        self.confirmed: set[str] = set()  # acked ids seen in the store
        self.gone: set[str] = set()  # acked ids a case lost as it allows (an in-memory broker restarted): never waited for again
        self.poison_sent = 0
        self.base_env = {"METEO_MONGO_URI": self.mongo_uri, "METEO_MONGO_DATABASE": self.database,
                         "METEO_OWM_API_KEY": self.owm_key, "METEO_AUTH_TOKEN": self.auth_token,
                         "METEO_LOG_LEVEL": "info"}
        self.procs: dict[str, Proc] = {}
        self.rows: list[Row] = []
        self.client = pymongo.MongoClient(self.admin_uri, serverSelectionTimeoutMS=3000)
        self.stub = APIStub(self.owm_key)
        self.serve_port = int(os.environ.get("METEO_CHAOS_SERVE_PORT", "0")) or free_port()

    # ---- setup

    def setup(self) -> None:
        self.client.admin.command("createUser", self.mongo_user, pwd=self.mongo_password,
                                  roles=[{"role": "readWrite", "db": self.database}])
        kafka = ["--bus", "kafka", "--brokers", self.broker, "--topic", self.topic]
        regions = self.args.regions
        self.add("ingest", ["ingest", *kafka, "--source", "synthetic", "--regions", regions, "--interval", "1s",
                            "--delivery-log", str(self.delivery_log), "--partitions", "4"])
        for n in (1, 2):
            # Static membership (KIP-345), as a sink restarted in place by systemd or a
            # StatefulSet: the restart takes its partitions back at once. noida-db does not
            # expire a dead dynamic member (README, "Kafka").
            self.add(f"sink-{n}", ["sink", *kafka, "--group", self.group, "--store", "mongodb", "--lake", str(self.lake),
                                   "--flush-interval", "200ms", "--kafka-property", f"group.instance.id={self.group}-{n}"])
        self.add("serve", ["serve", "--store", "mongodb", "--port", str(self.serve_port)])

    def add(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Proc:
        p = Proc(self, name, args, env)
        self.procs[name] = p
        return p

    def db(self):
        return self.client[self.database]

    def start_pipeline(self) -> None:
        for name in ("sink-1", "sink-2", "ingest", "serve"):
            self.procs[name].start()
        self.wait_for(lambda: self.http("/healthz")[0] == 200, 60, "meteo serve to answer /healthz")
        self.wait_for(lambda: self.refresh_acked() > 0, 60, "the first acknowledged events")

    def check_procs(self) -> None:
        for p in self.procs.values():
            p.check()

    def wait_for(self, cond, timeout: float, what: str) -> float:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            self.check_procs()
            try:
                if cond():
                    return time.monotonic() - start
            except Exception:  # a server being restarted: try again
                pass
            time.sleep(0.25)
        raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {what}")

    def http(self, path: str, token: bool = True) -> tuple[int, bytes]:
        req = urllib.request.Request(f"http://127.0.0.1:{self.serve_port}{path}")
        if token:
            req.add_header("Authorization", f"Bearer {self.auth_token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()
        except OSError:
            return 0, b""

    # ---- accounting

    def refresh_acked(self) -> int:
        """Reads the lines the ingestors appended to the delivery log since the last call."""
        with open(self.delivery_log, "rb") as f:
            f.seek(self.delivery_offset)
            data = f.read()
        end = data.rfind(b"\n") + 1  # only whole lines
        self.acked.extend(delivery_log.parse(data[:end], at_start=self.delivery_offset == 0))
        self.delivery_offset += end
        return len(self.acked)

    def missing(self, ids) -> list[str]:
        """The ids among `ids` not yet seen in MongoDB (asks only for those not confirmed yet)."""
        todo = [i for i in ids if i not in self.confirmed]
        coll = self.db().observations
        for k in range(0, len(todo), 5000):
            chunk = todo[k:k + 5000]
            for d in coll.find({"_id": {"$in": chunk}}, {"_id": 1}):
                self.confirmed.add(d["_id"])
        return [i for i in todo if i not in self.confirmed]

    def drained(self, upto: int, gone: set[str] = frozenset()) -> bool:
        """The first `upto` acknowledged events are in the store, but for `gone` and
        `self.gone`: those a case lost by design (a broker that keeps its data in memory),
        which no wait can bring back."""
        self.refresh_acked()
        return not self.missing(set(self.acked[:upto]) - gone - self.gone)

    def dead_letters(self) -> int:
        return self.db().dead_letters.count_documents({})

    def poison(self, n: int) -> float:
        """Undecodable messages, as a hostile producer would send: each must be dead-lettered.
        Returns the seconds the broker took to take them.

        The protocol version is given, not probed: kafka-python's probe allows the broker 2 s
        to answer a new connection and gives up with NoBrokersAvailable, and noida-db can be
        that slow for a few seconds on a loaded 2-core machine (CI failed three cases in a row
        that way, before any fault was injected). Without the probe the producer waits for
        metadata up to max_block_ms like any client; a slow broker is reported, not failed."""
        started = time.monotonic()
        producer = KafkaProducer(bootstrap_servers=self.broker, acks="all", retries=5,
                                 api_version=(2, 5, 0), max_block_ms=60_000)
        bodies = [b'{"v":1,"place_id":"x","name":"<script>alert(1)</script>","humidity_pct":',
                  b'{"v":1,"place_id":{"$ne":null},"name":"{\\"$ne\\": null}","observed_at":"9999-99-99"}',
                  b"\xff\xfe not json at all \x00",
                  b'{"v":1,"place_id":"p","name":"x","observed_at":"2026-01-01T00:00:00Z","latitude":1e999,"longitude":0}']
        for i in range(n):
            producer.send(self.topic, key=f"poison-{self.poison_sent + i}".encode(), value=bodies[i % len(bodies)]).get(timeout=30)
        producer.flush()
        producer.close()
        self.poison_sent += n
        return time.monotonic() - started

    # ---- one case

    def case(self, fault: str, inject, heal, *, hold: float = 3.0, note: str = "", may_lose=None,
             recover_within: float | None = None, verify=None) -> Row:
        row = Row(fault, note=note)
        log(f"== {fault}")
        try:
            self.refresh_acked()
            first = len(self.acked)
            dead_before = self.dead_letters()
            took = self.poison(self.args.poison)
            row.poison = self.args.poison
            if took > 5:
                slow = f"the broker took {took:.1f} s to accept the {row.poison} undecodable messages (before the fault)"
                row.note = f"{row.note}; {slow}" if row.note else slow
                log(f"   {slow}")
            time.sleep(self.args.steady)
            context = inject()
            time.sleep(hold)
            heal(context)
            healed = time.monotonic()
            self.refresh_acked()
            upto = len(self.acked)
            # What the case itself loses (and says so) is never waited for: before this, a
            # broker restart that caught the sinks behind waited 120 s for events that were
            # gone with the broker's memory and failed (CI, 2026-12-07), though the pipeline
            # had recovered. That only those are missing is checked below, as before.
            allowed = may_lose(context) if may_lose else set()
            # Recovered: everything acknowledged before the heal is stored, and events
            # acknowledged after it are stored too (the pipeline flows again).
            try:
                self.wait_for(lambda: self.drained(upto, allowed), self.args.recover_timeout, "the store to catch up")
                self.wait_for(lambda: self.refresh_acked() > upto and self.drained(len(self.acked), allowed), self.args.recover_timeout,
                              "new events acknowledged and stored after the fault was healed")
                row.recover_s = time.monotonic() - healed
                if recover_within is not None and row.recover_s > recover_within:
                    row.fail(f"recovered in {row.recover_s:.1f} s, more than the {recover_within:.0f} s required")
                for problem in verify(context) if verify else []:
                    row.fail(problem)
            except TimeoutError as e:
                row.fail(str(e))
            # Some more load after recovery: the pipeline works again, not only caught up.
            time.sleep(self.args.after)
            self.refresh_acked()
            last = len(self.acked)
            try:
                self.wait_for(lambda: self.drained(last, allowed), 60, "the events acknowledged after recovery")
            except TimeoutError:
                pass
            row.ids = set(self.acked[first:last])
            row.acked = len(row.ids)
            missing = set(self.missing(row.ids))
            row.stored = row.acked - len(missing)
            row.lost = len(missing)
            if missing - allowed:
                row.fail(f"{len(missing - allowed)} acknowledged events are not in the store, e.g. {sorted(missing - allowed)[:3]}")
            # Lost as the case allows: later cases, which wait for everything acknowledged
            # before them, must not wait for these (CI, 2026-12-07: one broker restart's 169
            # made the next case wait 120 s and fail with all of its own events stored).
            self.gone |= missing & allowed
            if last == first:
                row.fail("no event was acknowledged during the case")
            elif last == upto:
                row.fail("no event was acknowledged after the fault was healed: the pipeline did not resume")
            try:
                self.wait_for(lambda: self.dead_letters() - dead_before >= row.poison, 30, "the dead letters")
            except TimeoutError:
                pass
            row.dead_lettered = self.dead_letters() - dead_before
            if row.dead_lettered != row.poison:
                row.fail(f"{row.poison} undecodable messages sent, {row.dead_lettered} dead-lettered")
        except Exception as e:  # the case could not be run to its end
            row.fail(f"{type(e).__name__}: {e}")
        self.check_procs()
        for p in self.procs.values():
            if p.unexpected_exits:
                row.fail(f"{p.name} crashed (exit {p.unexpected_exits})")
                p.unexpected_exits.clear()
                if not p.alive() and p.name in ("ingest", "sink-1", "sink-2", "serve"):
                    p.start()
        self.rows.append(row)
        log(f"   acked {row.acked}, stored {row.stored}, lost {row.lost}, dead-lettered {row.dead_lettered}/{row.poison}, "
            f"recovered in {row.recover_s if row.recover_s is None else round(row.recover_s, 1)} s {'ok' if row.ok else 'FAILED'}")
        return row

    # ---- the faults

    def kill_and_restart(self, names: list[str], down: float = 2.0):
        def inject():
            for n in names:
                self.procs[n].kill9()
            time.sleep(down)

        def heal(_):
            for n in names:
                self.procs[n].start()
        return inject, heal

    def mongo_restart(self):
        def inject():
            service("mongo", "stop")

        def heal(_):
            service("mongo", "start")
        return inject, heal

    def broker_restart(self):
        """noida-db keeps its data in memory: what the sinks had not read when it stopped is gone."""
        def inject():
            self.refresh_acked()
            before = list(self.acked)
            service("kafka", "stop")
            time.sleep(3)  # writes already fetched by the sinks land
            self.refresh_acked()
            unread = set(self.missing(set(self.acked)))
            log(f"   broker stopped: {len(before)} acknowledged before the stop, {len(unread)} of them not yet in the store")
            return {"unread": unread}

        def heal(ctx):
            ctx["sink_logs"] = {n: self.procs[n].log_path.stat().st_size for n in ("sink-1", "sink-2")}
            service("kafka", "start")
            ctx["healed"] = time.monotonic()

        def verify(ctx):
            """Every sink owns partitions of the topic again within 30 s of the restart (its log since then says so)."""
            def assigned(n):
                with open(self.procs[n].log_path, "rb") as f:
                    f.seek(ctx["sink_logs"][n])
                    return f"partitions assigned: {self.topic}[".encode() in f.read()
            late = set(ctx["sink_logs"])
            while late and time.monotonic() - ctx["healed"] < 30:
                late = {n for n in late if not assigned(n)}
                time.sleep(0.25)
            return [f"{n} owned no partition of {self.topic} within 30 s of the restart" for n in sorted(late)]
        return inject, heal, (lambda ctx: ctx["unread"] if ctx else set()), verify

    # ---- the cases that are not about the steady pipeline

    def spark_case(self) -> Row:
        row = Row("Spark Connect killed during analyze", measured=False)
        log(f"== {row.fault}")
        if "running" not in service("spark", "status") and "sc://" not in service("spark", "status"):
            row.note = "skipped: Spark Connect is not running (scripts/services/spark start)"
            self.rows.append(row)
            return row
        analyze = [str(self.meteo), "analyze", "--engine", "spark", "--spark", self.spark, "--lake", str(self.lake), "--format", "json"]
        env = dict(os.environ, **self.base_env)
        err = ""
        for delay in (1.5, 0.8, 0.4, 0.2):
            p = subprocess.Popen(analyze, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=self.dir)
            time.sleep(delay)
            if p.poll() is not None:
                continue  # finished before the kill: try again with less time
            service("spark", "kill")
            killed = time.monotonic()
            _, err_b = p.communicate(timeout=120)
            err = err_b.decode(errors="replace")
            row.note = f"analyze exited {p.returncode} {time.monotonic() - killed:.1f} s after the kill: {err.strip().splitlines()[-1] if err.strip() else '(no message)'}"
            if p.returncode == 0:
                row.fail("analyze reported success although Spark was killed under it")
            if "meteo: error:" not in err or "Spark" not in err:
                row.fail(f"no clear error line: {err[-400:]!r}")
            if "at org.apache" in err or "Traceback" in err:
                row.fail("a stack trace leaked to the user")
            break
        else:
            row.fail("analyze always finished before Spark could be killed")
            self.rows.append(row)
            return row
        (self.dir / "logs" / "analyze-killed.log").write_text(err)
        started = time.monotonic()
        service("spark", "start")
        r = subprocess.run(analyze, capture_output=True, env=env, cwd=self.dir, timeout=600)
        (self.dir / "logs" / "analyze-after.log").write_bytes(r.stderr)
        if r.returncode != 0:
            row.fail(f"analyze failed after Spark came back: {r.stderr.decode(errors='replace')[-300:]}")
        else:
            row.recover_s = time.monotonic() - started
        self.rows.append(row)
        log(f"   {row.note}; recovered in {row.recover_s and round(row.recover_s, 1)} s {'ok' if row.ok else 'FAILED'}")
        return row

    def api_case(self) -> Row:
        """A second ingestor polls the stub of the weather APIs while it misbehaves.

        The stub's faults are not quota refusals (its 429 names no window), and it moves its
        clock a minute a request, so the ingestors poll every second with no quota (`--quota
        none`): what is tested is the retries, not the plan (the quota tests do that)."""
        places = "Strasbourg;Paris,FR;Lyon;Marseille;Lille,FR;Nantes"
        kafka = ["--bus", "kafka", "--brokers", self.broker, "--topic", self.topic]
        api = self.add("ingest-api", ["ingest", *kafka, "--source", "open-meteo", "--places", places, "--interval", "1s", "--quota", "none",
                                      "--open-meteo-url", f"http://127.0.0.1:{self.stub.port}/v1/forecast",
                                      "--max-attempts", "3", "--http-timeout", "2s", "--delivery-log", str(self.delivery_log)])
        owm = self.add("ingest-owm", ["ingest", *kafka, "--source", "openweathermap", "--places", "Strasbourg", "--interval", "1s", "--quota", "none",
                                      "--owm-url", f"http://127.0.0.1:{self.stub.port}/data/2.5/weather",
                                      "--max-attempts", "3", "--http-timeout", "2s", "--delivery-log", str(self.delivery_log)])
        storm = ["429"] * 8 + ["500", "503"] * 3 + ["stall"] + ["truncated"] * 3 + ["types"] * 3 + ["429", "ok"] * 4

        def inject():
            with self.stub.lock:
                self.stub.schedule = list(storm)
            api.start()
            owm.start()
            self.wait_for(lambda: not self.stub.schedule, 120, "the stub to serve its storm")

        def heal(_):
            pass

        row = self.case("weather API: 429 storm, 5xx, 30 s stall, truncated bodies, wrong types", inject, heal, hold=4)
        for p in (api, owm):
            code = p.stop()
            if code not in (0, None):
                row.fail(f"{p.name} exited with {code} on SIGTERM")
        text = api.log_path.read_text(errors="replace") + owm.log_path.read_text(errors="replace")
        seen = [w for w, pattern in (("429", r"429"), ("5xx", r"\b50[03]\b"), ("time-out", r"time.?out|timed out"),
                                     ("truncated", r"not complete JSON|truncated|unexpected end"),
                                     ("wrong type", r"should be|expected a number|not a number"))
                if re.search(pattern, text, re.I)]
        row.note = f"stub served {dict(sorted(self.stub.served.items()))}; the ingest logs name: {', '.join(seen)}"
        if len(seen) < 5:
            row.fail(f"the ingest log does not name every fault it met (found {seen})")
        if self.stub.bad_keys:
            row.fail(f"{self.stub.bad_keys} OpenWeatherMap requests came without the right key")
        del self.procs["ingest-api"], self.procs["ingest-owm"]
        self.procs["_api"], self.procs["_owm"] = api, owm  # kept for the secrets scan of their logs
        return row

    def disk_case(self, mode: str) -> Row:
        """The embedded data dir on a small tmpfs, filled up (or made read-only), then freed."""
        row = Row("embedded data dir: disk full" if mode == "full" else "embedded data dir: read-only")
        log(f"== {row.fault}")
        mnt = self.dir / f"disk-{mode}"
        mnt.mkdir(exist_ok=True)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mnt)], capture_output=True).returncode != 0:
            row.note = "skipped: cannot mount a tmpfs here (needs root)"
            self.rows.append(row)
            return row
        deliveries = self.dir / f"delivered-{mode}.log"
        ingest = Proc(self, f"disk-{mode}-ingest", ["ingest", "--data-dir", str(mnt), "--source", "synthetic", "--regions",
                                                     "EuropeE", "--interval", "1s", "--delivery-log", str(deliveries)])
        sink = Proc(self, f"disk-{mode}-sink", ["sink", "--data-dir", str(mnt), "--flush-interval", "200ms"])
        self.procs["_" + ingest.name], self.procs["_" + sink.name] = ingest, sink
        filler = mnt / "filler"
        try:
            sink.start()
            ingest.start()
            time.sleep(self.args.steady)
            if mode == "full":
                with open(filler, "wb") as f:  # every free block
                    try:
                        while True:
                            f.write(b"\0" * (1 << 20))
                            f.flush()
                    except OSError:
                        pass
            else:
                # Linux refuses to make a file system read-only while files on it are open for
                # writing, so the processes stop, the disk turns read-only, and they start again
                # on it: each must refuse or wait with a message that says so, and not crash.
                ingest.stop()
                sink.stop()
                subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
                ingest.start()
                sink.start()
            time.sleep(self.args.steady + 2)
            for p in (ingest, sink):
                p.check()
                if p.unexpected_exits:
                    if mode == "full" or any(code not in (1,) for code in p.unexpected_exits):
                        row.fail(f"{p.name} exited (status {p.unexpected_exits}) instead of waiting for the disk")
                    p.unexpected_exits.clear()
            text = ingest.log_path.read_text(errors="replace") + sink.log_path.read_text(errors="replace")
            clue = r"full|no space|read-only|readonly|attempt to write" if mode == "full" else r"read-only|readonly|attempt to write"
            if not re.search(clue, text, re.I):
                row.fail("no log line says the disk is full or read-only")
            if mode == "full":
                filler.unlink()
            else:
                subprocess.run(["mount", "-o", "remount,rw", str(mnt)], check=True)
                for p in (ingest, sink):
                    if not p.alive():
                        p.start()  # a process that refused the read-only disk, started again
            healed = time.monotonic()
            n_before = len(delivery_log.read(deliveries))

            def caught_up():
                ids = delivery_log.read(deliveries)
                return len(ids) > n_before and not self.sqlite_missing(mnt, ids)
            try:
                self.wait_for(caught_up, self.args.recover_timeout, "the embedded pipeline to resume")
                row.recover_s = time.monotonic() - healed
            except TimeoutError as e:
                row.fail(str(e))
            ingest.stop()
            time.sleep(1)
            ids = set(delivery_log.read(deliveries))
            self.wait_for(lambda: not self.sqlite_missing(mnt, ids), 30, "the sink to store the last events")
            sink.stop()
            row.acked = len(ids)
            lost = self.sqlite_missing(mnt, ids)
            row.lost = len(lost)
            row.stored = row.acked - row.lost
            if lost:
                row.fail(f"{len(lost)} acknowledged events are not in the store")
            for name in ("bus.sqlite", "store.sqlite"):
                con = sqlite3.connect(f"file:{mnt / name}?mode=ro", uri=True)
                check = con.execute("PRAGMA integrity_check").fetchone()[0]
                con.close()
                if check != "ok":
                    row.fail(f"{name} is corrupt: {check}")
            said = re.findall(r"meteo: error: (.*)|error meteo: meteo.error=(.*?) meteo\.source", text)
            said = [a or b for a, b in said]
            row.note = (f"SQLite integrity_check ok on both files; the processes said: {said[0][-140:]}" if said
                        else "SQLite integrity_check ok on both files") if row.ok else row.note
        except Exception as e:
            row.fail(f"{type(e).__name__}: {e}")
        finally:
            for p in (ingest, sink):
                p.kill9()
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
        self.rows.append(row)
        log(f"   acked {row.acked}, stored {row.stored}, lost {row.lost}, recovered in "
            f"{row.recover_s and round(row.recover_s, 1)} s {'ok' if row.ok else 'FAILED'}")
        return row

    @staticmethod
    def sqlite_missing(mnt: Path, ids) -> list[str]:
        con = sqlite3.connect(f"file:{mnt / 'store.sqlite'}?mode=ro", uri=True, timeout=30)
        try:
            rows = con.execute("SELECT place_id, observed_at FROM observations").fetchall()
        except sqlite3.OperationalError:
            return list(ids)
        finally:
            con.close()
        have = {f"{p}@{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(t))}" for p, t in rows}

        def norm(i: str) -> str:  # drop fractional seconds and the zone letter
            return re.sub(r"(\.\d+)?Z$", "", i)
        return [i for i in ids if norm(i) not in have]

    # ---- duplicates, secrets, soak

    def duplicates(self) -> dict[str, int]:
        """Documents of one (place, observed time) beyond the first, by the fields themselves, not _id."""
        pipeline = [{"$group": {"_id": {"p": "$place_id", "t": "$observed_at"}, "n": {"$sum": 1}, "ids": {"$push": "$_id"}}},
                    {"$match": {"n": {"$gt": 1}}}]
        out: dict[str, int] = {}
        for g in self.db().observations.aggregate(pipeline, allowDiskUse=True):
            for i in g["ids"]:
                out[i] = g["n"] - 1
        return out

    def secrets_scan(self) -> Row:
        row = Row("secrets in logs, errors and /metrics", measured=False)
        status, metrics = self.http("/metrics")
        (self.dir / "logs" / "metrics.txt").write_bytes(metrics)
        if status != 200:
            row.fail(f"/metrics answered {status}")
        status, _ = self.http("/api/latest", token=False)
        if status != 401:
            row.fail(f"/api/latest without the token answered {status}, not 401")
        files = [p for p in (self.dir / "logs").rglob("*") if p.is_file()]
        services = ROOT / ".build" / "services"
        for name in ("kafka/broker.log", "mongo/server.log", "spark/server.log"):
            if (services / name).exists():
                files.append(services / name)
        size = 0
        secrets_ = {"MongoDB password": self.mongo_password, "OpenWeatherMap key": self.owm_key, "serve token": self.auth_token}
        for f in files:
            data = f.read_bytes()
            size += len(data)
            for what, s in secrets_.items():
                if s.encode() in data:
                    row.fail(f"the {what} appears in {f}")
        row.note = f"{len(secrets_)} secrets, {len(files)} files ({size / 1e6:.1f} MB) and /metrics searched"
        self.rows.append(row)
        log(f"   {row.note}: {'none found' if row.ok else 'FOUND'}")
        return row

    def soak(self, seconds: float) -> bool:
        log(f"== soak: {seconds:.0f} s at a fixed rate, RSS and open descriptors sampled each second")
        names = ["ingest", "sink-1", "sink-2", "serve"]
        samples: dict[str, list[tuple[float, int, int]]] = {n: [] for n in names}
        start = time.monotonic()
        csv = open(self.dir / "soak.csv", "w")
        csv.write("t_s,process,rss_kb,fds\n")
        while time.monotonic() - start < seconds:
            t = time.monotonic() - start
            self.http("/api/latest")  # the dashboard's reads as well
            for n in names:
                p = self.procs[n]
                if not p.alive():
                    log(f"!! {n} is not running during the soak")
                    return False
                rss = int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{p.pid}/status").read_text()).group(1))
                fds = len(os.listdir(f"/proc/{p.pid}/fd"))
                samples[n].append((t, rss, fds))
                csv.write(f"{t:.1f},{n},{rss},{fds}\n")
            time.sleep(max(0.0, 1 - (time.monotonic() - start - t)))
        csv.close()
        warm = max(15.0, seconds * 0.25)
        window = max(5.0, min(60.0, (seconds - warm) / 4))
        ok = True
        print()
        print(f"| process | RSS after warm-up (MB) | RSS at end (MB) | growth | descriptors after warm-up | at end | growth |")
        print(f"|---|---:|---:|---:|---:|---:|---:|")
        lines = []
        for n in names:
            s = samples[n]
            a = [x for x in s if warm <= x[0] < warm + window]
            b = [x for x in s if x[0] >= seconds - window]
            rss_a, rss_b = sum(x[1] for x in a) / len(a), sum(x[1] for x in b) / len(b)
            fd_a, fd_b = sum(x[2] for x in a) / len(a), sum(x[2] for x in b) / len(b)
            g_rss, g_fd = rss_b / rss_a - 1, fd_b / fd_a - 1
            flag = "" if g_rss < 0.10 and g_fd < 0.10 else " **over 10 %**"
            ok = ok and not flag
            line = (f"| {n} | {rss_a / 1024:.1f} | {rss_b / 1024:.1f} | {g_rss * 100:+.1f} % | {fd_a:.0f} | {fd_b:.0f} | "
                    f"{g_fd * 100:+.1f} %{flag} |")
            lines.append(line)
            print(line)
        self.refresh_acked()
        upto = len(self.acked)
        try:
            self.wait_for(lambda: self.drained(upto), 120, "the store to hold every event of the soak")
        except TimeoutError as e:
            log(f"!! soak: {e}")
            ok = False
        lost = len(self.missing(set(self.acked[:upto]) - self.gone))
        ok = ok and lost == 0
        print(f"\nsoak: {seconds:.0f} s, warm-up {warm:.0f} s, windows of {window:.0f} s; "
              f"{len(set(self.acked[:upto])):,} events acknowledged in the run, {lost} of them not in the store"
              + (f" (besides the {len(self.gone):,} a case above lost as it allows)" if self.gone else "") + "; "
              f"samples in {self.dir / 'soak.csv'}")
        (self.dir / "soak-table.md").write_text("\n".join(lines) + "\n")
        return ok

    # ---- report

    def table(self) -> str:
        dups = self.duplicates()
        for row in self.rows:
            row.duplicated = sum(1 for i in row.ids if i in dups)
            if row.duplicated:
                row.fail(f"{row.duplicated} events stored more than once")
        head = ("| fault | acknowledged | stored | lost | duplicated | dead-lettered | recovered in | result |\n"
                "|---|---:|---:|---:|---:|---:|---:|---|")
        lines = [head]
        for r in self.rows:
            rec = "–" if r.recover_s is None else f"{r.recover_s:.1f} s"
            dl = f"{r.dead_lettered} of {r.poison}" if r.poison else "–"
            result = ("ok" if r.ok else "FAILED: " + "; ".join(r.problems)) + (f" ({r.note})" if r.note else "")
            if r.measured:
                counts = f"{r.acked:,} | {r.stored:,} | {r.lost:,} | {r.duplicated:,}"
            else:
                counts = "– | – | – | –"
            lines.append(f"| {r.fault} | {counts} | {dl} | {rec} | {result} |")
        return "\n".join(lines)

    def shutdown(self) -> None:
        for p in self.procs.values():
            if p.alive():
                p.stop()
        try:
            self.client.drop_database(self.database)
            self.client.admin.command("dropUser", self.mongo_user)
        except Exception:
            pass
        self.stub.server.shutdown()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--meteo", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--quick", action="store_true", help="the short form the test command runs")
    ap.add_argument("--soak", type=float, default=0, help="seconds of soak after the cases (0: none)")
    ap.add_argument("--soak-only", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated case names: ingest,sink,sinks,mongo,broker,spark,api,disk")
    ap.add_argument("--regions", default="EuropeE,AsieE", help="regions the synthetic load polls each second")
    args = ap.parse_args()
    args.steady = 3.0 if args.quick else 8.0
    args.after = 2.0 if args.quick else 5.0
    args.poison = 3 if args.quick else 5
    args.recover_timeout = 120.0
    only = set(filter(None, args.only.split(",")))

    # SIGTERM (a CI time-out, kill) ends the run like Ctrl-C: the processes it started stop.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    run = Run(args)
    log(f"chaos run {run.run_id}: topic {run.topic}, database {run.database}, logs in {run.dir / 'logs'}")
    ok = True
    try:
        run.setup()
        run.start_pipeline()
        log(f"load: synthetic {args.regions} every second ({len(set(run.acked))} events acknowledged so far)")
        if not args.soak_only:
            def want(k):
                return not only or k in only
            if want("ingest"):
                run.case("kill -9 of the ingestor, restart", *run.kill_and_restart(["ingest"]))
            if want("sink"):
                run.case("kill -9 of one sink, restart", *run.kill_and_restart(["sink-1"]))
            if want("sinks"):
                run.case("kill -9 of both sinks, restart", *run.kill_and_restart(["sink-1", "sink-2"]))
            if want("mongo"):
                run.case("MongoDB-wire server stopped 5 s, restarted", *run.mongo_restart(), hold=5)
            if want("broker"):
                inject, heal, may_lose, verify = run.broker_restart()
                run.case("Kafka broker (in-memory) stopped, restarted", inject, heal, hold=3, may_lose=may_lose,
                         recover_within=30, verify=verify,
                         note="only events the sinks had not read before the stop may be lost")
            if want("spark"):
                run.spark_case()
            if want("api"):
                run.api_case()
            if want("disk"):
                run.disk_case("full")
                run.disk_case("read-only")
            table = run.table()
            print("\n" + table + "\n")
            (run.dir / "chaos-table.md").write_text(table + "\n")
        if args.soak:
            ok = run.soak(args.soak) and ok
        run.secrets_scan()
        ok = ok and all(r.ok for r in run.rows)
        if not ok:
            for r in run.rows:
                for p in r.problems:
                    print(f"FAILED: {r.fault}: {p}")
    except (Exception, KeyboardInterrupt) as e:
        log(f"chaos: {type(e).__name__}: {e}")
        ok = False
    finally:
        run.shutdown()
    log("chaos: " + ("every case passed" if ok else "FAILED") + f"; logs in {run.dir / 'logs'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
