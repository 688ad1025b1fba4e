"""``asdbench ...``: the command line. Each subcommand is a thin layer over a library function; the commands are
defined by group, one module each (:mod:`asdbench.cli.data`, ``runs``, ``grids``, ``report``, ``plugins``,
``store``)."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import TextIO

from asdbench import __version__
from asdbench.cli import data, grids, plugins, report, runs, store
from asdbench.errors import AsdbenchError
from asdbench.files.outputs import GuardedStream, StreamError, reason, refused_by_system

GROUPS = (plugins, data, runs, grids, report, store)
"""The command groups, in the order ``asdbench --help`` lists their commands."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and args.command != "worker":  # only `asdbench worker` passes options on (to `dask worker`)
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.dask_options = unknown
    stdout, sys.stdout = sys.stdout, GuardedStream(sys.stdout, "standard output")
    try:
        with warnings.catch_warnings():
            if not args.debug:
                warnings.showwarning = _one_line_warning
            status = args.handler(args) or 0
            sys.stdout.flush()  # a full disk behind `> file` shows only now, for a short output
            return status
    except AsdbenchError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"asdbench: error: {exc}", file=sys.stderr)
        if isinstance(exc, StreamError):
            _discard_stdout(stdout)
        return 2
    except KeyboardInterrupt:
        print("asdbench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `asdbench ... | head`: the reader has all it wanted
        _discard_stdout(stdout)
        return 141
    except OSError as exc:  # a write refused outside asdbench.files.atomic's: a lock file or folder in a read-only store
        refused = refused_by_system(exc)
        if refused is None:
            raise
        if args.debug:
            traceback.print_exc()
        print(f"asdbench: error: {refused.filename}: {reason(refused)}; files written before are kept", file=sys.stderr)
        return 2
    finally:
        sys.stdout = stdout


def _discard_stdout(stdout: TextIO) -> None:
    """Point standard output at /dev/null: what it holds cannot be written, and Python's own flush at exit would
    fail again, with a traceback."""
    with suppress(AttributeError, ValueError, OSError):  # a stream without a file descriptor (tests) holds nothing
        os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())


def _one_line_warning(message: Warning | str, category: type[Warning], *args: object, **kwargs: object) -> None:
    """A warning as one line, like the errors: what it says, not where in asdbench's code it was raised."""
    print(f"asdbench: warning: {message}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asdbench", description="A benchmark harness for anomalous sound detection "
                                     "(DCASE Task 2); `asdbench COMMAND --help` describes each command.")
    parser.add_argument("--version", action="version", version=f"asdbench {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Callable[[argparse.Namespace], int], help: str,
                **options: object) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help, **options)
        sub.set_defaults(handler=handler)
        return sub

    for group in GROUPS:
        group.add_commands(command)
    return parser
