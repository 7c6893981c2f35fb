"""What the benchmarks' Python helpers (Benchmarks/Kafka/peers.py, Benchmarks/Mongo/peers.py) share.

Standard library only: the error that ends a step, printing, the table's number formats,
waiting for a server process to go quiet, and the argparse frame of a peers.py (subcommands
whose BenchError is one line on stderr and exit status 1).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class BenchError(Exception):
    """A failed step or a count that does not match: printed as one line, exit status 1."""


def say(line: str = "") -> None:
    print(line, flush=True)


def fmt_rate(count: int | None, seconds: float | None) -> str:
    return f"{count / seconds:,.0f}" if count and seconds else "n/a"


def fmt_seconds(seconds: float | None) -> str:
    return f"{seconds:.3f}" if seconds is not None else "n/a"


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of all of `pid`'s threads so far, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def quiesce(pid: int | None, timeout: float = 60.0, report: str | None = None) -> float:
    """Waits until the server process `pid` uses under 5% of a CPU over 0.5 s, so that a phase
    does not start while the server still works on the previous one (noida-db snapshots every
    topic to JSON about a second after each change; a MongoDB server flushes the writes).
    Returns the seconds waited; no-op without a pid. With `report`, the process's role
    ("broker", "server"), a wait of over a second is printed."""
    if pid is None:
        return 0.0
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        a = process_cpu_seconds(pid)
        time.sleep(0.5)
        b = process_cpu_seconds(pid)
        if a is None or b is None or b - a < 0.025:
            break
    waited = time.monotonic() - t0
    if report is not None and waited > 1:
        say(f"   (waited {waited:.1f} s for the {report} to go quiet)")
    return waited


def cmd_quiesce(args, role: str) -> int:
    quiesce(args.pid, args.timeout, report=role)
    return 0


def add_quiesce_command(sub, role: str) -> None:
    """The `quiesce --pid PID [--timeout S]` subcommand, for the `role` ("broker", "server")."""
    q = sub.add_parser("quiesce", help=f"wait until the {role} process is (nearly) idle")
    q.add_argument("--pid", type=int, required=True, help=f"the {role}'s process id")
    q.add_argument("--timeout", type=float, default=60, help="seconds (60)")
    q.set_defaults(fn=lambda args: cmd_quiesce(args, role))


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie, exited but not yet reaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def positive(text: str) -> int:
    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return v


def command_parser(doc: str):
    """A peers.py's parser, described by the first paragraph of its docstring `doc`, and its
    subparsers (a subcommand is required; each sets `fn`, called with the parsed arguments)."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    return p, p.add_subparsers(dest="command", required=True)


def run_command(parser: argparse.ArgumentParser, argv=None) -> int:
    """Parses `argv` and runs the subcommand's fn: its status, or 1 after a BenchError,
    printed on stderr as `peers.py COMMAND: message`."""
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except BenchError as e:
        print(f"peers.py {args.command}: {e}", file=sys.stderr)
        return 1
