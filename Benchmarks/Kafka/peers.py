#!/usr/bin/env python3
"""Meteo's Kafka pipeline vs the broker's ceiling (kcat) and the original Python pipeline.

    python Benchmarks/Kafka/peers.py run --brokers HOST:PORT --topic T --events N
        [--partitions 6] [--meteo-ingest-seconds S --meteo-sink-seconds S]
        [--meteo-sink-exit-seconds S] [--meteo-concurrent-seconds S]
        [--kcat-repeat 5] [--out .build/bench-kafka] [--keep-topics]
    python Benchmarks/Kafka/peers.py self-test --brokers HOST:PORT [--events 100000] [--partitions 6] [...]
    python Benchmarks/Kafka/peers.py wait-topic --brokers HOST:PORT --topic T [--timeout 60]
    python Benchmarks/Kafka/peers.py wait-store --db D/store.sqlite --count N [--pid PID] [--timeout 600]
    python Benchmarks/Kafka/peers.py delete-topics --brokers HOST:PORT T [T ...]

`run` measures the peers on topic T, which holds N version-1 Meteo events keyed by place id
(written by `meteo ingest --bus kafka`), then prints one table with Meteo's timings (when
given; scripts/bench kafka measures them) and writes it as Markdown to OUT/table.md and as
JSON to OUT/results.json:
  kcat -C   kcat reads T from the beginning to the end of every partition and writes each
            message as "key<TAB>value" to OUT/events.tsv: the broker's raw consume rate, and
            the export of the exact events for the other peers;
  kcat -P   kcat writes OUT/events.tsv, keyed, to a fresh topic T-kcat-i of P partitions
            (librdkafka's defaults, so acks=all): the raw produce rate;
            both kcat figures are the fastest of --kcat-repeat runs, each timed from the
            process's start to its exit: a ceiling, and a run takes well under a second at
            100k events, so one slow start (librdkafka sometimes retries a partition's
            offset lookup 0.5 s later) would weigh; every run is printed and kept in the JSON;
  Python    the original system's pipeline on the same events, with kafka-python 2.x and
            its defaults (acks=1), as the original's unpinned `pip3 install kafka-python`:
            its producer sent each event dict with KafkaProducer(value_serializer=json.dumps)
            .send(topic, value=obj), no key, then flush; its consumer, in a consumer group
            from the earliest offset with value_deserializer=json.loads, made one
            acknowledged write per message (MongoDB insert_one): here INSERT OR REPLACE
            into SQLite (WAL, synchronous=NORMAL) keyed on (place_id, observed_at), and a
            commit per message. Producer and consumer are timed apart (to a fresh topic
            T-python of P partitions), each from the client's creation to the last event
            flushed or stored.
Meteo's produce time runs from `meteo ingest`'s start to its exit (after every delivery
report); its consume+store time from `meteo sink`'s start to its last event stored, its
exit (idle detection) being shown apart. A pipeline's rate is N / (produce seconds +
consume-and-store seconds). The two targets of the issue are checked: Meteo pipeline >= 20x
the Python pipeline, and Meteo consume+store >= 0.5x kcat -C. Every count is checked (end
offsets of each topic, lines exported, rows stored); a mismatch stops the run with a
message and exit status 1. The peers' topics are deleted at the end unless --keep-topics.

`self-test` stands in for Meteo: it writes N Meteo-shaped events (the 1,630 places of the
ten built-in regions from the bundled catalogue, one observation a place every 600 s) keyed
by place id with kcat to a fresh topic, runs `run` on it without Meteo's rows, and deletes it.
`wait-topic` waits until a topic exists, without creating it; `wait-store` waits until a
Meteo store holds N observations and prints when (Unix seconds): helpers of scripts/bench
kafka. `delete-topics` deletes topics (the bench's own, at its end).
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # Benchmarks/
from benchlib import (REPO, BenchError, add_quiesce_command, alive, command_parser,  # noqa: E402
                      fmt_rate, fmt_seconds, positive, quiesce, run_command, say)

CATALOGUE = os.path.join(REPO, "Sources", "MeteoCore", "Resources", "cities15000.csv")

# The original code passed plain functions as (de)serializers; newer kafka-python (3.x)
# still takes them but warns that they are not Serializer classes. Same behaviour: quiet.
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"kafka(\.|$)")
warnings.filterwarnings("ignore", message=r".*does not implement kafka\.serializer.*")

# The ten regions of the original producer (Sources/MeteoCore/Catalogue/BuiltinRegions.swift):
# name, lon_min, lat_min, lon_max, lat_max.
REGIONS = [
    ("EuropeW", 3.183905, 48.124541, 13.027655, 50.585558),
    ("EuropeE", 17.984474, 48.723510, 25.455177, 51.866246),
    ("AsieW", 72.989052, 28.244139, 78.614052, 31.595136),
    ("AsieE", 115.193519, 32.842490, 119.390297, 35.317188),
    ("AfriqueN", -4.328613, 33.852170, 0.439453, 35.389050),
    ("AfriqueC", 12.325603, 6.321483, 16.939861, 9.974979),
    ("AfriqueS", 19.827204, -8.148851, 24.990778, -4.414764),
    ("AmeriqueN", -76.955032, 42.559503, -71.110306, 45.558631),
    ("AmeriqueC", -92.598430, 13.389995, -87.808391, 17.665328),
    ("AmeriqueS", -51.072407, -21.156289, -47.468892, -17.717346),
]
SYNTHETIC_START = 1_767_225_600  # 2026-01-01T00:00:00Z, the synthetic source's tick 0
STEP_SECONDS = 600
PYTHON_IDLE_MS = 30_000  # the Python consumer gives up after this long without a message


# ============================================================================ Kafka helpers

def admin(brokers: str):
    from kafka.admin import KafkaAdminClient
    return KafkaAdminClient(bootstrap_servers=brokers, client_id="meteo-bench-admin")


def topic_names(brokers: str) -> set[str]:
    a = admin(brokers)
    try:
        return set(a.list_topics())
    finally:
        a.close()


def create_topic(brokers: str, topic: str, partitions: int) -> None:
    from kafka.admin import NewTopic
    a = admin(brokers)
    try:
        a.create_topics([NewTopic(name=topic, num_partitions=partitions, replication_factor=1)])
    finally:
        a.close()
    wait_topic(brokers, topic, timeout=30)


def delete_topics(brokers: str, topics: list[str]) -> None:
    """Deletes those of `topics` that exist; a failure is a warning, not an error."""
    try:
        a = admin(brokers)
        try:
            present = [t for t in topics if t in set(a.list_topics())]
            if present:
                a.delete_topics(present)
                say(f"== deleted topics {', '.join(present)}")
        finally:
            a.close()
    except Exception as e:  # cleanup only: the measurements stand
        say(f"!! could not delete topics {', '.join(topics)}: {e}")


def wait_topic(brokers: str, topic: str, timeout: float) -> int:
    """Waits until `topic` exists with its partitions' metadata; returns the partition count.
    Only lists topics, so it never creates one by asking for it."""
    deadline = time.monotonic() + timeout
    while True:
        if topic in topic_names(brokers):
            n = len(partitions_of(brokers, topic))
            if n > 0:
                return n
        if time.monotonic() > deadline:
            raise BenchError(f"topic {topic} did not appear on {brokers} within {timeout:g} s")
        time.sleep(0.1)


def partitions_of(brokers: str, topic: str) -> list[int]:
    from kafka import KafkaConsumer
    c = KafkaConsumer(bootstrap_servers=brokers, enable_auto_commit=False)
    try:
        return sorted(c.partitions_for_topic(topic) or [])
    finally:
        c.close()


def message_count(brokers: str, topic: str) -> int:
    """Sum over the partitions of end offset - beginning offset: the messages in `topic`."""
    from kafka import KafkaConsumer, TopicPartition
    if topic not in topic_names(brokers):  # asking a consumer could create it
        raise BenchError(f"topic {topic} does not exist on {brokers}")
    c = KafkaConsumer(bootstrap_servers=brokers, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or [])]
        if not parts:
            raise BenchError(f"topic {topic} has no partitions on {brokers}")
        end = c.end_offsets(parts)
        begin = c.beginning_offsets(parts)
        return sum(end[tp] - begin[tp] for tp in parts)
    finally:
        c.close()


def expect_messages(brokers: str, topic: str, n: int, what: str) -> None:
    got = message_count(brokers, topic)
    if got != n:
        raise BenchError(f"{what}: topic {topic} holds {got:,} messages, expected {n:,}")


def run_kcat(args: list[str], timeout: float, stdout=None) -> float:
    """Runs kcat, returns its wall time in seconds; a failure or time-out is an error."""
    # noida-db answers a fetch with all a partition holds, whatever fetch.max.bytes says: past
    # librdkafka's 100 MB default response limit the client would refuse it (Meteo's own
    # processes take the same setting from METEO_KAFKA_RECEIVE_MESSAGE_MAX_BYTES).
    cmd = ["kcat", "-X", "receive.message.max.bytes=2000000000", *args]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, stdout=stdout if stdout is not None else subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{' '.join(cmd)} did not finish within {timeout:g} s")
    seconds = time.perf_counter() - t0
    if p.returncode != 0:
        tail = p.stderr.decode(errors="replace").strip().splitlines()[-5:]
        raise BenchError(f"{' '.join(cmd)} exited with status {p.returncode}: " + " | ".join(tail))
    return seconds


def kcat_version() -> str:
    """'kcat 1.7.1 (librdkafka 2.0.2)', from kcat -V."""
    try:
        out = subprocess.run(["kcat", "-V"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "kcat (version unknown)"
    kcat = re.search(r"^Version (\S+)", out, re.M)
    rdkafka = re.search(r"librdkafka (\S+)", out)
    if not kcat:
        return "kcat (version unknown)"
    return f"kcat {kcat.group(1)}" + (f" (librdkafka {rdkafka.group(1)})" if rdkafka else "")


# ============================================================================ the peers

def kcat_consume(brokers: str, topic: str, n: int, path: str, timeout: float) -> float:
    """kcat -C of the whole topic into `path` as key<TAB>value lines; checks the line count."""
    with open(path, "wb") as f:
        seconds = run_kcat(["-C", "-b", brokers, "-t", topic, "-o", "beginning", "-e", "-q",
                            "-f", "%k\t%s\n"], timeout, stdout=f)
    with open(path, "rb") as f:
        lines = sum(1 for _ in f)
    if lines != n:
        raise BenchError(f"kcat -C: wrote {lines:,} messages of {topic} to {path}, expected {n:,}")
    return seconds


def kcat_group_consume(brokers: str, topic: str, group: str, n: int, path: str, timeout: float) -> float:
    """kcat -G: the whole topic as a member of a new consumer group (the balanced consumer,
    so its time includes the group join, as Meteo's sink's does); checks the line count."""
    with open(path, "wb") as f:
        seconds = run_kcat(["-G", group, "-b", brokers, "-o", "beginning", "-e", "-q",
                            "-f", "%k\t%s\n", topic], timeout, stdout=f)
    with open(path, "rb") as f:
        lines = sum(1 for _ in f)
    if lines != n:
        raise BenchError(f"kcat -G: wrote {lines:,} messages of {topic} to {path}, expected {n:,}")
    return seconds


def kcat_produce(brokers: str, topic: str, partitions: int, n: int, path: str, timeout: float) -> float:
    """kcat -P of the key<TAB>value lines of `path` to a fresh topic; checks the count landed."""
    create_topic(brokers, topic, partitions)
    seconds = run_kcat(["-P", "-b", brokers, "-t", topic, "-K", "\t", "-l", path], timeout)
    expect_messages(brokers, topic, n, "kcat -P")
    return seconds


def load_events(path: str, n: int) -> list[dict]:
    """The event dicts of the exported lines (json.loads of each value), checked."""
    events, keyless, mismatched = [], 0, 0
    with open(path, "rb") as f:
        for i, line in enumerate(f, 1):
            key, sep, value = line.rstrip(b"\n").partition(b"\t")
            if not sep:
                raise BenchError(f"{path}:{i}: no TAB between key and value")
            try:
                obj = json.loads(value)
            except ValueError as e:
                raise BenchError(f"{path}:{i}: the message is not JSON ({e}): {value[:80]!r}")
            if not isinstance(obj, dict) or obj.get("v") != 1 or "place_id" not in obj or "observed_at" not in obj:
                raise BenchError(f"{path}:{i}: not a version-1 Meteo event: {value[:80]!r}")
            if not key:
                keyless += 1
            elif key.decode() != obj["place_id"]:
                mismatched += 1
            events.append(obj)
    if len(events) != n:
        raise BenchError(f"{path} holds {len(events):,} events, expected {n:,}")
    if keyless or mismatched:
        say(f"!! warning: of {n:,} messages, {keyless:,} have no key and {mismatched:,} a key that is not "
            "their place_id (Meteo keys each event by its place id)")
    return events


def python_produce(brokers: str, topic: str, partitions: int, events: list[dict]) -> float:
    """The original producer: one send per event dict, JSON by the value serializer, no key."""
    from kafka import KafkaProducer
    create_topic(brokers, topic, partitions)
    t0 = time.perf_counter()
    producer = KafkaProducer(bootstrap_servers=brokers,
                             value_serializer=lambda v: json.dumps(v).encode("utf-8"))
    for obj in events:
        producer.send(topic, value=obj)
    producer.flush()
    seconds = time.perf_counter() - t0
    producer.close()
    expect_messages(brokers, topic, len(events), "Python producer")
    return seconds


def python_consume(brokers: str, topic: str, group: str, n: int, db_path: str) -> float:
    """The original consumer: a consumer group from the earliest offset, one acknowledged
    write per message (here an SQLite upsert and its commit, for MongoDB's insert_one)."""
    from kafka import KafkaConsumer
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db_path + suffix):
            os.remove(db_path + suffix)
    t0 = time.perf_counter()
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE observations (place_id TEXT NOT NULL, observed_at TEXT NOT NULL, "
               "doc TEXT NOT NULL, PRIMARY KEY (place_id, observed_at))")
    db.commit()
    consumer = KafkaConsumer(topic, bootstrap_servers=brokers, group_id=group,
                             auto_offset_reset="earliest", value_deserializer=json.loads,
                             consumer_timeout_ms=PYTHON_IDLE_MS)
    consumed = 0
    for message in consumer:
        v = message.value
        db.execute("INSERT OR REPLACE INTO observations (place_id, observed_at, doc) VALUES (?, ?, ?)",
                   (v["place_id"], v["observed_at"], json.dumps(v)))
        db.commit()
        consumed += 1
        if consumed == n:
            break
    seconds = time.perf_counter() - t0
    consumer.close()
    stored = db.execute("SELECT count(*) FROM observations").fetchone()[0]
    db.close()
    if consumed != n:
        raise BenchError(f"Python consumer: {consumed:,} of {n:,} messages of {topic} arrived "
                         f"({PYTHON_IDLE_MS // 1000} s without a message)")
    if stored != n:
        raise BenchError(f"Python consumer: {db_path} holds {stored:,} rows after {n:,} messages, "
                         "expected as many (events with the same place_id and observed_at?)")
    return seconds


