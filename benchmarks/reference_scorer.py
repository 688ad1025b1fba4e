"""One reference-style scoring process: one machine, one checkpoint (see reference_style.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from asdbench.contract.registry import get_registry
from asdbench.spec.validate import validate_spec
from asdbench.training.system import build_system

from reference_style import REFERENCE_SAMPLES, decoding_loader


def main(job_file: str) -> None:
    job = json.loads(Path(job_file).read_text())
    registry = get_registry()
    spec = validate_spec(job["spec"], registry)
    state = torch.load(job["checkpoint"], map_location="cpu", weights_only=True)
    system = build_system(spec.system, registry, num_classes=job["num_classes"], num_samples=REFERENCE_SAMPLES)
    system.load_state_dict(state["model"])
    system.eval()
    embeddings = {}
    with torch.inference_mode():
        for subset in ("train", "test"):
            loader = decoding_loader(job[subset], shuffle=False)
            embeddings[subset] = torch.cat([system.embed(batch) for batch in loader]).numpy()
    backend_options = {k: v for k, v in spec.system["backend"].items() if k != "name"}
    backend = registry.create("backends", spec.system["backend"]["name"], **backend_options)
    backend.fit(embeddings["train"], np.array(job["train_domains"]))
    np.save(Path(job_file).with_suffix(".npy"), np.asarray(backend.score(embeddings["test"])))


if __name__ == "__main__":
    main(sys.argv[1])
