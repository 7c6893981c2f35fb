#!/usr/bin/env python3
"""Independent numpy reference for Meteo's analytics.

Implements specs/analytics-spec.md (CSV in, JSON out) with numpy and the standard
library only, as the ground truth that Meteo's Swift engine is compared against.

    python3 scripts/analytics_reference.py INPUT.csv [--region R] [--since UNIX]
        [--until UNIX] [--window SECONDS] [--top N] [--output OUT.json]
    python3 scripts/analytics_reference.py --self-test

INPUT may also be a .parquet file (needs pyarrow or duckdb, imported only then).

As a module:
    columns = load_csv(path)          # dict: column name -> numpy array
    report = analyze(columns, region=None, since=None, until=None, window=3600, top=5)

Column representation (what `analyze` accepts): place_id, name, country, region are
sequences of str (region may hold None; None in place_id/name/country is read as "");
observed_at is integer Unix seconds; the other columns are floats with NaN for null.

How it computes, so that it can serve as ground truth:
- group means are math.fsum of the non-null values (correctly rounded sum) / n;
- Pearson r uses the pairwise-complete rows of each pair, a two-pass algorithm (mean,
  refined by a second pass, then pairwise-summed products of deviations), and the null
  rules of the spec (n < 2, or min == max of x or y on those rows);
- min, max, counts and orderings are exact.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import gc
import itertools
import json
import math
import os
import sys
import tempfile

import numpy as np

HEADER = [
    "place_id", "name", "country", "region", "latitude", "longitude", "observed_at",
    "temperature_c", "feels_like_c", "humidity_pct", "pressure_hpa", "wind_speed_ms",
    "wind_gust_ms", "cloud_cover_pct", "visibility_m", "rain_mm", "snow_mm",
]
STRING_COLUMNS = ("place_id", "name", "country", "region")
NULLABLE_STRING_COLUMNS = ("region",)  # the others read null as ""
INT_COLUMNS = ("observed_at",)
FLOAT_COLUMNS = tuple(c for c in HEADER if c not in STRING_COLUMNS and c not in INT_COLUMNS)
CORRELATION_VARIABLES = [
    "temperature_c", "feels_like_c", "humidity_pct", "pressure_hpa",
    "wind_speed_ms", "wind_gust_ms", "cloud_cover_pct", "visibility_m",
]
WINDOW_VARIABLES = ["temperature_c", "humidity_pct", "pressure_hpa", "wind_speed_ms"]
_EPOCH = _dt.datetime(1970, 1, 1)


# ----------------------------------------------------------------------------- loading

def load_csv(path, chunk_rows=200_000):
    """Read the spec's CSV (RFC 4180, UTF-8) into columns; a .parquet path is read too.

    Strings are interned per column (repeated names share one object). An empty field
    is null: None for region, "" for place_id/name/country, NaN for floats.
    """
    if str(path).lower().endswith(".parquet"):
        return load_parquet(path)
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of short-lived row lists: the cyclic GC would triple the time
    try:
        return _load_csv(path, chunk_rows)
    finally:
        if gc_was_enabled:
            gc.enable()


def _load_csv(path, chunk_rows):
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f, strict=True)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path}: empty file, expected the header line")
        if header and header[0].startswith("\ufeff"):
            header[0] = header[0][1:]
        if header != HEADER:
            raise ValueError(f"{path}: header is {header!r}, expected {HEADER!r}")
        parts = {c: [] for c in HEADER}
        interned = {c: {} for c in STRING_COLUMNS}
        while True:
            start_line = reader.line_num
            chunk = [row for row in itertools.islice(reader, chunk_rows) if row]
            if not chunk:
                break
            if set(map(len, chunk)) != {len(HEADER)}:
                bad = next(i for i, r in enumerate(chunk) if len(r) != len(HEADER))
                raise ValueError(
                    f"{path}: a row after line {start_line} (row {bad + 1} of that block) has "
                    f"{len(chunk[bad])} fields, expected {len(HEADER)}: {chunk[bad]!r}")
            fields = dict(zip(HEADER, zip(*chunk)))
            del chunk
            for c in STRING_COLUMNS:
                d = interned[c]
                if c in NULLABLE_STRING_COLUMNS:
                    parts[c].extend([None if s == "" else d.setdefault(s, s) for s in fields[c]])
                else:
                    parts[c].extend([d.setdefault(s, s) for s in fields[c]])
            for c in FLOAT_COLUMNS:
                col = fields[c]
                if "" in col:  # empty = null
                    col = [s or "nan" for s in col]
                # numpy parses each str with Python's float(): exact for shortest round-trip text
                parts[c].append(np.array(col, dtype=np.float64))
            try:
                parts["observed_at"].append(
                    np.fromiter(map(int, fields["observed_at"]), dtype=np.int64,
                                count=len(fields["observed_at"])))
            except ValueError as e:
                raise ValueError(f"{path}: observed_at must be integer Unix seconds "
                                 f"(rows after line {start_line}): {e}") from None
    cols = {}
    for c in STRING_COLUMNS:
        cols[c] = _object_array(parts[c])
    for c in FLOAT_COLUMNS:
        cols[c] = np.concatenate(parts[c]) if parts[c] else np.empty(0, np.float64)
    cols["observed_at"] = (np.concatenate(parts["observed_at"]) if parts["observed_at"]
                           else np.empty(0, np.int64))
    return cols


def load_parquet(path):
    """Read a Parquet file with the spec's columns (nulls as in the CSV); needs pyarrow."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ValueError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from None
    return columns_from_arrow(pq.read_table(str(path), columns=HEADER))