# ============================================================================ the table

def build_rows(n: int, t: dict) -> list[tuple[str, float | None]]:
    def total(a, b):
        return t[a] + t[b] if t.get(a) is not None and t.get(b) is not None else None
    rows = []
    if t.get("meteo_ingest") is not None or t.get("meteo_sink") is not None:
        rows += [("Meteo produce (meteo ingest)", t.get("meteo_ingest")),
                 ("Meteo consume+store (meteo sink)", t.get("meteo_sink")),
                 ("Meteo pipeline (ingest, then sink)", total("meteo_ingest", "meteo_sink"))]
        if t.get("meteo_concurrent") is not None:
            rows.append(("Meteo pipeline (ingest and sink at once)", t["meteo_concurrent"]))
    if t.get("meteo_consume") is not None:
        rows += [("Meteo consume (KafkaConsumer, group join included)", t["meteo_consume"]),
                 ("Meteo consume (KafkaConsumer, from its first event)", t.get("meteo_consume_steady")),
                 ("Meteo consume + decode (KafkaConsumer, event decoder)", t.get("meteo_consume_decode"))]
    rows += [("kcat -P", t["kcat_produce"]),
             ("kcat -C", t["kcat_consume"]),
             ("kcat -G (consumer group, join included)", t.get("kcat_group_consume")),
             ("Python producer (kafka-python)", t["python_produce"]),
             ("Python consumer+store (kafka-python, SQLite)", t["python_consume"]),
             ("Python pipeline (producer, then consumer)", total("python_produce", "python_consume"))]
    return rows


