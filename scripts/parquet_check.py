#!/usr/bin/env python3
"""Independent readers of Meteo's Parquet files, for the tests (MeteoParquetTests).

    parquet_check.py FILE EXPECTED.json OUTDIR

Reads FILE with pyarrow, DuckDB and Polars, and compares every column with EXPECTED.json (the
values Meteo wrote): nulls, strings, timestamps in UTC microseconds, doubles bit for bit (as
16-hex-digit little-endian patterns), integers as decimal strings. Then writes the table back
with pyarrow, uncompressed, into OUTDIR as v1-dict, v1-plain, v2-dict and v2-plain .parquet
(data page versions 1.0 and 2.0, with and without dictionaries), for Meteo's reader to read.
Exits 1 with the first difference; prints one line per reader otherwise.
"""
import json
import sys

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def canonical(array, kind):
    """The values of a pyarrow array in EXPECTED.json's form."""
    array = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
    nulls = array.is_null().to_pylist()
    if kind == "double":
        bits = pc.fill_null(array.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False).astype("<f8").view("<u8")
        values = [format(int(b), "016x") for b in bits]
    elif kind in ("int64", "int32", "timestamp"):
        if kind == "timestamp":
            if not pa.types.is_timestamp(array.type) or array.type.unit != "us" or array.type.tz not in ("UTC", "Etc/UTC", "+00:00"):
                raise SystemExit(f"timestamp column read as {array.type}, expected timestamp[us, tz=UTC]")
        ints = pc.fill_null(array.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
        values = [str(int(v)) for v in ints]
    elif kind == "boolean":
        values = array.to_pylist()
    else:
        values = array.cast(pa.string()).to_pylist()
    return [None if n else v for v, n in zip(values, nulls)]


def compare(reader, table, expected):
    names = [c["name"] for c in expected["columns"]]
    if table.column_names != names:
        raise SystemExit(f"{reader}: columns {table.column_names}, expected {names}")
    for column in expected["columns"]:
        got = canonical(table.column(column["name"]), column["kind"])
        want = column["values"]
        if len(got) != len(want):
            raise SystemExit(f"{reader}: column {column['name']} has {len(got)} rows, expected {len(want)}")
        for i, (g, w) in enumerate(zip(got, want)):
            if g != w:
                raise SystemExit(f"{reader}: column {column['name']} row {i}: {g!r}, expected {w!r}")
    print(f"{reader}: {table.num_rows} rows × {table.num_columns} columns equal")


def main():
    path, expected_path, outdir = sys.argv[1:4]
    with open(expected_path, encoding="utf-8") as f:
        expected = json.load(f)
    table = pq.read_table(path)
    compare(f"pyarrow {pa.__version__}", table, expected)
    compare(f"duckdb {duckdb.__version__}", duckdb.sql(f"SELECT * FROM read_parquet('{path}')").to_arrow_table(), expected)
    compare(f"polars {pl.__version__}", pl.read_parquet(path).to_arrow(), expected)
    for version in ("1.0", "2.0"):
        for dictionary in (True, False):
            name = f"{outdir}/v{version[0]}-{'dict' if dictionary else 'plain'}.parquet"
            pq.write_table(table, name, compression="none", use_dictionary=dictionary, data_page_version=version, row_group_size=1000)
    print(f"pyarrow wrote 4 copies into {outdir}")


if __name__ == "__main__":
    main()
