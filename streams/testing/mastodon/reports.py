"""Filing a report: Mastodon's validation and the REST Report entity.

Order and outcomes follow mastodon/mastodon
app/controllers/api/v1/reports_controller.rb, app/services/report_service.rb
and app/models/report.rb:

1. ``Account.find(account_id)`` — unknown (or missing) account -> 404
   ``{"error":"Record not found"}``; a suspended target also -> 404.
2. ``status_ids[]`` are looked up among the *target's* statuses that the
   reporter may see (AccountStatusesFilter, deleted ones included) with
   ``find``, so any unknown id, or a status of another account -> 404.
3. ``category``: ``violation`` whenever ``rule_ids[]`` is present, else the
   given category or ``other``; a value outside the enum makes Rails raise
   ArgumentError -> 500.
4. Validations -> 422 ``{"error":"Validation failed: ..."}``: comment over
   1,000 characters (local reporters), and for ``violation`` rule ids that do
   not all reference rules ("Rule ids does not reference valid rules").
5. ``forwarded`` is true only for a remote target whose domain is among
   ``forward_to_domains[]`` (default: the target's domain) when ``forward`` is true.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.testing.mastodon.entities import JSONDict
from streams.testing.mastodon.ids import iso_ms, utc_now
from streams.testing.mastodon.params import (
    Params,
    cast_boolean,
    permitted_array,
    permitted_scalar,
    presence,
)
from streams.testing.mastodon.state import InstanceState, Report, is_local

COMMENT_SIZE_LIMIT = 1_000
CATEGORIES = ("other", "spam", "legal", "violation")


@dataclass
class Refusal(Exception):
    """A refused report: HTTP status and JSON body."""

    status: int
    body: dict[str, object]


NOT_FOUND = Refusal(404, {"error": "Record not found"})


def _visible_to(status: JSONDict, reporter_id: str) -> bool:
    """AccountStatusesFilter for a reporter who does not follow the target."""
    visibility = status.get("visibility")
    if visibility in ("public", "unlisted"):
        return True
    mentioned = {str(m.get("id")) for m in status.get("mentions") or []}
    return visibility == "direct" and reporter_id in mentioned


def reported_status_ids(state: InstanceState, target_id: str, reporter_id: str,
                        raw_ids: list[object]) -> list[str]:
    """``...results.with_discarded.find(ids).pluck(:id)``: all found, or RecordNotFound."""
    found: list[str] = []
    for raw in dict.fromkeys(str(item) for item in raw_ids):
        stored = state.status(raw)
        if stored is None or str(stored.data["account"]["id"]) != target_id:
            raise NOT_FOUND
        if not _visible_to(stored.data, reporter_id):
            raise NOT_FOUND
        found.append(str(stored.data["id"]))
    return found


def _category(params: Params, rule_ids: list[str] | None) -> str:
    if rule_ids:
        return "violation"
    category = presence(permitted_scalar(params, "category"))
    chosen = str(category) if category is not None else "other"
    if chosen not in CATEGORIES:
        raise Refusal(500, {"status": 500, "error": "Internal Server Error"})
    return chosen


def _validation_errors(state: InstanceState, comment: str, category: str,
                       rule_ids: list[str] | None) -> list[str]:
    errors: list[str] = []
    if len(comment) > COMMENT_SIZE_LIMIT:
        errors.append(f"Comment is too long (maximum is {COMMENT_SIZE_LIMIT} characters)")
    if category == "violation":
        known = {rule_id for rule_id in rule_ids or [] if state.rule(rule_id) is not None}
        if rule_ids is None or len(known) != len(rule_ids):
            errors.append("Rule ids does not reference valid rules")
    return errors


def _forwarded(target: JSONDict, params: Params) -> bool:
    if is_local(target) or not cast_boolean(permitted_scalar(params, "forward")):
        return False
    domain = str(target["acct"]).split("@", 1)[1].lower()
    given = params.get("forward_to_domains")
    domains = [str(d).strip().lower() for d in given] if isinstance(given, list) else [domain]
    return domain in domains


def build_report(state: InstanceState, reporter_id: str, params: Params) -> Report:
    """Validate ``params`` as Mastodon does and return the (unsaved) report."""
    account_id = permitted_scalar(params, "account_id")
    target = state.account(str(account_id)) if account_id is not None else None
    if target is None or state.flags_of(str(target["id"])).suspended:
        raise NOT_FOUND
    target_id = str(target["id"])
    rule_ids = presence([str(r) for r in permitted_array(params, "rule_ids")])
    # create! evaluates its arguments (the status lookup) before assigning the enum.
    status_ids = reported_status_ids(
        state, target_id, reporter_id, permitted_array(params, "status_ids"))
    category = _category(params, rule_ids)
    comment = presence(permitted_scalar(params, "comment"))
    text = str(comment) if comment is not None else ""
    errors = _validation_errors(state, text, category, rule_ids)
    if errors:
        raise Refusal(422, {"error": "Validation failed: " + ", ".join(errors)})
    now = utc_now()
    return Report(id=state.next_report_id(), account_id=reporter_id, target_account_id=target_id,
                  status_ids=status_ids, comment=text, category=category, rule_ids=rule_ids,
                  forwarded=_forwarded(target, params), created_at=now, updated_at=now)


def report_entity(state: InstanceState, report: Report) -> JSONDict:
    """REST::ReportSerializer (mastodon/mastodon app/serializers/rest/report_serializer.rb)."""
    return {
        "id": report.id,
        "action_taken": report.action_taken_at is not None,
        "action_taken_at": iso_ms(report.action_taken_at) if report.action_taken_at else None,
        "category": report.category,
        "comment": report.comment,
        "forwarded": report.forwarded,
        "created_at": iso_ms(report.created_at),
        "status_ids": list(report.status_ids),
        "rule_ids": list(report.rule_ids) if report.rule_ids is not None else None,
        "target_account": state.account(report.target_account_id),
    }