def ratios(n: int, t: dict) -> list[tuple[str, float | None, float, str]]:
    """(what, value, target, verdict) for the issue's two targets."""
    def rate(seconds):
        return n / seconds if seconds else None
    meteo_pipe = rate(t["meteo_ingest"] + t["meteo_sink"]) if t.get("meteo_ingest") and t.get("meteo_sink") else None
    python_pipe = rate(t["python_produce"] + t["python_consume"])
    meteo_sink, kcat_c = rate(t.get("meteo_sink")), rate(t["kcat_consume"])
    kcat_g = rate(t.get("kcat_group_consume"))
    meteo_concurrent = rate(t.get("meteo_concurrent"))
    meteo_consume = rate(t.get("meteo_consume"))
    out = []
    for what, a, b, target in [
        ("Meteo pipeline (ingest, then sink) / Python pipeline", meteo_pipe, python_pipe, 20.0),
        ("Meteo pipeline (ingest and sink at once) / Python pipeline", meteo_concurrent, python_pipe, 20.0),
        # Like for like: both join a consumer group (noida-db takes about 0.33 s to answer a
        # JoinGroup), both timed from their start to their last event.
        ("Meteo consume (KafkaConsumer, join included) / kcat -G", meteo_consume, kcat_g, 0.5),
        ("Meteo consume+store (meteo sink into SQLite) / kcat -G", meteo_sink, kcat_g, 0.5),
        # Against kcat without a group (no join, no commits): the broker's raw ceiling.
        ("Meteo consume (KafkaConsumer, join included) / kcat -C", meteo_consume, kcat_c, 0.5),
        ("Meteo consume+store (meteo sink into SQLite) / kcat -C", meteo_sink, kcat_c, 0.5),
    ]:
        if a is None and what.startswith(("Meteo pipeline (ingest and", "Meteo consume (")):
            continue  # that Meteo figure was not measured in this run
        if b is None:
            continue  # that peer was not measured (results of an older run)
        value = a / b if a is not None and b else None
        verdict = "no Meteo timings" if value is None else ("met" if value >= target else "NOT MET")
        out.append((what, value, target, verdict))
    return out


