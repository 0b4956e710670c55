"""Calibration: what a score of 0.6 means, fitted from moderators' corrections.

- ``map``: a fitted map and how it is applied (pure Python, what a worker imports);
- ``fit``: fitting one from (score, label) pairs, checked on held-out pairs (scikit-learn);
- ``pairs``: the pairs, from training examples joined with the live scores of their posts;
- ``topic``: the compacted calibration topic: publishing a map, and the follower a worker runs
  so a new map applies without a restart.
"""
