"""The layers of the published transformers' blocks that ``lora_targets`` may name: plain names, so that the light
factories (which check the option) and the networks (which adapt the layers) read them from one place."""

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2")
"""The layers of a BEATs transformer block that ``lora_targets`` may name."""

EAT_LORA_TARGETS = ("qkv", "proj", "fc1", "fc2")
"""The layers of an EAT transformer block that ``lora_targets`` may name."""
