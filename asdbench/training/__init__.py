"""Training a system of plugins: the system, the loop, stacked seeds, batches made ahead, and the embeddings
of every clip at each kept checkpoint."""
