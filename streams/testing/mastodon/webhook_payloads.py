"""The objects Mastodon puts in webhook payloads.

REST::Admin::WebhookEventSerializer (mastodon/mastodon
app/serializers/rest/admin/webhook_event_serializer.rb) picks the serializer
by model: Report -> REST::Admin::ReportSerializer, Account ->
REST::Admin::AccountSerializer, Status -> REST::StatusSerializer (rendered
with no current user).  Field order follows those serializers and the example
in mastodon/documentation content/en/admin/webhooks.md.
"""

from __future__ import annotations

from streams.testing.mastodon.entities import JSONDict, anonymous
from streams.testing.mastodon.ids import iso_ms
from streams.testing.mastodon.state import InstanceState, Report, is_local

#: REST::RoleSerializer for the default "everyone" role (UserRole::EVERYONE_ROLE_ID).
EVERYONE_ROLE: JSONDict = {
    "id": "-99", "name": "", "permissions": "65536", "color": "", "highlighted": False,
}


def admin_account(state: InstanceState, account_id: str | None) -> JSONDict | None:
    """REST::Admin::AccountSerializer; user-backed fields are null for remote accounts."""
    if account_id is None:
        return None
    account = state.account(account_id)
    if account is None:
        return None
    flags = state.flags_of(account_id)
    local = is_local(account)
    domain = None if local else str(account["acct"]).split("@", 1)[1]
    return {
        "id": str(account["id"]),
        "username": account["username"],
        "domain": domain,
        "created_at": iso_ms(flags.created_at),
        "email": flags.email if local else None,
        "ip": None,
        "confirmed": True if local else None,
        "suspended": flags.suspended,
        "silenced": flags.silenced,
        "sensitized": False,
        "disabled": False if local else None,
        "approved": True if local else None,
        "locale": "en" if local else None,
        "invite_request": None,
        "ips": [] if local else None,
        "account": account,
        "role": dict(EVERYONE_ROLE) if local else None,
    }


def rule_entity(rule: JSONDict) -> JSONDict:
    """REST::RuleSerializer."""
    return {"id": str(rule["id"]), "text": rule.get("text", ""), "hint": rule.get("hint", ""),
            "translations": rule.get("translations", {})}


def admin_report(state: InstanceState, report: Report) -> JSONDict:
    """REST::Admin::ReportSerializer: the ``object`` of report.created / report.updated."""
    statuses = [anonymous(stored.data) for sid in report.status_ids
                if (stored := state.status(sid)) is not None]
    rules = [rule_entity(rule) for rid in report.rule_ids or []
             if (rule := state.rule(rid)) is not None]
    return {
        "id": report.id,
        "action_taken": report.action_taken_at is not None,
        "action_taken_at": iso_ms(report.action_taken_at) if report.action_taken_at else None,
        "category": report.category,
        "comment": report.comment,
        "forwarded": report.forwarded,
        "created_at": iso_ms(report.created_at),
        "updated_at": iso_ms(report.updated_at),
        "account": admin_account(state, report.account_id),
        "target_account": admin_account(state, report.target_account_id),
        "assigned_account": admin_account(state, report.assigned_account_id),
        "action_taken_by_account": admin_account(state, report.action_taken_by_account_id),
        "statuses": statuses,
        "rules": rules,
    }


def status_object(status: JSONDict) -> JSONDict:
    """REST::StatusSerializer without a viewer: the ``object`` of status.created/updated."""
    return anonymous(status)
