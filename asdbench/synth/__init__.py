"""``asdbench synth``: synthetic datasets in exactly the official DCASE layouts, deterministic per seed."""