def render(n: int, t: dict, context: list[str], markdown: bool) -> str:
    rows = build_rows(n, t)
    rs = ratios(n, t)
    lines = []
    if markdown:
        lines += ["# Kafka pipeline benchmark", ""]
        lines += [f"{c}  " for c in context] + [""]
        lines += ["| | events | seconds | events/s |", "| --- | ---: | ---: | ---: |"]
        lines += [f"| {name} | {n:,} | {fmt_seconds(s)} | {fmt_rate(n, s)} |" for name, s in rows]
        lines += ["", "| ratio | value | target | |", "| --- | ---: | ---: | --- |"]
        lines += [f"| {what} | {'n/a' if v is None else f'{v:.2f}x'} | >= {target:g}x | {verdict} |"
                  for what, v, target, verdict in rs]
    else:
        width = max(len(name) for name, _ in rows)
        lines += context + [""]
        lines.append(f"{'':<{width}}  {'events':>10}  {'seconds':>9}  {'events/s':>10}")
        lines += [f"{name:<{width}}  {n:>10,}  {fmt_seconds(s):>9}  {fmt_rate(n, s):>10}" for name, s in rows]
        lines.append("")
        for what, v, target, verdict in rs:
            shown = "n/a" if v is None else f"{v:.2f}x"
            lines.append(f"{what}: {shown} (target >= {target:g}x): {verdict}")
    return "\n".join(lines) + "\n"


