"""``streams`` subcommands. Each module has a ``register(app, settings)``."""
