"""How good are the scores: evaluation on labelled files, and calibration fitted from examples.

Modules, read top to bottom in this order:

- ``mapping``: how HateCheck-style suites label the categories, and what accuracy measures;
- ``cases``, ``suites``, ``examples``: labelled files (suite CSV, training-example JSONL) in;
- ``scoring``: cases scored through scoring configurations, as the classifier scores posts;
- ``metrics``, ``scorecard``: the figures (pure); ``results``: the report's models;
- ``run``: one evaluation end to end; ``report``, ``plot``: tables and the PNG;
- ``command``: the body of ``streams eval``.

Nothing here is imported by the worker; numpy, scikit-learn and matplotlib are imported inside
the functions that need them. Calibration (fitting a map and applying it) is
:mod:`streams.calibration`.
"""
