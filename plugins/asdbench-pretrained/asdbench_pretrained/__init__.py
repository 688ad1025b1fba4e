"""Components from pretrained audio models for asdbench: PANNs CNN14 and OpenL3 feature spaces (pseudo-labelling),
the BEATs network (a branch of a trained system, frozen or LoRA-adapted) and the Kaldi fbank frontends it reads."""
