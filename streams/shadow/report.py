"""The shadow report as plain-text tables: live and candidate side by side."""

from __future__ import annotations

from collections.abc import Sequence

from streams.evaluation.report import Row, num, pct, table
from streams.evaluation.results import CategoryFigures
from streams.shadow.results import (
    CandidateIdentity,
    ComparisonFigures,
    LiveIdentity,
    ReplayFigures,
    ShadowReport,
    UsageSide,
)


def _candidate(c: CandidateIdentity) -> str:
    calibration = f", calibration {c.calibration}" if c.calibration else ""
    return (
        f"candidate {c.config}: {c.backend} {c.model} (prompt {c.prompt_version}, "
        f"threshold {c.threshold:g}{calibration})"
    )


def _live(live: LiveIdentity) -> str:
    if live.backend is None:
        return "live: no scored record of the replayed posts"
    line = (
        f"live: {live.backend} {live.model} (prompt {live.prompt_version}, "
        f"threshold {live.threshold:g})"
    )
    if len(live.configurations) > 1:
        mix = "; ".join(f"{name}: {n}" for name, n in live.configurations.items())
        line += f", {len(live.configurations)} configurations ({mix})"
    return line


def _replay(r: ReplayFigures) -> str:
    reasons = ", ".join(f"{k} {v}" for k, v in r.dead_letter_reasons.items())
    return (
        f"replayed {r.raw_topic} from {r.start}: {r.records} records over "
        f"{len(r.partitions)} partitions in {r.seconds:.1f} s, {r.llm_calls} backend calls -> "
        f"{r.shadow_topic}: {r.scored} scored, {r.deleted} deleted, "
        f"{r.dead_lettered} not scored" + (f" ({reasons})" if reasons else "")
    )


def agreement_table(c: ComparisonFigures) -> str:
    rows: list[Row] = [
        [a.category, str(a.live_flagged), str(a.candidate_flagged), str(a.both_flagged),
         pct(a.flag_agreement), num(a.mean_abs_diff, 3)]
        for a in c.agreement
    ]  # fmt: skip
    header = ["category", "live flagged", "candidate flagged", "both", "flag agreement",
              "mean |diff|"]  # fmt: skip
    return table(header, rows)


def _flips(c: ComparisonFigures) -> str:
    f = c.flips
    up = ", ".join(f.to_flagged_ids) or "-"
    down = ", ".join(f.to_unflagged_ids) or "-"
    return (
        f"flips: {f.to_flagged} posts flagged by the candidate only (e.g. {up}); "
        f"{f.to_unflagged} flagged by live only (e.g. {down})"
    )


def labelled_table(live: Sequence[CategoryFigures], candidate: Sequence[CategoryFigures]) -> str:
    rows: list[Row] = []
    for a, b in zip(live, candidate, strict=True):
        if not (a.support or a.flagged or b.flagged):
            continue  # nothing to say about a category nobody labelled or flagged
        rows.append([
            a.category, str(a.support), str(a.flagged), str(b.flagged),
            num(a.precision), num(b.precision), num(a.recall), num(b.recall),
            num(a.f1), num(b.f1), num(a.average_precision), num(b.average_precision),
        ])  # fmt: skip
    header = ["category", "support", "flagged live", "cand", "precision live", "cand",
              "recall live", "cand", "F1 live", "cand", "PR-AUC live", "cand"]  # fmt: skip
    return table(header, rows)


def _labelled(c: ComparisonFigures) -> str:
    lab = c.labelled
    heading = (
        f"against {lab.examples} training examples of these posts ({lab.examples_on_topic} on "
        "the topic); corrections are a biased sample: mostly posts someone flagged or reported"
    )
    if not lab.examples:
        return heading
    return heading + "\n" + labelled_table(lab.live, lab.candidate)


def usage_table(live: UsageSide, candidate: UsageSide) -> str:
    rows: list[Row] = [
        [name, str(u.posts), num(u.input_tokens_per_1000, 0), num(u.output_tokens_per_1000, 0),
         num(u.cost_usd_per_1000, 4), f"{u.cost_usd:.4f}"]
        for name, u in (("live", live), ("candidate", candidate))
    ]  # fmt: skip
    return table(["cost", "posts", "in tok/1k", "out tok/1k", "USD/1k", "USD"], rows)


def render(report: ShadowReport) -> str:
    c = report.comparison
    compared = (
        f"compared {c.posts} posts scored by both ({c.candidate_only} without a live score "
        f"on {report.live_topic})"
    )
    parts = [
        "\n".join([_candidate(report.candidate), _live(report.live), _replay(report.replay),
                   compared]),
        agreement_table(c),
        _flips(c),
        _labelled(c),
        usage_table(c.live_usage, c.candidate_usage),
    ]  # fmt: skip
    if report.notes:
        parts.append("\n".join(f"note: {n}" for n in report.notes))
    return "\n\n".join(parts) + "\n"
