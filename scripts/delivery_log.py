#!/usr/bin/env python3
"""Reads Meteo's delivery log (`meteo ingest --delivery-log FILE`): one '<place_id>@<observed_at>'
a line, for each event the bus acknowledged.

The same rules as the Swift reader, DeliveryLog.read (Sources/MeteoPipeline/DeliveryLog.swift):
lines end with LF or CRLF, a UTF-8 byte order mark at the start is skipped, blank lines are
skipped, and the last line needs no newline. Only LF and CRLF end a line (str.splitlines would
also cut at form feeds, U+2028 and the like, which a place id may hold).

As a script it prints the ids of FILE, one a line: python3 scripts/delivery_log.py FILE
"""
from __future__ import annotations

import sys

BOM = b"\xef\xbb\xbf"


def parse(data: bytes, at_start: bool = True) -> list[str]:
    """The ids in `data`; `at_start` says it is the start of the file (where a BOM may be)."""
    if at_start and data.startswith(BOM):
        data = data[len(BOM):]
    ids = []
    for line in data.split(b"\n"):
        if line.endswith(b"\r"):
            line = line[:-1]
        if line:
            ids.append(line.decode("utf-8", errors="replace"))
    return ids


def read(path) -> list[str]:
    """Every id of the delivery log at `path`."""
    with open(path, "rb") as f:
        return parse(f.read())


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: delivery_log.py FILE", file=sys.stderr)
        return 2
    out = sys.stdout.buffer
    for event_id in read(sys.argv[1]):
        out.write(event_id.encode("utf-8") + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
