"""Exceptions a user can act on.

Every error asdbench raises on bad input is an :class:`AsdbenchError`; its message names the file, field or
plugin at fault and what was expected. The CLI prints these without a traceback (unless ``--debug``).
"""


class AsdbenchError(Exception):
    """Base class of every user-facing asdbench error."""


class PluginError(AsdbenchError):
    """A plugin is unknown, registered twice, or failed to load."""


class PluginCallError(PluginError):
    """A plugin's factory or component method raised; the original exception is its ``__cause__``."""


class ContractError(PluginError):
    """A plugin's component returned something its kind's contract (asdbench.hookspecs) does not allow."""


class HostError(AsdbenchError):
    """This machine cannot do the work as asked: a device that is not here (``ASDBENCH_DEVICE=cuda`` without CUDA),
    a dataset root that is not there. No run is at fault: the store records no failure, and a grid stops."""


class SpecError(AsdbenchError):
    """A run or grid spec is malformed or names something that does not exist."""


class PreflightError(AsdbenchError):
    """What is checked before any work (asdbench.store.preflight) found problems: each cause is said once, with the
    runs it concerns; nothing was computed, and nothing written to the store."""


class DataError(AsdbenchError):
    """A dataset file is missing, misnamed, unreadable or in the wrong format."""


class DataNotFound(DataError, HostError):
    """A dataset's root folder is not on this machine (not mounted, or the data live elsewhere)."""


class ScoreFileError(AsdbenchError):
    """A score or decision file does not match the test set it claims to score."""


class PathError(AsdbenchError):
    """An output or cache directory cannot be written: not writable, or an existing file in its place."""


class TrainingError(AsdbenchError):
    """Training cannot go on (e.g. a NaN loss); the message says where it happened."""


class WriteError(PathError):
    """A file could not be written: the disk is full or read-only, or the system refused this user. The file's
    previous content, and every file written before, is kept; a grid stops rather than fail every run."""