# ============================================================================ commands

def cmd_run(args) -> int:
    import kafka
    if shutil.which("kcat") is None:
        raise BenchError("kcat is not on PATH (Debian: apt-get install kcat)")
    n, b, topic, p = args.events, args.brokers, args.topic, args.partitions
    os.makedirs(args.out, exist_ok=True)
    tsv = os.path.join(args.out, "events.tsv")
    timeout = max(120.0, n / 500)  # generous: a stuck peer fails instead of hanging the bench
    runs = args.kcat_repeat
    kcat_topics = [f"{topic}-kcat-{i}" for i in range(1, runs + 1)]
    py_topic = f"{topic}-python"

    say(f"== checking {topic} on {b}: {n:,} events expected")
    expect_messages(b, topic, n, "Meteo's topic")
    delete_topics(b, [*kcat_topics, py_topic])  # left over by an interrupted run of the same name
    t = {"meteo_ingest": args.meteo_ingest_seconds, "meteo_sink": args.meteo_sink_seconds,
         "meteo_concurrent": args.meteo_concurrent_seconds}
    if args.meteo_consume_json:
        with open(args.meteo_consume_json) as f:
            consume = json.load(f)
        if consume.get("events") != n:
            raise BenchError(f"{args.meteo_consume_json} measured {consume.get('events')} events, not {n:,}")
        t["meteo_consume"] = consume["consume_s"]
        t["meteo_consume_steady"] = consume["consume_from_first_s"]
        t["meteo_consume_decode"] = consume["consume_decode_s"]
    runs_seconds = {}
    try:
        # kcat takes a fraction of a second on 100k events: the fastest of a few runs.
        say(f"== kcat -C {topic} → {tsv}, {runs} run(s)")
        times = []
        for _ in range(runs):
            quiesce(args.broker_pid)
            times.append(kcat_consume(b, topic, n, tsv, timeout))
            say(f"   {n:,} events in {times[-1]:.3f} s ({fmt_rate(n, times[-1])} events/s)")
        t["kcat_consume"] = min(times)
        runs_seconds["kcat_consume"] = times

        group_tsv = os.path.join(args.out, "events-kcat-group.tsv")
        say(f"== kcat -G (a new consumer group each run) {topic} → {group_tsv}, {runs} run(s)")
        times = []
        for i in range(runs):
            quiesce(args.broker_pid)
            times.append(kcat_group_consume(b, topic, f"{topic}-kcat-group-{i + 1}", n, group_tsv, timeout))
            say(f"   {n:,} events in {times[-1]:.3f} s ({fmt_rate(n, times[-1])} events/s)")
        t["kcat_group_consume"] = min(times)
        runs_seconds["kcat_group_consume"] = times

        say(f"== kcat -P {tsv} → {topic}-kcat-1..{runs} ({p} partitions each)")
        times = []
        for kt in kcat_topics:
            quiesce(args.broker_pid)
            times.append(kcat_produce(b, kt, p, n, tsv, timeout))
            say(f"   {n:,} events in {times[-1]:.3f} s ({fmt_rate(n, times[-1])} events/s)")
        t["kcat_produce"] = min(times)
        runs_seconds["kcat_produce"] = times

        events = load_events(tsv, n)
        say(f"== Python producer (kafka-python {kafka.__version__}) → {py_topic} ({p} partitions)")
        quiesce(args.broker_pid)
        t["python_produce"] = python_produce(b, py_topic, p, events)
        say(f"   {n:,} events in {t['python_produce']:.3f} s ({fmt_rate(n, t['python_produce'])} events/s)")
        del events

        db = os.path.join(args.out, "python-store.sqlite")
        say(f"== Python consumer {py_topic} → {db}, one upsert and commit per message")
        quiesce(args.broker_pid)
        t["python_consume"] = python_consume(b, py_topic, f"{py_topic}-group", n, db)
        say(f"   {n:,} events in {t['python_consume']:.3f} s ({fmt_rate(n, t['python_consume'])} events/s)")
    finally:
        if not args.keep_topics:
            delete_topics(b, [*kcat_topics, py_topic])

    context = [
        f"Broker {b}, {p} partitions per topic; {n:,} version-1 Meteo events of topic {topic}; "
        f"{_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"{kcat_version()}; kafka-python {kafka.__version__}; Python {sys.version.split()[0]}; "
        f"{os.cpu_count()} cores",
        "Each phase is timed from the start of its client (process) to its last event "
        "delivered or stored; a pipeline is N / (produce s + consume+store s); "
        f"kcat: the fastest of {runs} run(s).",
    ]
    if args.broker_pid is not None:
        context.append("Each phase started once the broker process was quiet (under 5% of a CPU over 0.5 s): "
                       "noida-db snapshots every topic about a second after each change.")
    if args.meteo_sink_exit_seconds is not None and args.meteo_sink_seconds is not None:
        context.append(f"meteo sink --until-idle exited {args.meteo_sink_exit_seconds - args.meteo_sink_seconds:.3f} s "
                       "after its last event was stored (its idle detection); not counted above.")
    print()
    print(render(n, t, context, markdown=False), end="")
    md = os.path.join(args.out, "table.md")
    with open(md, "w") as f:
        f.write(render(n, t, context, markdown=True))
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"brokers": b, "topic": topic, "partitions": p, "events": n, "seconds": t,
                   "events_per_second": {k: (n / v if v else None) for k, v in t.items()},
                   "meteo_sink_exit_seconds": args.meteo_sink_exit_seconds,
                   "kcat_runs_seconds": runs_seconds,
                   "versions": {"kcat": kcat_version(), "kafka-python": kafka.__version__,
                                "python": sys.version.split()[0]},
                   "ratios": [{"what": w, "value": v, "target": tg, "verdict": vd}
                              for w, v, tg, vd in ratios(n, t)]}, f, indent=2)
        f.write("\n")
    say(f"== wrote {md} and {os.path.join(args.out, 'results.json')}")
    return 0


