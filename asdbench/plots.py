"""Figures a person would rather look at than read: the pseudo-labelling space of one machine (Fig. 1-2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from asdbench.errors import AsdbenchError


def plot_space(space_file: Path, out: Path, title: str) -> Path:
    """Two panels of the 2-D feature space of one machine's training clips: true labels and pseudo-labels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = np.load(space_file, allow_pickle=True)
    coordinates = data["coordinates"]
    if coordinates.ndim != 2 or coordinates.shape[1] < 2:
        raise AsdbenchError(f"{space_file}: this feature space names classes directly; it has no 2-D space to plot")
    figure, axes = plt.subplots(1, 2, figsize=(11, 5), sharex=True, sharey=True)
    truth = np.where(data["truth"] == "", "(unknown)", data["truth"])
    panels = (("true attributes", data["domains"] + " " + truth), ("pseudo-labels", data["labels"]))
    for axis, (name, labels) in zip(axes, panels):
        for value in sorted(set(labels)):
            chosen = labels == value
            marker = "^" if str(value).startswith("target") or "/target/" in str(value) else "o"
            axis.scatter(coordinates[chosen, 0], coordinates[chosen, 1], s=12, marker=marker,
                         label=str(value).rsplit("/", 1)[-1] if name == "pseudo-labels" else str(value))
        axis.set_title(name)
        axis.legend(fontsize=6, markerscale=0.8, loc="best", ncol=2)
    figure.suptitle(title)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=120)
    plt.close(figure)
    return out
