"""The in-memory instance a test drives: accounts, statuses, tokens, rules, reports.

Everything is guarded by one lock so a test thread can mutate the state while
the server's event loop serves requests from it.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from streams.testing.mastodon.entities import JSONDict, anonymous, make_account
from streams.testing.mastodon.ids import SnowflakeIds, utc_now


@dataclass
class Token:
    """An OAuth access token as Doorkeeper stores it (oauth_access_tokens).

    ``account_id`` is None for an app-only token (client credentials grant),
    which has no resource owner: Mastodon's ``require_user!`` then refuses it.
    """

    token: str
    scopes: frozenset[str]
    account_id: str | None
    revoked: bool = False
    chosen_languages: list[str] | None = None
    can_view_feeds: bool = False
    id: str = field(default_factory=lambda: str(secrets.randbelow(10**6)))


@dataclass
class AccountFlags:
    """Moderation state REST::Account does not show but the server acts on."""

    suspended: bool = False
    silenced: bool = False
    email: str | None = None
    created_at: datetime = field(default_factory=utc_now)


@dataclass
class StoredStatus:
    """A status plus whether it has been deleted (Mastodon keeps it "discarded")."""

    data: JSONDict
    deleted: bool = False


@dataclass
class Report:
    """A row of Mastodon's ``reports`` table (app/models/report.rb)."""

    id: str
    account_id: str
    target_account_id: str
    status_ids: list[str]
    comment: str
    category: str
    rule_ids: list[str] | None
    forwarded: bool
    created_at: datetime
    updated_at: datetime
    action_taken_at: datetime | None = None
    action_taken_by_account_id: str | None = None
    assigned_account_id: str | None = None


def is_local(account: JSONDict) -> bool:
    """Mastodon renders local accounts' ``acct`` without a domain part."""
    return "@" not in str(account.get("acct", ""))


class InstanceState:
    """All data the fake instance serves; safe to use from several threads."""

    def __init__(self, local_domain: str = "mastodon.example") -> None:
        self.lock = threading.RLock()
        self.local_domain = local_domain
        self.ids = SnowflakeIds()
        self.accounts: dict[str, JSONDict] = {}
        self.flags: dict[str, AccountFlags] = {}
        self.statuses: dict[int, StoredStatus] = {}
        self.tokens: dict[str, Token] = {}
        self.reports: dict[str, Report] = {}
        self.rules: list[JSONDict] = [
            {"id": "1", "text": "No harassment or hate speech.", "hint": ""},
            {"id": "2", "text": "No spam or unsolicited advertising.", "hint": ""},
            {"id": "3", "text": "Mark sensitive media as such.", "hint": ""},
        ]
        self._report_seq = 100

    # -- accounts ---------------------------------------------------------
    def add_account(self, account: JSONDict, **flags: Any) -> JSONDict:
        """Register (or replace) an Account entity; keyword args set AccountFlags."""
        with self.lock:
            self.accounts[str(account["id"])] = account
            current = self.flags.setdefault(str(account["id"]), AccountFlags())
            for name, value in flags.items():
                setattr(current, name, value)
        return account

    def create_account(self, username: str, domain: str | None = None, **flags: Any) -> JSONDict:
        """Make and register a fresh account, local when ``domain`` is None."""
        account = make_account(
            username, domain=domain, local_domain=self.local_domain, account_id=self.ids.now()
        )
        if domain is None:
            flags.setdefault("email", f"{username}@{self.local_domain}")
        return self.add_account(account, **flags)

    def account(self, account_id: str) -> JSONDict | None:
        with self.lock:
            return self.accounts.get(str(account_id))

    def flags_of(self, account_id: str) -> AccountFlags:
        with self.lock:
            return self.flags.setdefault(str(account_id), AccountFlags())

    # -- tokens -----------------------------------------------------------
    def add_token(
        self,
        scopes: str = "read write",
        *,
        account_id: str | None = None,
        app_only: bool = False,
        token: str | None = None,
        **options: Any,
    ) -> Token:
        """Issue a token; a user token gets a fresh local account unless one is given."""
        with self.lock:
            if account_id is None and not app_only:
                account_id = str(self.create_account(f"user{len(self.tokens) + 1}")["id"])
            issued = Token(
                token=token or secrets.token_urlsafe(32),
                scopes=frozenset(scopes.split()),
                account_id=account_id,
                **options,
            )
            self.tokens[issued.token] = issued
            return issued

    def find_token(self, value: str | None) -> Token | None:
        if not value:
            return None
        with self.lock:
            return self.tokens.get(value)

    # -- statuses ---------------------------------------------------------
    def add_status(self, status: JSONDict) -> JSONDict:
        """Store any Status dict (its account, and a reblogged status, too)."""
        with self.lock:
            if str(status["account"]["id"]) not in self.accounts:
                self.add_account(status["account"])
            if status.get("reblog"):
                self.add_status(status["reblog"])
            self.statuses[int(status["id"])] = StoredStatus(data=anonymous(status))
        return status

    def replace_status(self, status: JSONDict) -> None:
        """Store an edited rendering of an existing status."""
        with self.lock:
            stored = self.statuses.get(int(status["id"]))
            deleted = stored.deleted if stored else False
            self.statuses[int(status["id"])] = StoredStatus(anonymous(status), deleted)

    def mark_deleted(self, status_id: str) -> StoredStatus | None:
        with self.lock:
            stored = self.statuses.get(int(status_id))
            if stored:
                stored.deleted = True
            return stored

    def status(self, status_id: str) -> StoredStatus | None:
        try:
            key = int(status_id)
        except (TypeError, ValueError):
            return None
        with self.lock:
            return self.statuses.get(key)

    def snapshot(self) -> list[StoredStatus]:
        """All stored statuses, newest (highest id) first."""
        with self.lock:
            return [self.statuses[key] for key in sorted(self.statuses, reverse=True)]

    # -- reports ----------------------------------------------------------
    def next_report_id(self) -> str:
        with self.lock:
            self._report_seq += 1
            return str(self._report_seq)

    def rule(self, rule_id: str) -> JSONDict | None:
        with self.lock:
            return next((rule for rule in self.rules if rule["id"] == str(rule_id)), None)
