"""Test clips and reports of any year's evaluator, drawn from a seed (no audio, no training): for the tests of the
reports, of the stored results that hold them and of the tables that show them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from asdbench.scoring.official import Report, evaluate


def manifest(machines: dict[str, tuple[str, ...]], clips: int, seed: int, *, domains: bool = True) -> pd.DataFrame:
    """Test clips of every machine section, both classes and (unless not ``domains``) both domains, in a shuffled
    order; scores with ties (one decimal) and decisions."""
    rng = np.random.default_rng(seed)
    rows = []
    for machine, sections in machines.items():
        for section in sections:
            for domain in ("source", "target") if domains else ("source",):
                for index in range(clips + rng.integers(0, 4)):
                    label = "anomaly" if index % 3 == 0 else "normal"
                    rows.append({"machine": machine, "section": section, "domain": domain, "label": label,
                                 "file": f"section_{section}_{domain}_test_{index:04d}.wav", "path": "/x.wav",
                                 "subset": "test"})
    frame = pd.DataFrame(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    frame["score"] = np.round(rng.normal(size=len(frame)) + 0.8 * frame["label"].eq("anomaly"), 1)
    frame["decision"] = (frame["score"] > 0.5).astype(int)
    return frame


def report_of(metric: str, frame: pd.DataFrame, decisions: bool = True) -> Report:
    """The report ``metric`` of the clips of :func:`manifest` (their decisions too, unless not ``decisions``)."""
    keys = ["machine", "section", "file"]
    return evaluate(metric, frame, frame[[*keys, "score"]], frame[[*keys, "decision"]] if decisions else None)
