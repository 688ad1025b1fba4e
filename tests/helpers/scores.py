"""Score and decision files written as a system would, for tests of the evaluator."""

from __future__ import annotations

import numpy as np
import pandas as pd

from asdbench.scoring.scorefiles import write_decisions, write_scores


def write_all(directory, test: pd.DataFrame, scores=None, decisions: bool = True,
              layout: str = "section") -> pd.DataFrame:
    """Write score (and decision) files of every machine section of ``test`` in ``layout``; scores default to 0, 1,
    2, ..."""
    scores = np.arange(len(test), dtype=float) if scores is None else scores
    frame = test.assign(score=scores, decision=(scores > np.median(scores)).astype(int))
    for (machine, section), rows in frame.groupby(["machine", "section"]):
        write_scores(directory, machine, section, rows, layout=layout)
        if decisions:
            write_decisions(directory, machine, section, rows, layout=layout)
    return frame
