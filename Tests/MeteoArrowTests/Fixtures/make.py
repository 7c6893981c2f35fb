"""Writes the Arrow IPC streams that Tests/MeteoArrowTests reads, with pyarrow (an independent
implementation of the format). Usage: python make.py [DIR] (default: this file's folder).
ArrowStreamReaderTests.fixturesAreWhatPyarrowWrites runs it again and compares the bytes."""
import datetime
import decimal
import os
import sys

import pyarrow as pa


def write(path, schema, batches):
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as w:
        for b in batches:
            w.write_batch(b)
    with open(path, "wb") as f:
        f.write(sink.getvalue().to_pybytes())


def table_stream(path, table):
    write(path, table.schema, table.to_batches())


def main(out):
    utc = datetime.timezone.utc
    # Every type the reader supports, with nulls.
    table_stream(os.path.join(out, "every-type.arrows"), pa.table({
        "i32": pa.array([1, None, -3], pa.int32()),
        "i64": pa.array([2**40, None, -1], pa.int64()),
        "i8": pa.array([-128, 127, None], pa.int8()),
        "f64": pa.array([1.5, None, -2.25e-300], pa.float64()),
        "f32": pa.array([0.5, -1.25, None], pa.float32()),
        "s": pa.array(["Strasbourg", None, "Zürich <x> \"q\""], pa.string()),
        "b": pa.array([True, None, False], pa.bool_()),
        "ts": pa.array([datetime.datetime(2026, 11, 29, 8, 10, tzinfo=utc), None,
                        datetime.datetime(1970, 1, 1, 0, 0, 1, 500, tzinfo=utc)], pa.timestamp("us", tz="UTC")),
        "ms": pa.array([1000, None, -1], pa.timestamp("ms")),
        "d": pa.array([decimal.Decimal("12.34"), None, decimal.Decimal("-0.05")], pa.decimal128(10, 2)),
        "n": pa.array([None, None, None], pa.null()),
    }))
    # Two batches of 200 rows: k = 0..399, v = k / 4 except every 97th, null.
    schema = pa.schema([("k", pa.int64()), ("v", pa.float64())])
    batches = []
    for start in (0, 200):
        ks = list(range(start, start + 200))
        batches.append(pa.record_batch([pa.array(ks), pa.array([None if k % 97 == 0 else k / 4 for k in ks])], schema=schema))
    write(os.path.join(out, "two-batches.arrows"), schema, batches)
    # A list column, which the reader does not read.
    table_stream(os.path.join(out, "list.arrows"), pa.table({"xs": pa.array([[1, 2], None], pa.list_(pa.int64()))}))
    # 100 strings of 20 characters: the stream the corruption tests cut and flip.
    table_stream(os.path.join(out, "strings.arrows"), pa.table({"s": pa.array(["a" * 20] * 100)}))
    # One int64 column of 7 rows, no nulls: the tests patch its row count (7 appears exactly
    # twice in the record batch's metadata as an int64: the batch's length and the column's).
    table_stream(os.path.join(out, "seven-rows.arrows"), pa.table({"k": pa.array(range(7), pa.int64())}))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
