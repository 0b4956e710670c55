"""The comment of a report: what a moderator needs to judge it, and never the post's text. Pure.

It names the categories at or over the policy's thresholds with their scores, the backend,
model and prompt version that scored the post, and the policy's version, so a moderator can
tell a model's mistake from a policy's. It is built only from those fields, so no part of
the post can reach it; and it is cut to Mastodon's 1,000 characters for local reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from streams.categories import Category
from streams.models.actions import MAX_COMMENT_CHARS

#: Longest model or prompt name kept in a comment: endpoints' model names can be long paths.
MAX_NAME_CHARS: Final = 80


def build_comment(
    scores: Mapping[Category, float],
    *,
    backend: str,
    model: str,
    prompt_version: str,
    policy_version: str,
) -> str:
    """The report's comment, at most ``MAX_COMMENT_CHARS`` characters."""
    flagged = ", ".join(f"{c.value} {score:.2f}" for c, score in scores.items())
    text = (
        f"Automated report by streams (policy {_short(policy_version)}): scores at or over "
        f"the policy's thresholds: {flagged}. Scored by {_short(backend)} model "
        f"{_short(model)}, prompt {_short(prompt_version)}. The post's text is not repeated "
        "here; please judge the post itself. No action was taken on the account."
    )
    return text[:MAX_COMMENT_CHARS]


def _short(name: str) -> str:
    # A name is configuration, not post text; still, keep it one short line.
    single = " ".join(name.split())
    return single if len(single) <= MAX_NAME_CHARS else single[: MAX_NAME_CHARS - 1] + "…"
