"""Pseudo-attribute labels (Sec. III-B of the paper): a feature space, reduced and clustered per domain."""
