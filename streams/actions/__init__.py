"""Actions on flagged posts: a report in the instance's moderation queue, or a signed webhook.

Pure modules: ``policy`` (which posts to act on, and how: categories, rules, the report
category), ``comment`` (the report's comment: scores, model and policy, never post text),
``ledger`` (the at-most-once state of every post's action, rebuilt from the actions topic),
``switch`` (the stop switch) and ``config`` (the settings as one frozen object).

I/O: ``delivery`` (retries with backoff, the stop switch honoured before every call), and the
sinks ``mastodon`` (``POST /api/v1/reports``) and ``webhook`` (HMAC-signed JSON; ``signing``
holds the signature both ends compute). The agent that drives them is
``streams.agents.actions``.
"""