def columns_from_arrow(table, pc=None):
    """Columns from a pyarrow Table holding the spec's columns (any string/number types)."""
    import pyarrow as pa
    if pc is None:
        import pyarrow.compute as pc
    cols = {}
    for c in HEADER:
        col = table.column(c)
        if c in STRING_COLUMNS:
            col = col.cast(pa.string()).combine_chunks()
            enc = pc.dictionary_encode(col)
            values = enc.dictionary.to_pylist()
            idx = pc.fill_null(enc.indices, len(values)).to_numpy(zero_copy_only=False)
            fill = None if c in NULLABLE_STRING_COLUMNS else ""
            lookup = _object_array(values + [fill])
            cols[c] = lookup[idx.astype(np.int64)]
        elif c in INT_COLUMNS:
            if col.null_count:
                raise ValueError(f"{c} has {col.null_count} null values")
            cols[c] = col.cast(pa.int64()).to_numpy().astype(np.int64, copy=False)
        else:
            col = pc.fill_null(col.cast(pa.float64()), math.nan)
            cols[c] = np.ascontiguousarray(col.to_numpy(), dtype=np.float64)
    return cols


def _object_array(values):
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def _as_object(values):
    if isinstance(values, np.ndarray) and values.dtype == object:
        return values
    return _object_array(list(values))


# ----------------------------------------------------------------------------- helpers

def iso(t):
    """Unix seconds -> YYYY-MM-DDTHH:MM:SSZ (UTC)."""
    d = _EPOCH + _dt.timedelta(seconds=int(t))
    return (f"{d.year:04d}-{d.month:02d}-{d.day:02d}T"
            f"{d.hour:02d}:{d.minute:02d}:{d.second:02d}Z")


def _num(x):
    """A float for JSON; null for NaN/inf (strict JSON)."""
    x = float(x)
    return x if math.isfinite(x) else None


def _sort_key(name):
    """Python str order, None last."""
    return (name is None, "" if name is None else name)


def _factorize_sorted(values):
    """codes (int64) and categories, with code order = sorted category order (None last)."""
    table = {}
    codes = np.fromiter((table.setdefault(v, len(table)) for v in values),
                        dtype=np.int64, count=len(values))
    cats = list(table)
    perm = sorted(range(len(cats)), key=lambda i: _sort_key(cats[i]))
    rank = np.empty(len(cats), dtype=np.int64)
    rank[perm] = np.arange(len(cats), dtype=np.int64)
    return rank[codes] if len(cats) else codes, [cats[i] for i in perm]


def _groups(*keys):
    """Sort rows by keys (first key primary); return (order, starts, ends) of equal-key runs."""
    n = len(keys[0])
    if n == 0:
        e = np.empty(0, dtype=np.int64)
        return e, e, e
    order = np.lexsort(tuple(reversed(keys)))
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for k in keys:
        ks = k[order]
        change[1:] |= ks[1:] != ks[:-1]
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], n)
    return order, starts, ends


