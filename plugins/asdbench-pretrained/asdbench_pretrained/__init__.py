"""Feature spaces from pretrained audio models (PANNs CNN14, OpenL3) for asdbench's pseudo-labelling."""
