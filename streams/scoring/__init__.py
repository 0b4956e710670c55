"""Scoring posts: the backends behind one interface, retries per post, and the repeat cache."""
