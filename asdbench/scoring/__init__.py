"""From embeddings to official figures: backends per (split, machine, section), checkpoint ensembles,
decisions, the official score files, and the DCASE evaluators' metrics."""