def builtin_places() -> list[tuple[str, str, str, str, float, float]]:
    """(place_id, name, country, region, latitude, longitude) of the catalogue's places inside
    the ten regions, in catalogue order: the places Meteo's synthetic source polls."""
    places = []
    with open(CATALOGUE, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            lat, lon = float(row["latitude"]), float(row["longitude"])
            for name, lon_min, lat_min, lon_max, lat_max in REGIONS:
                if lon_min <= lon <= lon_max and lat_min <= lat <= lat_max:
                    places.append((row["geonameid"], row["name"], row["country"], name, lat, lon))
                    break
    return places


def fake_events(n: int, seed: int = 1):
    """n Meteo-shaped version-1 events, as compact JSON, keyed by place id: tick after tick
    over the built-in places, so (place_id, observed_at) is unique."""
    rng = random.Random(seed)
    places = builtin_places()
    for i in range(n):
        tick, k = divmod(i, len(places))
        pid, name, country, region, lat, lon = places[k]
        observed = _dt.datetime.fromtimestamp(SYNTHETIC_START + tick * STEP_SECONDS, _dt.timezone.utc)
        temp = round(rng.uniform(-15, 35), 2)
        rain = round(rng.uniform(0, 4), 2) if rng.random() < 0.2 else 0
        event = {
            "v": 1, "place_id": pid, "name": name, "country": country, "region": region,
            "latitude": lat, "longitude": lon,
            "observed_at": observed.strftime("%Y-%m-%dT%H:%M:%SZ"), "source": "synthetic",
            "temperature_c": temp, "feels_like_c": round(temp - rng.uniform(0, 4), 2),
            "humidity_pct": round(rng.uniform(20, 100), 1), "pressure_hpa": round(rng.uniform(985, 1035), 1),
            "wind_speed_ms": round(rng.uniform(0, 15), 2), "wind_direction_deg": round(rng.uniform(0, 360)),
            "wind_gust_ms": round(rng.uniform(0, 25), 2), "cloud_cover_pct": round(rng.uniform(0, 100)),
            "visibility_m": round(rng.uniform(1000, 10000)), "rain_mm": rain, "snow_mm": 0,
            "weather_code": 61 if rain else 1,
        }
        yield pid, json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def cmd_self_test(args) -> int:
    n, b = args.events, args.brokers
    topic = f"meteo-bench-selftest-{os.getpid()}-{int(time.time())}"
    os.makedirs(args.out, exist_ok=True)
    src = os.path.join(args.out, "selftest-input.tsv")
    with open(src, "w", encoding="utf-8") as f:
        for key, value in fake_events(n):
            f.write(f"{key}\t{value}\n")
    say(f"== self-test: {n:,} Meteo-shaped events keyed by place id → {topic} ({args.partitions} partitions), with kcat")
    try:
        create_topic(b, topic, args.partitions)
        run_kcat(["-P", "-b", b, "-t", topic, "-K", "\t", "-l", src], max(120.0, n / 500))
        expect_messages(b, topic, n, "self-test input")
        args.topic = topic
        args.meteo_ingest_seconds = args.meteo_sink_seconds = args.meteo_concurrent_seconds = None
        args.meteo_sink_exit_seconds = None
        args.meteo_consume_json = None
        return cmd_run(args)
    finally:
        if not args.keep_topics:
            delete_topics(b, [topic])


def cmd_wait_topic(args) -> int:
    n = wait_topic(args.brokers, args.topic, args.timeout)
    say(f"== topic {args.topic} is there ({n} partitions)")
    return 0


def cmd_wait_store(args) -> int:
    """Polls `select count(*) from observations` every 50 ms until it reaches --count, then
    prints the time it saw it (Unix seconds, as `date +%s.%N`); an error on time-out or,
    with --pid, as soon as that process (the sink) has exited short of the count."""
    deadline = time.monotonic() + args.timeout
    count = 0
    while True:
        if os.path.exists(args.db):
            try:
                con = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True, timeout=1)
                try:
                    count = con.execute("SELECT count(*) FROM observations").fetchone()[0]
                finally:
                    con.close()
            except sqlite3.Error:
                pass  # created but without its table yet, or busy: ask again
            if count >= args.count:
                print(f"{time.time():.6f}", flush=True)
                return 0
        if args.pid is not None and not alive(args.pid):
            raise BenchError(f"process {args.pid} exited while {args.db} held {count:,} of {args.count:,} observations")
        if time.monotonic() > deadline:
            raise BenchError(f"{args.db} holds {count:,} observations after {args.timeout:g} s, expected {args.count:,}")
        time.sleep(0.05)


