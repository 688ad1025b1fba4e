"""What people read: leaderboards rendered from stored results, run summaries and figures."""
