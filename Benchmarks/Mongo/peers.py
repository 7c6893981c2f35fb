#!/usr/bin/env python3
"""Meteo's MongoDB sink vs pymongo's insert_many (the client ceiling) and the original loop.

The connection string comes from the environment variable METEO_BENCH_MONGO_URI (so that its
password is on no command line); it is only ever printed with the password masked.

    python Benchmarks/Mongo/peers.py ping
    python Benchmarks/Mongo/peers.py last-event --bus DIR/bus.sqlite [--topic weather.observations]
    python Benchmarks/Mongo/peers.py wait-store --db D --count N [--last-place P --last-time T]
        [--pid PID] [--timeout 600]
    python Benchmarks/Mongo/peers.py run --db D --events N [--loop-docs 5000]
        [--meteo-sink-exit-seconds S] [--meteo-sink-stored-seconds S] [--meteo-ingest-seconds S]
        [--meteo-batches B] [--server-pid PID] [--out .build/bench-mongo] [--keep]
    python Benchmarks/Mongo/peers.py drop D [D ...]
    python Benchmarks/Mongo/peers.py quiesce --pid PID

`run` measures the peers on the N documents that `meteo sink --store mongodb` wrote into
database D (collection `observations`), then prints one table with Meteo's time (when given;
scripts/bench mongo measures it) and writes it as Markdown to OUT/table.md and as JSON to
OUT/results.json. First, untimed: it checks that D.observations holds exactly N documents,
D.latest one per place and D.dead_letters none, and reads the N documents back with find()
(as Python dicts): these are "the same documents". Then, each into a fresh collection of the
database D_pymongo, created (with its indexes) before the clock starts:
  insert_many, same indexes   insert_many(docs, ordered=False) with write concern majority
                              (Meteo's default) into a collection with the indexes of
                              D.observations, copied from its index_information(): the same
                              work as Meteo's observations writes, so the fair ceiling;
  insert_many, _id only       the same into a collection with only the _id index;
  insert_one loop             the original system's loop, `for doc in docs: coll.insert_one(doc)`,
                              with the driver's default write concern (the original set none)
                              into a collection with only _id (the original's meteo.posts).
                              It takes about a millisecond a document, so only the first
                              --loop-docs documents are timed and its rate is extrapolated to N.
Each is timed around the call(s) alone, the documents being in memory already, and its
collection is dropped once its count is checked (unless --keep), so that every phase runs on
a server that holds Meteo's collection and its own. Meteo's time
runs from the sink's start to its exit (--until-idle exits right after its last write, the
`latest` update included); the time to the moment observations held all N documents is shown
beside it. Two targets of the issue are checked, on the time to exit: Meteo >= 30x the
insert_one loop, and Meteo >= 0.8x insert_many with the same indexes. Every count is checked; a mismatch stops the run with a message and exit
status 1. D_pymongo is dropped at the end unless --keep (scripts/bench drops D).

`last-event` prints the place id and observed time of the last event of an embedded log (the
last document the sink will write); `wait-store` waits until D.observations holds N documents
and prints when (Unix seconds, as `date +%s.%N`): with --last-place/--last-time it polls,
every 50 ms, for that one document by the (place_id, observed_at) index, and once it is there
confirms the count with count_documents (a full count takes about half a second on 100k
documents on SecantusDB, too much to repeat every 50 ms while the sink runs); without them it
polls count_documents. `drop` drops databases; `quiesce` waits until a process (the server)
is nearly idle.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # Benchmarks/
from benchlib import (REPO, BenchError, add_quiesce_command, alive, command_parser,  # noqa: E402
                      fmt_rate, fmt_seconds, positive, quiesce, run_command, say)

URI_VARIABLE = "METEO_BENCH_MONGO_URI"
TARGET_LOOP = 30.0         # Meteo >= 30x the original insert_one loop
TARGET_INSERT_MANY = 0.8   # Meteo >= 0.8x pymongo insert_many with the same indexes
PEERS = ("insert_many_indexed", "insert_many_id", "insert_one_loop")


# ============================================================================ MongoDB helpers

def uri() -> str:
    value = os.environ.get(URI_VARIABLE, "")
    if not value:
        raise BenchError(f"set {URI_VARIABLE} to the MongoDB connection string")
    return value


def redacted(u: str) -> str:
    """The connection string with its password masked, as Meteo prints it."""
    return re.sub(r"^(mongodb(?:\+srv)?://[^:/@]*):[^@/]*@", r"\1:***@", u)


def client():
    import pymongo
    # Like Meteo (a URI without serverSelectionTimeoutMS gets 5 s there): a server that is
    # down is one clear error quickly.
    c = pymongo.MongoClient(uri(), serverSelectionTimeoutMS=5000)
    try:
        c.admin.command("ping")
    except Exception as e:
        raise BenchError(f"cannot reach MongoDB at {redacted(uri())}: {e}")
    return c


def server_version(c) -> str:
    try:
        return str(c.server_info().get("version", "?"))
    except Exception:
        return "?"


def drop_databases(c, names: list[str]) -> None:
    """Drops those of `names` that exist; a failure is a warning, not an error."""
    try:
        present = [n for n in names if n in set(c.list_database_names())]
        for n in present:
            c.drop_database(n)
        if present:
            say(f"== dropped databases {', '.join(present)}")
    except Exception as e:  # cleanup only: the measurements stand
        say(f"!! could not drop databases {', '.join(names)}: {e}")


def index_models(info: dict):
    """IndexModels that recreate the indexes of an index_information() (all but _id_)."""
    from pymongo import IndexModel
    models = []
    for name, spec in info.items():
        if name == "_id_":
            continue
        options = {k: v for k, v in spec.items() if k not in ("v", "key", "ns")}
        models.append(IndexModel(list(spec["key"]), name=name, **options))
    return models


def describe_indexes(info: dict) -> str:
    """'_id; place_id+observed_at unique; …', for the table's context."""
    parts = []
    for name, spec in info.items():
        key = "+".join(f"{f}" if d == 1 else f"{f} {d}" for f, d in spec["key"])
        extra = [k for k in ("unique", "collation", "sparse") if spec.get(k)]
        parts.append(key + (f" ({', '.join(extra)})" if extra else ""))
    return "; ".join(parts)


