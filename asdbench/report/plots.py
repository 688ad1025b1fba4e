"""Figures a person would rather look at than read: the pseudo-labelling space of one machine section (Fig. 1-2)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from asdbench.errors import AsdbenchError
from asdbench.files.atomic import atomic_path
from asdbench.store.layout import HASH, PSEUDOLABELS, RESULTS, TRAINED, read_json

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MARKERS = {"source": "o", "target": "^"}
"""Each domain's marker, so that source and target clusters stay apart where their colours repeat."""
AXIS_NAMES = {"umap": "UMAP"}
"""The axes' name per reducer; any other reducer's axes are the space's first two dimensions."""
SPACE_ARRAYS = ("coordinates", "files", "domains", "truth", "labels")
"""What :mod:`asdbench.pseudolabel.labelling` writes in a space file."""
LEGEND_ENTRIES = 16
"""At most this many labels in a panel's legend; the rest are counted in its title."""


def space_figure(space_file: Path) -> Figure:
    """Two panels of the 2-D space of one unit's training clips (``<directory>/spaces/<split>.<machine>.<section>.npz``,
    as :mod:`asdbench.pseudolabel.labelling` writes it): coloured by true attributes and by pseudo-labels, with each
    domain's marker; the title names the feature space and the axes the reducer, read from ``spec.json``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = _space(space_file)
    coordinates = data["coordinates"]
    if not _planar(coordinates):
        raise AsdbenchError(f"{space_file}: this feature space names classes directly; it has no 2-D space to plot")
    feature_space, reducer = _names(space_file.parent.parent / "spec.json")
    split, machine, section = space_file.name.split(".")[:3]
    axis_name = AXIS_NAMES.get(reducer, "dimension")
    domains = data["domains"].astype(str)
    truth = np.where(data["truth"] == "", "(unknown)", data["truth"]).astype(str)
    pseudo = np.array([str(label).rsplit("/", 1)[-1] for label in data["labels"]])
    figure, axes = plt.subplots(1, 2, figsize=(12, 6), sharex=True, sharey=True)
    for axis, (name, labels) in zip(axes, (("true attributes", truth), ("pseudo-labels", pseudo))):
        groups = sorted({(domain, label) for domain, label in zip(domains, labels)})
        colours = plt.get_cmap("tab20" if len(groups) > 10 else "tab10")
        for index, (domain, label) in enumerate(groups):
            chosen = (domains == domain) & (labels == label)
            axis.scatter(coordinates[chosen, 0], coordinates[chosen, 1], s=12, marker=MARKERS.get(domain, "s"),
                         color=colours(index % colours.N), label=f"{domain} {label}")
        axis.set_title(name)
        axis.set_xlabel(f"{axis_name} 1")
        axis.set_ylabel(f"{axis_name} 2")
        _legend(axis, len(groups))
    figure.suptitle(f"{machine} section {section} ({split}): pseudo-labelling space of feature space {feature_space!r}, "
                    f"reduced by {reducer!r}")
    return figure


def has_plane(space_file: Path) -> bool:
    """Whether a space file holds points to plot (a feature space that names classes directly, as ``ground-truth``
    does, has none)."""
    return _planar(_space(space_file)["coordinates"])


def _planar(coordinates: np.ndarray) -> bool:
    return coordinates.ndim == 2 and coordinates.shape[1] >= 2


def space_directory(given: Path) -> Path:
    """The pseudo-label directory to plot for ``given``: a ``pseudolabels/<hash>`` directory itself, or the one that
    a run's ``results.json`` (or a training's ``trained.json``) names in field ``pseudolabel.directory``.

    A store file only ever names its own store's ``pseudolabels/<hash>``: that is where it is looked for (so a
    store moved or shared is plotted from where it is now), and a record naming anything else is refused, so that
    a store file cannot make asdbench read a folder outside the store.
    """
    record = next((given / name for name in (RESULTS, TRAINED) if (given / name).exists()), None)
    if record is None:
        return given
    stored = read_json(record)
    assert stored is not None  # it exists
    config = stored.get("pseudolabel")
    if not config:
        raise AsdbenchError(f"{given} did not train on pseudo-labels: it has no pseudo-labelling space")
    named = Path(config["directory"]) if isinstance(config, dict) and isinstance(config.get("directory"), str) else None
    if named is None or named.parent.name != PSEUDOLABELS or not HASH.fullmatch(named.name):
        raise AsdbenchError(f"{record}: field pseudolabel.directory is {config!r}, not a {PSEUDOLABELS}/<hash> "
                            "directory of its store; refusing to read it")
    store = record.parent.parent.parent if record.name == RESULTS else record.parent.parent
    return store / PSEUDOLABELS / named.name


def unit_space(directory: Path, machine: str, section: str | None = None) -> Path:
    """The space file of ``machine``'s ``section`` in a pseudo-label table's ``directory`` (see
    :func:`space_directory`); ``section`` may be left out where the machine has one section with a space."""
    spaces = {tuple(p.name.split(".")[1:3]): p for p in sorted((directory / "spaces").glob("*.npz"))}
    found = sorted(s for m, s in spaces if m == machine and section in (None, s))
    if not found:
        known = ", ".join(f"{m} section {s}" for m, s in sorted(spaces)) or "none"
        wanted = f"machine {machine!r}" + (f" section {section!r}" if section is not None else "")
        raise AsdbenchError(f"no space for {wanted} in {directory}; spaces: {known}")
    if len(found) > 1:
        raise AsdbenchError(f"machine {machine!r} has a space per section in {directory} ({', '.join(found)}): "
                            "name one with --section")
    return spaces[(machine, found[0])]


def plot_space(space_file: Path, out: Path) -> Path:
    """:func:`space_figure` saved as a PNG at ``out``."""
    return save_figure(space_figure(space_file), out, bbox_inches="tight")  # "tight": the legends below the panels


def save_figure(figure: Figure, out: Path, **options: Any) -> Path:
    """Write ``figure`` (at 120 dpi, with matplotlib's ``savefig`` ``options``) atomically to ``out`` (see
    :mod:`asdbench.files.atomic`: through a symlink, never onto a folder or a device), then close it."""
    import matplotlib.pyplot as plt

    try:
        with atomic_path(out) as temporary:
            figure.savefig(temporary, dpi=120, **options)
    finally:
        plt.close(figure)
    return out


def _space(space_file: Path) -> dict[str, np.ndarray]:
    """The arrays of a space file, read without pickles: no code runs from a data file (a space of strings pickled
    as objects, as asdbench wrote them before 0.1.0, is refused too: computing the table again rewrites it)."""
    try:
        with np.load(space_file, allow_pickle=False) as stored:
            data = {key: stored[key] for key in stored.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise AsdbenchError(f"{space_file}: not a pseudo-labelling space asdbench wrote ({error})") from None
    missing = [key for key in SPACE_ARRAYS if key not in data]
    if missing:
        raise AsdbenchError(f"{space_file}: not a pseudo-labelling space asdbench wrote (no {', '.join(missing)})")
    return data


def _names(spec_file: Path) -> tuple[str, str]:
    """The feature space's and the reducer's names, from a pseudo-label directory's ``spec.json``."""
    try:
        config = json.loads(spec_file.read_text(encoding="utf-8"))["pseudolabel"]
        return config["feature_space"]["name"], config["reducer"]["name"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise AsdbenchError(f"{spec_file}: cannot read the pseudo-labelling's feature space and reducer "
                            f"({type(error).__name__}: {error})") from None


def _legend(axis: Axes, count: int) -> None:
    """A legend below the panel, of at most :data:`LEGEND_ENTRIES` labels."""
    handles, labels = axis.get_legend_handles_labels()
    shown = min(count, LEGEND_ENTRIES)
    title = f"{shown} of {count} labels" if count > shown else None
    axis.legend(handles[:shown], labels[:shown], title=title, fontsize=7, title_fontsize=7, markerscale=1.2,
                loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=4, frameon=False)
