"""Faust agents. Each module has a ``register(app, settings)`` that adds its agents to the app."""
