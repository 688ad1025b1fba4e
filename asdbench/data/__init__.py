"""Data: the official DCASE layouts read in place into manifests, the audio cache, clips and labels."""
