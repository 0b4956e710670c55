"""Mastodon connector: signed webhooks and the streaming API in, reports out as corrections.

Pure modules (no I/O): ``webhooks`` (signature, envelope, what a delivery publishes),
``reports`` (Admin::Report -> corrections), ``streaming`` (messages, backoff, since_id
bookkeeping, Link and rate-limit headers). I/O: ``rest`` (instance and timeline requests),
``state`` (the follower's state file), ``follower`` (``streams ingest mastodon``), ``producer``
(the Kafka producer the follower publishes with). ``config`` turns the settings into one frozen
object; ``metrics`` holds the ``streams_mastodon_*`` metrics.
"""
