"""Mastodon connector: signed webhooks and the streaming API in, reports out as corrections.

Pure modules (no I/O): ``webhooks`` (signature, envelope, what a delivery publishes:
``handle_delivery``), ``reports`` (Admin::Report -> corrections: ``report_corrections``),
``streaming`` (messages, backoff, since_id bookkeeping, Link and rate-limit headers) and
``jsontext`` (cutting values out of JSON text at their original bytes).

I/O: ``rest`` (instance and timeline requests), ``backfill`` (the timeline walk), ``state`` (the
follower's state file), ``follower`` (``follow``, the engine of ``streams ingest mastodon``) and
``producer`` (the Kafka producer it publishes with). ``config`` turns the settings into frozen
objects (``FollowerConfig``, ``report_policy``, ``webhook_secret``); ``metrics`` holds the
``streams_mastodon_*`` metrics.

This package imports nothing at import time, so the web route can import ``webhooks`` without
loading aiohttp's client or aiokafka.
"""