def _mean_exact(v):
    """fsum-based mean of a float array without NaN (None when empty)."""
    if v.size == 0:
        return None
    return _num(math.fsum(v.tolist()) / v.size)


def _stats(v, minmax):
    v = v[~np.isnan(v)]
    out = {"n": int(v.size), "mean": _mean_exact(v)}
    if minmax:
        out["min"] = _num(v.min()) if v.size else None
        out["max"] = _num(v.max()) if v.size else None
    return out


def _group_entry(key_name, key, rows_idx, place_codes, cols):
    """One regions/countries entry over the rows rows_idx (indices into the filtered data)."""
    return {
        key_name: key,
        "observations": int(rows_idx.size),
        "places": int(np.unique(place_codes[rows_idx]).size),
        "temperature_c": _stats(cols["temperature_c"][rows_idx], True),
        "humidity_pct": _stats(cols["humidity_pct"][rows_idx], True),
        "pressure_hpa": _stats(cols["pressure_hpa"][rows_idx], False),
        "wind_speed_ms": _stats(cols["wind_speed_ms"][rows_idx], False),
    }


def _mean_refined(v):
    m = np.mean(v)
    return m + np.mean(v - m)


def pearson(x, y):
    """(r or None, n) over the rows where both x and y are non-NaN, per the spec's rules."""
    mask = ~(np.isnan(x) | np.isnan(y))
    n = int(np.count_nonzero(mask))
    if n < 2:
        return None, n
    xs, ys = x[mask], y[mask]
    if xs.min() == xs.max() or ys.min() == ys.max():
        return None, n
    dx = xs - _mean_refined(xs)
    dy = ys - _mean_refined(ys)
    sxy = np.sum(dx * dy)
    sxx = np.sum(dx * dx)
    syy = np.sum(dy * dy)
    r = float(sxy / (math.sqrt(sxx) * math.sqrt(syy)))
    if not math.isfinite(r):
        return None, n
    return max(-1.0, min(1.0, r)), n


def correlation(cols, variables=CORRELATION_VARIABLES):
    k = len(variables)
    matrix = [[None] * k for _ in range(k)]
    counts = [[0] * k for _ in range(k)]
    for i in range(k):
        x = cols[variables[i]]
        for j in range(i, k):
            if i == j:
                r, n = pearson(x, x)
                r = None if r is None else 1.0
            else:
                r, n = pearson(x, cols[variables[j]])
            matrix[i][j] = matrix[j][i] = r
            counts[i][j] = counts[j][i] = n
    return {"variables": list(variables), "matrix": matrix, "n": counts}


# ----------------------------------------------------------------------------- analysis

