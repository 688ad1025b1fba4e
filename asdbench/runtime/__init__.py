"""Where and how work runs: the device tensors go to, and progress bars for terminals and log files."""
