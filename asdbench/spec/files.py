"""TOML files read for asdbench: a run spec or a grid file, told apart by their top-level fields, and refused in
one line naming the file when missing, unreadable, malformed or nested absurdly deep."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from asdbench.errors import SpecError
from asdbench.spec.schema import TOP_LEVEL_KEYS

GRID_KEYS = ("base", "variants", "axes", "table", "sources")
"""The top-level fields of a grid file (asdbench.grid.expand), told apart from a run spec's to say which file is which."""


RUN_SPEC, GRID_FILE = "run spec", "grid file"


FILE_KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    RUN_SPEC: (TOP_LEVEL_KEYS,
               "`asdbench run`, `spec` and `pseudolabel` take run specs (a grid names one as its base)"),
    GRID_FILE: (GRID_KEYS, "`asdbench grid`, `status` and `leaderboard` take grid files"),
}
"""Each kind of TOML file: its top-level fields, and which commands take it."""


MAX_NESTING = 64
"""The deepest a spec or grid file may nest arrays and tables (its own fields nest a few levels at most): a file
nested thousands deep would otherwise exhaust Python's stack in the TOML reader or anything after it."""


def read_toml(path: Path, what: str = "spec file") -> dict[str, Any]:
    """A TOML file's tables; a missing, unreadable or malformed file, or one nested more than :data:`MAX_NESTING`
    deep, is a :class:`SpecError` naming it."""
    too_deep = f"{path}: arrays or tables nested more than {MAX_NESTING} deep; no field of a spec or grid nests " \
               "more than a few levels"
    try:
        tables = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except RecursionError:  # the reader recurses once per level: thousands of them exhaust Python's stack
        raise SpecError(too_deep) from None
    except FileNotFoundError:
        raise SpecError(f"{what} {path} not found") from None
    except IsADirectoryError:
        raise SpecError(f"{what} {path} is a directory; expected a TOML file") from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start}); TOML files are UTF-8") \
            from None
    except OSError as exc:
        raise SpecError(f"{what} {path} cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    deepest = _deepest(tables)
    if deepest is not None:
        raise SpecError(f"{too_deep} (under {deepest!r})")
    return tables


def _deepest(tables: dict[str, Any]) -> str | None:
    """The top-level key under which a value nests more than :data:`MAX_NESTING` deep, or None. Walked without
    recursion, so that every later step (validation, copies, JSON) may recurse over what it is given."""
    for key, value in tables.items():
        level = [value]
        for _ in range(MAX_NESTING):
            level = [item for node in level if isinstance(node, list | dict)
                     for item in (node.values() if isinstance(node, dict) else node)]
        if any(isinstance(node, list | dict) for node in level):
            return key
    return None


def refuse_other_kind(raw: Mapping[str, Any], path: Path, expected: str) -> None:
    """Refuse a file whose every top-level field is of the other kind of :data:`FILE_KINDS` than ``expected``,
    saying which kind it is and which commands take it (a grid file given to ``run``, a run spec to ``status``)."""
    for kind, (keys, commands) in FILE_KINDS.items():
        if kind != expected and raw and set(raw) <= set(keys):
            raise SpecError(f"{path} is a {kind} (it has {', '.join(k for k in keys if k in raw)}), not a "
                            f"{expected}: {commands}")