def analyze(columns, region=None, since=None, until=None, window=3600, top=5):
    """The spec's report (a dict, JSON-ready) for the given columns and filters."""
    window = int(window)
    top = int(top)
    if window <= 0:
        raise ValueError("window must be a positive number of seconds")
    if top < 0:
        raise ValueError("top must be >= 0")

    ts_all = np.asarray(columns["observed_at"], dtype=np.int64)
    total = ts_all.size
    for c in HEADER:
        if c in columns and len(columns[c]) != total:
            raise ValueError(f"column {c} has {len(columns[c])} values, observed_at has {total}")
    missing = [c for c in HEADER if c not in columns and c not in ("latitude", "longitude")]
    if missing:
        raise ValueError(f"missing columns: {missing}")
    region_all = _as_object(columns["region"])

    mask = np.ones(total, dtype=bool)
    if since is not None:
        mask &= ts_all >= int(since)
    if until is not None:
        mask &= ts_all < int(until)
    if region is not None:
        mask &= np.fromiter((r == region for r in region_all), dtype=bool, count=total)
    # no filter: use the arrays as they are (no copies of 10M-row columns)
    idx = slice(None) if mask.all() else np.flatnonzero(mask)

    cols = {"observed_at": ts_all[idx], "region": region_all[idx]}
    for c in ("place_id", "name", "country"):
        v = _as_object(columns[c])[idx]
        if np.equal(v, None).any():  # null read as ""
            v = _object_array(["" if s is None else s for s in v])
        cols[c] = v
    for c in FLOAT_COLUMNS:
        if c in columns:
            cols[c] = np.asarray(columns[c], dtype=np.float64)[idx]
    n = cols["observed_at"].size
    ts = cols["observed_at"]

    place_codes, place_cats = _factorize_sorted(cols["place_id"])
    region_codes, region_cats = _factorize_sorted(cols["region"])
    country_codes, country_cats = _factorize_sorted(cols["country"])

    report = {}
    report["observations"] = {
        "count": int(n),
        "places": len(place_cats),
        "first": iso(ts.min()) if n else None,
        "last": iso(ts.max()) if n else None,
    }
    report["correlation"] = correlation(cols)

    # regions (rows with a null region are not listed)
    if region is not None:
        report["regions"] = [_group_entry("region", region, np.arange(n), place_codes, cols)]
    else:
        order, starts, ends = _groups(region_codes)
        report["regions"] = [
            _group_entry("region", region_cats[region_codes[order[s]]], order[s:e],
                         place_codes, cols)
            for s, e in zip(starts, ends) if region_cats[region_codes[order[s]]] is not None
        ]

    order, starts, ends = _groups(country_codes)
    report["countries"] = [
        _group_entry("country", country_cats[country_codes[order[s]]], order[s:e],
                     place_codes, cols)
        for s, e in zip(starts, ends)
    ]

    # latest row of each place (observed_at is unique per place)
    if n:
        order = np.lexsort((ts, place_codes))  # by place, then time
        sorted_places = place_codes[order]
        last_of_place = np.flatnonzero(np.append(sorted_places[1:] != sorted_places[:-1], True))
        latest_idx = order[last_of_place]
    else:
        latest_idx = np.empty(0, dtype=np.int64)
    latest = [{
        "place_id": cols["place_id"][i],
        "name": cols["name"][i],
        "country": cols["country"][i],
        "region": cols["region"][i],
        "observed_at": int(ts[i]),
        "rain_mm": float(cols["rain_mm"][i]),
        "snow_mm": float(cols["snow_mm"][i]),
        "temperature_c": float(cols["temperature_c"][i]),
        "wind_speed_ms": float(cols["wind_speed_ms"][i]),
    } for i in latest_idx.tolist()]
    latest_regions = sorted({row["region"] for row in latest}, key=_sort_key)

    def place_list(pred, value):
        chosen = [row for row in latest if pred(row)]
        chosen.sort(key=lambda row: (-value(row), row["place_id"]))
        per_region = {r: 0 for r in latest_regions}
        for row in chosen:
            per_region[row["region"]] += 1
        return {
            "count": len(chosen),
            "by_region": [{"region": r, "count": per_region[r]} for r in latest_regions],
            "places": [{
                "place_id": row["place_id"], "name": row["name"], "country": row["country"],
                "region": row["region"], "observed_at": iso(row["observed_at"]),
                "rain_mm": _num(row["rain_mm"]), "snow_mm": _num(row["snow_mm"]),
            } for row in chosen],
        }

    rain = lambda row: row["rain_mm"] > 0  # NaN > 0 is False  # noqa: E731
    snow = lambda row: row["snow_mm"] > 0  # noqa: E731
    report["rain_places"] = place_list(rain, lambda row: row["rain_mm"])
    report["snow_places"] = place_list(snow, lambda row: row["snow_mm"])
    report["rain_and_snow_places"] = place_list(
        lambda row: rain(row) and snow(row), lambda row: row["rain_mm"] + row["snow_mm"])

    # windows: (region, floor(observed_at / W) * W), null region last
    starts_s = (ts // window) * window
    order, starts, ends = _groups(region_codes, starts_s)
    series = []
    for s, e in zip(starts, ends):
        rows_idx = order[s:e]
        first = rows_idx[0]
        entry = {"region": region_cats[region_codes[first]], "start": iso(starts_s[first]),
                 "observations": int(rows_idx.size)}
        for c in WINDOW_VARIABLES:
            v = cols[c][rows_idx]
            entry[c] = _mean_exact(v[~np.isnan(v)])
        series.append(entry)
    report["windows"] = {"width_s": window, "series": series}

    # extremes over the latest rows
    def extreme(value, descending, keep=lambda v: True):
        chosen = [(value(row), row) for row in latest]
        chosen = [(v, row) for v, row in chosen if not math.isnan(v) and keep(v)]
        chosen.sort(key=lambda p: ((-p[0] if descending else p[0]), p[1]["place_id"]))
        return [{
            "place_id": row["place_id"], "name": row["name"], "country": row["country"],
            "region": row["region"], "observed_at": iso(row["observed_at"]), "value": _num(v),
        } for v, row in chosen[:top]]

    def wet(row):
        r, s = row["rain_mm"], row["snow_mm"]
        return (0.0 if math.isnan(r) else r) + (0.0 if math.isnan(s) else s)

    report["extremes"] = {
        "n": top,
        "hottest": extreme(lambda row: row["temperature_c"], True),
        "coldest": extreme(lambda row: row["temperature_c"], False),
        "windiest": extreme(lambda row: row["wind_speed_ms"], True),
        "wettest": extreme(wet, True, keep=lambda v: v > 0),
    }
    return report


def to_json(report, indent=2):
    """Strict JSON text (no NaN/Infinity), UTF-8 characters kept as they are."""
    return json.dumps(report, indent=indent, ensure_ascii=False, allow_nan=False)


# ----------------------------------------------------------------------------- self-test

def _columns_from_rows(rows):
    """Columns from a list of dicts (missing or None numeric -> NaN)."""
    cols = {c: _object_array([r.get(c, "" if c != "region" else None) for r in rows])
            for c in STRING_COLUMNS}
    cols["observed_at"] = np.array([r["observed_at"] for r in rows], dtype=np.int64)
    for c in FLOAT_COLUMNS:
        cols[c] = np.array([math.nan if r.get(c) is None else r[c] for r in rows],
                           dtype=np.float64)
    return cols


def _write_csv(path, rows):
    def fmt(v):
        if v is None:
            return ""
        if isinstance(v, float):
            return repr(v)
        return str(v)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(HEADER)
        for r in rows:
            w.writerow([fmt(r.get(c)) for c in HEADER])


def self_test():
    checks = 0

    def check(cond, what):
        nonlocal checks
        checks += 1
        if not cond:
            raise AssertionError(what)

    def strict(report):
        text = to_json(report)
        json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
        return text

    var = CORRELATION_VARIABLES
    T0 = 1_700_000_000  # 2023-11-14T22:13:20Z

    # 1. linear pairs, constant and all-null columns
    rows = []
    for k in range(50):
        x = k * 0.37 - 4.0
        rows.append({"place_id": f"p{k % 5}", "name": "n", "country": "FR", "region": "R",
                     "observed_at": T0 + 600 * k, "temperature_c": x,
                     "feels_like_c": 2.5 * x + 1.0, "humidity_pct": -3.0 * x + 7.0,
                     "pressure_hpa": 1013.25, "wind_speed_ms": None,
                     "wind_gust_ms": (x * x if k % 3 else None),
                     "cloud_cover_pct": float(k % 7), "visibility_m": 10000.0 - k})
    rep = analyze(_columns_from_rows(rows))
    strict(rep)
    m, cn = rep["correlation"]["matrix"], rep["correlation"]["n"]
    check(rep["correlation"]["variables"] == var, "variables order")
    check(abs(m[0][1] - 1.0) < 1e-12, f"linear r=1, got {m[0][1]!r}")
    check(abs(m[0][2] + 1.0) < 1e-12, f"linear r=-1, got {m[0][2]!r}")
    check(abs(m[0][7] + 1.0) < 1e-12, "temperature vs visibility r=-1")
    check(m[0][0] == 1.0 and m[1][1] == 1.0, "diagonal 1.0")
    check(all(m[3][j] is None and m[j][3] is None for j in range(8)), "constant column null")
    check(all(m[4][j] is None for j in range(8)) and cn[4][4] == 0, "all-null column")
    check(cn[0][0] == 50 and cn[0][5] == cn[5][5] == 50 - 17, f"pairwise n {cn[0][5]}")
    check(all(m[i][j] == m[j][i] and cn[i][j] == cn[j][i] for i in range(8) for j in range(8)),
          "symmetric")
    # cross-check one pair with nulls against np.corrcoef on the masked rows
    tc = np.array([r["temperature_c"] for r in rows])
    gu = np.array([np.nan if r["wind_gust_ms"] is None else r["wind_gust_ms"] for r in rows])
    ok = ~np.isnan(gu)
    check(abs(m[0][5] - np.corrcoef(tc[ok], gu[ok])[0, 1]) < 1e-12, "r vs np.corrcoef")
    reg = rep["regions"][0]
    check(reg["temperature_c"]["n"] == 50 and reg["wind_speed_ms"] == {"n": 0, "mean": None},
          "null stats")
    check(reg["temperature_c"]["min"] == -4.0 and reg["places"] == 5, "min / places")
    check(abs(reg["temperature_c"]["mean"] - math.fsum(tc) / 50) == 0, "fsum mean")

    # random data with nulls: r agrees with corrcoef on the pairwise-complete rows
    rng = np.random.default_rng(7)
    a = rng.normal(10, 5, 2000)
    b = 0.3 * a + rng.normal(0, 2, 2000)
    a[rng.random(2000) < 0.1] = np.nan
    b[rng.random(2000) < 0.1] = np.nan
    r, nn = pearson(a, b)
    ok = ~(np.isnan(a) | np.isnan(b))
    check(nn == int(ok.sum()) and abs(r - np.corrcoef(a[ok], b[ok])[0, 1]) < 1e-12,
          "random r vs corrcoef")
    # against exact rational arithmetic on a small sample with a weak correlation
    from fractions import Fraction
    xs, ys = a[ok][:300], (rng.normal(0, 1, 2000)[ok][:300] + 1e-3 * a[ok][:300])
    X, Y = [Fraction(v) for v in xs.tolist()], [Fraction(v) for v in ys.tolist()]
    k = len(X)
    cxy = k * sum(p * q for p, q in zip(X, Y)) - sum(X) * sum(Y)
    cxx = k * sum(p * p for p in X) - sum(X) ** 2
    cyy = k * sum(q * q for q in Y) - sum(Y) ** 2
    exact = float(cxy) / math.sqrt(float(cxx) * float(cyy))  # rounding here ~1e-16
    got = pearson(xs, ys)[0]
    check(abs(got - exact) <= 1e-13 * abs(exact), f"r vs exact rational {got!r} {exact!r}")
    check(pearson(np.array([1.0, np.nan, 3.0]), np.array([np.nan, 2.0, 5.0])) == (None, 1),
          "n < 2 null")

    # 2. latest rows, rain/snow lists, by_region, windows, extremes, ties
    P = [  # place, region, country
        ("b", "North", "FR"), ("a", "North", "DE"), ("c", None, ""), ("d", "South", "FR"),
        ("e", "Ouest", "FR"),
    ]
    rows = []
    latest_vals = {"a": (2.0, 1.0, 20.0, 5.0), "b": (2.0, None, 25.0, 5.0),
                   "c": (0.0, 3.0, 25.0, None), "d": (None, None, None, 9.0),
                   "e": (0.0, 0.0, -3.0, 1.0)}
    for pid, reg_, ctry in P:
        for k in range(3):
            rain_, snow_, temp, wind = latest_vals[pid] if k == 2 else (9.0, 9.0, 99.0, 99.0)
            rows.append({"place_id": pid, "name": f"name {pid}", "country": ctry,
                         "region": reg_ if k == 2 or pid != "e" else "Old",
                         "observed_at": T0 + 1800 * k,
                         "temperature_c": temp, "rain_mm": rain_, "snow_mm": snow_,
                         "wind_speed_ms": wind, "humidity_pct": 50.0 + k})
    rows.reverse()  # order of rows must not matter
    rep = analyze(_columns_from_rows(rows), top=2)
    strict(rep)
    check(rep["observations"] == {"count": 15, "places": 5, "first": "2023-11-14T22:13:20Z",
                                  "last": "2023-11-14T23:13:20Z"}, f"observations {rep['observations']}")
    rp = rep["rain_places"]
    check(rp["count"] == 2 and [p["place_id"] for p in rp["places"]] == ["a", "b"],
          "rain ties by place_id")
    check([e["region"] for e in rp["by_region"]] == ["North", "Ouest", "South", None],
          "by_region names sorted, null last")
    check([e["count"] for e in rp["by_region"]] == [2, 0, 0, 0], "by_region counts")
    check(rp["places"][1]["snow_mm"] is None and rp["places"][0]["observed_at"]
          == "2023-11-14T23:13:20Z", "place entry")
    check([p["place_id"] for p in rep["snow_places"]["places"]] == ["c", "a"], "snow order")
    check([p["place_id"] for p in rep["rain_and_snow_places"]["places"]] == ["a"], "both")
    check([e["region"] for e in rep["regions"]] == ["North", "Old", "Ouest", "South"],
          "regions sorted, null excluded")
    check(rep["regions"][1]["observations"] == 2, "old region rows")
    check([c["country"] for c in rep["countries"]] == ["", "DE", "FR"], "countries with ''")
    ex = rep["extremes"]
    check([e["place_id"] for e in ex["hottest"]] == ["b", "c"], "hottest ties")
    check([e["place_id"] for e in ex["coldest"]] == ["e", "a"], "coldest")
    check([e["place_id"] for e in ex["windiest"]] == ["d", "a"], "windiest skips null")
    check([(e["place_id"], e["value"]) for e in ex["wettest"]] == [("a", 3.0), ("c", 3.0)],
          "wettest (rain or 0) + (snow or 0)")
    ser = rep["windows"]["series"]
    check(rep["windows"]["width_s"] == 3600, "width")
    # T0 = 22:13:20 -> windows 22:00 (k=0,1) and 23:00 (k=2)
    check([(s["region"], s["start"][11:16], s["observations"]) for s in ser] == [
        ("North", "22:00", 4), ("North", "23:00", 2), ("Old", "22:00", 2),
        ("Ouest", "23:00", 1), ("South", "22:00", 2), ("South", "23:00", 1),
        (None, "22:00", 2), (None, "23:00", 1)], f"windows {ser}")
    check(ser[0]["humidity_pct"] == 50.5 and ser[1]["temperature_c"] == 22.5, "window means")
    check(next(s for s in ser if s["region"] == "South" and s["start"][11:13] == "23")
          ["temperature_c"] is None, "window mean null")

    # filters: since/until half-open, region with no rows, region filter
    f = analyze(_columns_from_rows(rows), since=T0 + 1800, until=T0 + 3600)
    check(f["observations"]["count"] == 5, "since/until half-open")
    f = analyze(_columns_from_rows(rows), region="Nowhere")
    strict(f)
    check(f["regions"] == [{"region": "Nowhere", "observations": 0, "places": 0,
                            "temperature_c": {"n": 0, "mean": None, "min": None, "max": None},
                            "humidity_pct": {"n": 0, "mean": None, "min": None, "max": None},
                            "pressure_hpa": {"n": 0, "mean": None},
                            "wind_speed_ms": {"n": 0, "mean": None}}], "empty region entry")
    check(f["observations"] == {"count": 0, "places": 0, "first": None, "last": None}, "empty obs")
    check(f["rain_places"] == {"count": 0, "by_region": [], "places": []}, "empty rain")
    f = analyze(_columns_from_rows(rows), region="North")
    check(len(f["regions"]) == 1 and f["regions"][0]["observations"] == 6
          and f["rain_places"]["by_region"] == [{"region": "North", "count": 2}], "region filter")
    f = analyze(_columns_from_rows(rows), window=7200)
    check(f["windows"]["series"][0]["start"] == "2023-11-14T22:00:00Z", "window 7200")
    check(iso(-1) == "1969-12-31T23:59:59Z" and
          analyze(_columns_from_rows([dict(rows[0], observed_at=-1)]), window=3600)
          ["windows"]["series"][0]["start"] == "1969-12-31T23:00:00Z", "floor for negatives")

    # None in place_id/name/country is read as "" (as an empty CSV field is)
    cols = _columns_from_rows(rows)
    cols["country"] = _object_array([None if c == "FR" else c for c in cols["country"]])
    f = analyze(cols)
    check([c["country"] for c in f["countries"]] == ["", "DE"] and
          f["countries"][0]["observations"] == 12, "None country is ''")

    # 3. one row, empty data
    one = analyze(_columns_from_rows(rows[:1]))
    strict(one)
    check(one["correlation"]["matrix"][0][0] is None and one["correlation"]["n"][0][0] == 1,
          "one row: n < 2 gives null")
    empty = analyze(_columns_from_rows([]))
    strict(empty)
    check(empty["regions"] == [] and empty["windows"]["series"] == [] and
          empty["extremes"]["hottest"] == [] and empty["correlation"]["n"][0][0] == 0, "empty")

    # 4. CSV round trip with hostile names, header-only CSV, CLI output
    hostile = ['Saint-Étienne, "La Ville"', "<script>alert('x')</script>", "Zürich\nline 2",
               "東京", "emoji 🌧️", "semi;colon", "  spaces  "]
    rows = []
    for k, nm in enumerate(hostile):
        rows.append({"place_id": f"id,{k}\"", "name": nm, "country": "" if k % 2 else "JP",
                     "region": None if k == 2 else nm, "latitude": 1.5, "longitude": -2.25,
                     "observed_at": T0 + k, "temperature_c": 0.1 * k + 1e-17 * k,
                     "rain_mm": 0.1 + k, "snow_mm": None if k % 2 else 5e-324})
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "obs.csv")
        _write_csv(path, rows)
        cols = load_csv(path, chunk_rows=3)
        check(list(cols["name"]) == hostile, "names round trip")
        check(cols["region"][2] is None and cols["country"][1] == "", "null region, '' country")
        check(cols["snow_mm"][0] == 5e-324 and math.isnan(cols["snow_mm"][1]), "floats exact")
        rep = analyze(cols)
        text = strict(rep)
        check("<script>" in text and "東京" in text, "names kept in JSON")
        check(rep["countries"][0]["country"] == "" and rep["countries"][0]["observations"] == 3,
              "'' country group")
        check(rep["regions"][-1]["region"] == "東京" and
              rep["rain_places"]["by_region"][-1] == {"region": None, "count": 1}, "non-ASCII")
        out = os.path.join(tmp, "out.json")
        check(main([path, "--output", out, "--top", "3"]) == 0, "CLI exit 0")
        with open(out, encoding="utf-8") as f:
            check(json.load(f) == json.loads(to_json(analyze(cols, top=3))), "CLI output")
        with open(path, "w", encoding="utf-8") as f:
            f.write(",".join(HEADER) + "\n")
        rep = analyze(load_csv(path))
        strict(rep)
        check(rep["observations"]["count"] == 0 and rep["countries"] == [], "header-only CSV")
    print(f"self-test: {checks} checks passed")
    return 0


