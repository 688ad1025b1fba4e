"""Run specs: TOML in, a validated canonical form and its training and scoring identities out."""