def fresh_collection(db, name: str, info: dict | None):
    """Drops and creates db[name], with the indexes of `info` (an index_information()) if given."""
    db.drop_collection(name)
    coll = db.create_collection(name)
    if info:
        models = index_models(info)
        if models:
            coll.create_indexes(models)
        got = set(coll.index_information())
        if got != set(info):
            raise BenchError(f"{db.name}.{name} has the indexes {sorted(got)} after copying {sorted(info)}")
    return coll


# ============================================================================ the peers

def time_insert_many(coll, docs: list[dict]) -> float:
    from pymongo.write_concern import WriteConcern
    c = coll.with_options(write_concern=WriteConcern("majority"))
    t0 = time.perf_counter()
    result = c.insert_many(docs, ordered=False)
    seconds = time.perf_counter() - t0
    if len(result.inserted_ids) != len(docs):
        raise BenchError(f"insert_many into {coll.full_name}: {len(result.inserted_ids):,} of {len(docs):,} inserted")
    return seconds


def time_insert_one_loop(coll, docs: list[dict]) -> tuple[float, float]:
    """The loop's seconds, and the median round trip of one insert_one (milliseconds)."""
    clock = time.perf_counter
    ends = [0.0] * len(docs)
    t0 = clock()
    for i, doc in enumerate(docs):
        coll.insert_one(doc)
        ends[i] = clock()
    seconds = clock() - t0
    trips = sorted(b - a for a, b in zip([t0, *ends[:-1]], ends))
    return seconds, trips[len(trips) // 2] * 1000


def expect_count(coll, n: int, what: str) -> None:
    got = coll.count_documents({})
    if got != n:
        raise BenchError(f"{what}: {coll.full_name} holds {got:,} documents, expected {n:,}")


# ============================================================================ the table

def build_rows(n: int, r: dict) -> list[tuple[str, int | None, float | None]]:
    """(name, documents timed, seconds)."""
    rows = []
    if r.get("meteo_sink_exit") is not None:
        rows.append(("meteo sink (embedded log → MongoDB), start → exit", n, r["meteo_sink_exit"]))
    if r.get("meteo_sink_stored") is not None:
        rows.append(("meteo sink, start → all N in observations", n, r["meteo_sink_stored"]))
    rows += [
        ("pymongo insert_many, same indexes as Meteo's (fair ceiling)", n, r["insert_many_indexed"]),
        ("pymongo insert_many, _id index only", n, r["insert_many_id"]),
        (f"insert_one loop (original), _id only, first {r['loop_docs']:,} docs" if r["loop_docs"] < n
         else "insert_one loop (original), _id only", r["loop_docs"], r["insert_one_loop"]),
    ]
    return rows


def ratios(n: int, r: dict) -> list[tuple[str, float | None, float | None, float, str]]:
    """(what, value by the sink's exit, value by all N in observations, target, verdict) for
    the two targets; the verdict is on the time to exit (all the sink's writes, `latest`
    included), the other value is shown beside it."""
    def rate(docs, seconds):
        return docs / seconds if docs and seconds else None
    meteo, meteo_stored = rate(n, r.get("meteo_sink_exit")), rate(n, r.get("meteo_sink_stored"))
    loop = rate(r["loop_docs"], r["insert_one_loop"])
    many = rate(n, r["insert_many_indexed"])
    many_id = rate(n, r["insert_many_id"])
    out = []
    for what, peer, target in [
        ("meteo sink / insert_one loop", loop, TARGET_LOOP),
        ("meteo sink / insert_many, same indexes", many, TARGET_INSERT_MANY),
        ("meteo sink / insert_many, _id only (no target)", many_id, None),
    ]:
        value = meteo / peer if meteo and peer else None
        value_stored = meteo_stored / peer if meteo_stored and peer else None
        if target is None:
            verdict = ""
        elif value is None:
            verdict = "no Meteo timing"
        else:
            verdict = "met" if value >= target else "NOT MET"
        out.append((what, value, value_stored, target, verdict))
    return out


def render(n: int, r: dict, context: list[str], notes: list[str], markdown: bool) -> str:
    rows = build_rows(n, r)
    rs = ratios(n, r)

    def x(v):
        return "n/a" if v is None else f"{v:.2f}x"
    lines = []
    if markdown:
        lines += ["# MongoDB sink benchmark", ""]
        lines += [f"{c}  " for c in context] + [""]
        lines += ["| | documents | seconds | observations/s |", "| --- | ---: | ---: | ---: |"]
        lines += [f"| {name} | {docs:,} | {fmt_seconds(s)} | {fmt_rate(docs, s)} |" for name, docs, s in rows]
        lines += ["", "| ratio (observations/s) | meteo to exit | meteo to all in observations | target | |",
                  "| --- | ---: | ---: | ---: | --- |"]
        lines += [f"| {what} | {x(v)} | {x(vs)} | {'' if t is None else f'>= {t:g}x'} | {verdict} |"
                  for what, v, vs, t, verdict in rs]
        lines += [""] + [f"- {note}" for note in notes]
    else:
        width = max(len(name) for name, _, _ in rows)
        lines += context + [""]
        lines.append(f"{'':<{width}}  {'documents':>10}  {'seconds':>9}  {'observations/s':>14}")
        lines += [f"{name:<{width}}  {docs:>10,}  {fmt_seconds(s):>9}  {fmt_rate(docs, s):>14}"
                  for name, docs, s in rows]
        lines.append("")
        for what, v, vs, t, verdict in rs:
            target = "" if t is None else f" (target >= {t:g}x): {verdict}"
            lines.append(f"{what}: {x(v)}{target}; {x(vs)} by all N in observations")
        lines.append("")
        lines += [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


# ============================================================================ commands

def cmd_run(args) -> int:
    import bson
    import pymongo
    n, name = args.events, args.db
    peers_db_name = f"{name}_pymongo"
    os.makedirs(args.out, exist_ok=True)
    c = client()
    db = c[name]
    observations = db["observations"]

    say(f"== checking {name} on {redacted(uri())}: {n:,} observations expected")
    expect_count(observations, n, "Meteo's sink")
    dead = db["dead_letters"].count_documents({}) if "dead_letters" in db.list_collection_names() else 0
    if dead:
        raise BenchError(f"{name}.dead_letters holds {dead:,} dead letters, expected none")
    info = observations.index_information()

    say(f"== reading the {n:,} documents back (find(), untimed)")
    t0 = time.perf_counter()
    docs = list(observations.find({}, batch_size=10_000))
    read_s = time.perf_counter() - t0
    if len(docs) != n or len({d["_id"] for d in docs}) != n:
        raise BenchError(f"find() on {observations.full_name} returned {len(docs):,} documents "
                         f"({len({d['_id'] for d in docs}):,} distinct _id), expected {n:,}")
    places = len({d["place_id"] for d in docs})
    latest = db["latest"].count_documents({})
    if latest != places:
        raise BenchError(f"{name}.latest holds {latest:,} documents, expected one per place ({places:,})")
    say(f"   {n:,} documents of {places:,} places in {read_s:.3f} s; {name}.latest holds {latest:,}")

    loop_docs = min(args.loop_docs, n)
    r = {"events": n, "loop_docs": loop_docs,
         "meteo_sink_exit": args.meteo_sink_exit_seconds, "meteo_sink_stored": args.meteo_sink_stored_seconds,
         "meteo_ingest": args.meteo_ingest_seconds}
    peers_db = c[peers_db_name]

    def done(coll, count: int, what: str) -> None:
        """Checks the count, then drops the collection (unless --keep): every phase runs on a
        server that holds Meteo's collection and its own, as Meteo's did."""
        expect_count(coll, count, what)
        if not args.keep:
            peers_db.drop_collection(coll.name)

    drop_databases(c, [peers_db_name])  # left over by an interrupted run of the same name
    try:
        coll = fresh_collection(peers_db, "insert_many_indexed", info)
        say(f"== pymongo insert_many(ordered=False, w=majority): {n:,} documents → {coll.full_name} "
            f"({len(info)} indexes, copied from {observations.full_name})")
        quiesce(args.server_pid, report="server")
        r["insert_many_indexed"] = time_insert_many(coll, docs)
        done(coll, n, "insert_many, same indexes")
        say(f"   {n:,} in {r['insert_many_indexed']:.3f} s ({fmt_rate(n, r['insert_many_indexed'])} observations/s)")

        coll = fresh_collection(peers_db, "insert_many_id", None)
        say(f"== pymongo insert_many(ordered=False, w=majority): {n:,} documents → {coll.full_name} (_id only)")
        quiesce(args.server_pid, report="server")
        r["insert_many_id"] = time_insert_many(coll, docs)
        done(coll, n, "insert_many, _id only")
        say(f"   {n:,} in {r['insert_many_id']:.3f} s ({fmt_rate(n, r['insert_many_id'])} observations/s)")

        coll = fresh_collection(peers_db, "insert_one_loop", None)
        say(f"== the original loop, insert_one per document: {loop_docs:,} of the {n:,} documents → "
            f"{coll.full_name} (_id only)")
        quiesce(args.server_pid, report="server")
        r["insert_one_loop"], loop_median_ms = time_insert_one_loop(coll, docs[:loop_docs])
        done(coll, loop_docs, "insert_one loop")
        say(f"   {loop_docs:,} in {r['insert_one_loop']:.3f} s ({fmt_rate(loop_docs, r['insert_one_loop'])} observations/s; "
            f"median {loop_median_ms:.2f} ms per insert_one)")
    finally:
        if not args.keep:
            drop_databases(c, [peers_db_name])
    del docs

    loop_rate = loop_docs / r["insert_one_loop"]
    context = [
        f"MongoDB {redacted(uri())} (server version {server_version(c)}); {n:,} observations written by "
        f"meteo sink into {name}.observations; {_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"pymongo {pymongo.version} (C extensions: {'yes' if bson.has_c() else 'no'}); Python {sys.version.split()[0]}; "
        f"{os.cpu_count()} cores",
        f"Meteo's indexes on observations, copied for insert_many (same indexes): {describe_indexes(info)}",
    ]
    notes = [
        "meteo sink is timed from its process start (connection, index creation, reading and decoding the "
        "embedded log included) to its exit, which --until-idle makes right after its last write (the "
        "targets are judged on this), and to the moment observations held all N documents (its last "
        "document polled every 50 ms, then counted): the gap is the end of the last write (its `latest` "
        "update) and the exit. "
        "The pymongo rows time the calls alone, on documents already in memory (read back with find() "
        "from Meteo's collection), into collections created with their indexes beforehand.",
        "Meteo's sink also maintains the `latest` collection, one conditional upsert per place per batch"
        + (f" ({args.meteo_batches} batches here)" if args.meteo_batches else "")
        + ", which pymongo's insert_many does not do; both write with write concern majority.",
        "insert_many (same indexes) is the fair ceiling for the same work; insert_many (_id only) is "
        "the client's raw ceiling on this server.",
    ]
    if loop_docs < n:
        notes.append(f"The insert_one loop (driver default write concern, as the original) was timed on the first "
                     f"{loop_docs:,} documents (median {loop_median_ms:.2f} ms per insert_one); its rate is "
                     f"extrapolated to N: about {n / loop_rate:,.0f} s for {n:,} (--loop-docs to change).")
    else:
        notes.append(f"The insert_one loop used the driver's default write concern, as the original did "
                     f"(median {loop_median_ms:.2f} ms per insert_one).")
    if args.meteo_ingest_seconds is not None:
        notes.append(f"Not compared: meteo ingest filled the embedded log (synthetic source) in "
                     f"{args.meteo_ingest_seconds:.3f} s ({fmt_rate(n, args.meteo_ingest_seconds)} events/s).")
    if args.server_pid is not None:
        notes.append("Each timed phase started once the server process was quiet (under 5% of a CPU over 0.5 s).")

    say()
    print(render(n, r, context, notes, markdown=False), end="")
    md = os.path.join(args.out, "table.md")
    with open(md, "w") as f:
        f.write(render(n, r, context, notes, markdown=True))
    results = os.path.join(args.out, "results.json")
    with open(results, "w") as f:
        json.dump({"database": name, "events": n, "seconds": r,
                   "observations_per_second": {k: (loop_docs if k == "insert_one_loop" else n) / v
                                               for k, v in r.items()
                                               if v and k not in ("events", "loop_docs")},
                   "read_back_seconds": read_s, "insert_one_median_ms": loop_median_ms, "indexes": {k: str(v) for k, v in info.items()},
                   "versions": {"server": server_version(c), "pymongo": pymongo.version,
                                "python": sys.version.split()[0]},
                   "ratios": [{"what": w, "to_all_stored": v, "to_exit": ve, "target": t, "verdict": vd}
                              for w, v, ve, t, vd in ratios(n, r)]}, f, indent=2)
        f.write("\n")
    say(f"== wrote {md} and {results}")
    return 0


def cmd_ping(args) -> int:
    c = client()
    say(f"   reached {redacted(uri())} (server version {server_version(c)})")
    return 0


def last_record(blob: bytes, count: int) -> bytes:
    """The value of the last record of an embedded-log batch: each record is key, headers and
    value, each a little-endian u32 length (0xFFFFFFFF: absent) and its bytes."""
    i, value = 0, b""
    for _ in range(count):
        for field in range(3):
            n = int.from_bytes(blob[i:i + 4], "little")
            i += 4
            if n == 0xFFFFFFFF:
                continue
            if field == 2:
                value = blob[i:i + n]
            i += n
    return value


def cmd_last_event(args) -> int:
    """Prints 'place_id<TAB>observed_at' of the last message of the topic in an embedded log."""
    if not os.path.exists(args.bus):
        raise BenchError(f"no embedded log at {args.bus}")
    con = sqlite3.connect(f"file:{args.bus}?mode=ro", uri=True, timeout=5)
    try:
        # Each append is one row of `batches` (Sources/MeteoEmbedded/Log/RecordBatch.swift);
        # logs written before batches hold one row a message in `messages`.
        has_batches = con.execute("SELECT 1 FROM sqlite_master WHERE name = 'batches'").fetchone() is not None
        batch = con.execute("SELECT records, count FROM batches WHERE topic = ? ORDER BY first_offset DESC LIMIT 1",
                            (args.topic,)).fetchone() if has_batches else None
        row = None if batch else con.execute(
            "SELECT value FROM messages WHERE topic = ? ORDER BY partition DESC, offset DESC LIMIT 1", (args.topic,)).fetchone()
        partitions = con.execute(
            "SELECT count(DISTINCT partition) FROM " + ("batches" if batch else "messages") + " WHERE topic = ?",
            (args.topic,)).fetchone()[0]
    finally:
        con.close()
    if batch:
        row = (last_record(batch[0], batch[1]),)
    if row is None:
        raise BenchError(f"{args.bus} holds no message of topic {args.topic}")
    if partitions != 1:
        raise BenchError(f"{args.bus}: topic {args.topic} has {partitions} partitions, expected 1 "
                         "(the last event would not be the last one written)")
    event = json.loads(row[0])
    print(f"{event['place_id']}\t{event['observed_at']}")
    return 0


def parse_time(text: str) -> _dt.datetime:
    """An ISO 8601 time as the naive UTC datetime pymongo uses for BSON dates."""
    t = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is not None:
        t = t.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    return t


def cmd_wait_store(args) -> int:
    """Waits until DB.observations holds --count documents and prints the time it saw it
    (Unix seconds); an error on time-out or, with --pid, as soon as the sink has exited short
    of the count."""
    c = client()
    coll = c[args.db]["observations"]
    deadline = time.monotonic() + args.timeout
    last = None
    if args.last_place is not None and args.last_time is not None:
        last = {"place_id": args.last_place, "observed_at": parse_time(args.last_time)}
    count = 0
    while True:
        seen = time.time()
        try:
            if last is not None:
                if coll.find_one(last, projection={"_id": 1}) is not None:
                    count = coll.count_documents({})
                    if count < args.count:
                        last = None  # the last one came early (not the order of the log?): count from now on
            else:
                count = coll.count_documents({})
        except Exception:
            pass  # not there yet, or a transient error: ask again
        if count >= args.count:
            if count > args.count:
                raise BenchError(f"{coll.full_name} holds {count:,} documents, more than the {args.count:,} expected")
            print(f"{seen:.6f}", flush=True)
            return 0
        if args.pid is not None and not alive(args.pid):
            count = coll.count_documents({})
            if count == args.count:  # the sink finished between two polls
                print(f"{time.time():.6f}", flush=True)
                return 0
            raise BenchError(f"process {args.pid} exited while {coll.full_name} held {count:,} of {args.count:,} documents")
        if time.monotonic() > deadline:
            raise BenchError(f"{coll.full_name} holds {count:,} documents after {args.timeout:g} s, expected {args.count:,}")
        time.sleep(0.05)


def cmd_drop(args) -> int:
    drop_databases(client(), args.databases)
    return 0


def main(argv=None) -> int:
    p, sub = command_parser(__doc__)

    r = sub.add_parser("run", help="measure insert_many and the insert_one loop on Meteo's documents")
    r.add_argument("--db", required=True, help="Meteo's database, whose observations hold exactly --events documents")
    r.add_argument("--events", type=positive, required=True, help="documents in DB.observations")
    r.add_argument("--loop-docs", type=positive, default=5000,
                   help="documents timed in the insert_one loop, the rate extrapolated to N (5000)")
    r.add_argument("--meteo-sink-exit-seconds", type=float,
                   help="time of meteo sink --until-idle from its start to its exit (the targets are judged on it)")
    r.add_argument("--meteo-sink-stored-seconds", type=float,
                   help="time of meteo sink from its start to all documents in observations")
    r.add_argument("--meteo-ingest-seconds", type=float, help="time of meteo ingest into the embedded log (a note)")
    r.add_argument("--meteo-batches", type=int, help="store writes (batches) of meteo sink (a note)")
    r.add_argument("--server-pid", type=int, help="the server's process id: each phase starts once it is quiet")
    r.add_argument("--out", default=os.path.join(REPO, ".build", "bench-mongo"), help="output directory (.build/bench-mongo)")
    r.add_argument("--keep", action="store_true", help="keep the database DB_pymongo")
    r.set_defaults(fn=cmd_run)

    sub.add_parser("ping", help="check the server answers").set_defaults(fn=cmd_ping)

    le = sub.add_parser("last-event", help="the place and time of the last event of an embedded log")
    le.add_argument("--bus", required=True, help="the embedded log, DIR/bus.sqlite")
    le.add_argument("--topic", default="weather.observations")
    le.set_defaults(fn=cmd_last_event)

    ws = sub.add_parser("wait-store", help="wait until DB.observations holds N documents")
    ws.add_argument("--db", required=True)
    ws.add_argument("--count", type=positive, required=True)
    ws.add_argument("--last-place", help="place_id of the last document the sink writes")
    ws.add_argument("--last-time", help="observed_at (ISO 8601) of the last document the sink writes")
    ws.add_argument("--timeout", type=float, default=600, help="seconds (600)")
    ws.add_argument("--pid", type=int, help="give up as soon as this process (the sink) has exited short of N")
    ws.set_defaults(fn=cmd_wait_store)

    d = sub.add_parser("drop", help="drop databases")
    d.add_argument("databases", nargs="+")
    d.set_defaults(fn=cmd_drop)

    add_quiesce_command(sub, "server")

    return run_command(p, argv)


if __name__ == "__main__":
    sys.exit(main())