# ----------------------------------------------------------------------------- CLI

def main(argv=None):
    p = argparse.ArgumentParser(
        description="Independent numpy reference for Meteo's analytics "
                    "(specs/analytics-spec.md): reads the observations CSV, writes the JSON.")
    p.add_argument("input", nargs="?", help="observations CSV (or .parquet)")
    p.add_argument("--region", help="only rows of this region (exact match)")
    p.add_argument("--since", type=int, help="only rows with observed_at >= SINCE (Unix s)")
    p.add_argument("--until", type=int, help="only rows with observed_at < UNTIL (Unix s)")
    p.add_argument("--window", type=int, default=3600, help="window width in seconds (3600)")
    p.add_argument("--top", type=int, default=5, help="entries per extremes list (5)")
    p.add_argument("--output", help="write the JSON here instead of stdout")
    p.add_argument("--self-test", action="store_true", help="run the built-in checks and exit")
    args = p.parse_args(argv)
    if args.self_test:
        return self_test()
    if args.input is None:
        p.error("INPUT is required (or --self-test)")
    if args.window <= 0:
        p.error("--window must be > 0")
    if args.top < 0:
        p.error("--top must be >= 0")
    try:
        cols = load_csv(args.input)
    except (OSError, ValueError, UnicodeDecodeError, csv.Error) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    report = analyze(cols, region=args.region, since=args.since, until=args.until,
                     window=args.window, top=args.top)
    data = (to_json(report) + "\n").encode("utf-8")
    if args.output:
        with open(args.output, "wb") as f:
            f.write(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