def cmd_delete_topics(args) -> int:
    delete_topics(args.brokers, args.topics)
    return 0


def main(argv=None) -> int:
    p, sub = command_parser(__doc__)

    def measuring(sp, events_default=None):
        sp.add_argument("--brokers", required=True, help="bootstrap servers, host:port")
        sp.add_argument("--events", type=positive, required=events_default is None, default=events_default,
                        help="events in the topic" + (f" ({events_default})" if events_default else ""))
        sp.add_argument("--partitions", type=positive, default=6, help="partitions of the peers' topics (6)")
        sp.add_argument("--out", default=os.path.join(REPO, ".build", "bench-kafka"),
                        help="output directory (.build/bench-kafka)")
        sp.add_argument("--keep-topics", action="store_true", help="keep the topics this run creates")
        sp.add_argument("--kcat-repeat", type=positive, default=5,
                        help="runs of kcat -C and of kcat -P, the fastest reported (5)")
        sp.add_argument("--broker-pid", type=int,
                        help="the broker's process id: each phase starts once it is quiet")

    r = sub.add_parser("run", help="measure kcat and the Python pipeline on Meteo's topic")
    measuring(r)
    r.add_argument("--topic", required=True, help="Meteo's topic, with exactly --events events")
    r.add_argument("--meteo-ingest-seconds", type=float, help="wall time of meteo ingest")
    r.add_argument("--meteo-sink-seconds", type=float,
                   help="time of meteo sink --until-idle from its start to its last event stored")
    r.add_argument("--meteo-sink-exit-seconds", type=float,
                   help="time of meteo sink --until-idle from its start to its exit (shown as a note)")
    r.add_argument("--meteo-consume-json",
                   help="output of meteo-kafka-bench on --topic: KafkaConsumer alone, without and with decoding")
    r.add_argument("--meteo-concurrent-seconds", type=float,
                   help="wall time of meteo ingest and sink run at once, to the last event stored")
    r.set_defaults(fn=cmd_run)

    s = sub.add_parser("self-test", help="run the peers on a Meteo-shaped topic written by kcat")
    measuring(s, events_default=100_000)
    s.set_defaults(fn=cmd_self_test)

    w = sub.add_parser("wait-topic", help="wait until a topic exists")
    w.add_argument("--brokers", required=True)
    w.add_argument("--topic", required=True)
    w.add_argument("--timeout", type=float, default=60, help="seconds (60)")
    w.set_defaults(fn=cmd_wait_topic)

    ws = sub.add_parser("wait-store", help="wait until a Meteo store holds N observations")
    ws.add_argument("--db", required=True, help="the store, D/store.sqlite")
    ws.add_argument("--count", type=positive, required=True)
    ws.add_argument("--timeout", type=float, default=600, help="seconds (600)")
    ws.add_argument("--pid", type=int, help="give up as soon as this process (the sink) has exited")
    ws.set_defaults(fn=cmd_wait_store)

    add_quiesce_command(sub, "broker")

    d = sub.add_parser("delete-topics", help="delete topics")
    d.add_argument("--brokers", required=True)
    d.add_argument("topics", nargs="+")
    d.set_defaults(fn=cmd_delete_topics)

    return run_command(p, argv)


if __name__ == "__main__":
    sys.exit(main())
