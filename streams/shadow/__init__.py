"""``streams shadow``: a candidate scoring configuration replayed over the retained raw topic,
published to a shadow topic and compared with the live scores and the training examples.

Modules, read top to bottom in this order:

- ``results``: the report's models (what ``--json`` prints);
- ``compare``: the comparison itself, pure: agreement, flips, precision and recall against
  the examples, cost;
- ``candidate``: the candidate's scorer, built from the settings with its overrides and an
  optional calibration map;
- ``replay``: reading the raw topic without a consumer group and publishing to the shadow topic;
- ``report``: the tables; ``command``: the body of ``streams shadow``.

The live topics and the live group are only ever read: nothing here commits an offset or
publishes anywhere but the shadow topic.
"""
