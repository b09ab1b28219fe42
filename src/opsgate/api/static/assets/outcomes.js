// The one mapping from outcome states to words and colours (docs/outcomes.md), used by every
// badge, card and status line of the Command Center: call states, run statuses, verdicts, and
// the summary line of a finished run (the same words as `RunSummary.describe()` on the
// server, so the UI and the CLI say the same thing).

import { h } from "./dom.js";

/** Call states: words and tone (the tone names a colour class, `tone-<tone>`). */
export const CALL_STATES = {
  planned: { words: "planned", tone: "grey" },
  invalid: { words: "invalid", tone: "red" },
  awaiting_approval: { words: "awaiting approval", tone: "amber" },
  approved: { words: "approved", tone: "green-outline" },
  rejected: { words: "rejected", tone: "grey" },
  expired: { words: "expired", tone: "grey" },
  running: { words: "running", tone: "blue" },
  succeeded: { words: "succeeded", tone: "green" },
  failed: { words: "failed", tone: "red" },
  outcome_unknown: { words: "outcome unknown", tone: "red" },
  refused: { words: "refused", tone: "red" },
  verified: { words: "verified", tone: "green" },
  verification_failed: { words: "verification failed", tone: "red" },
  not_verified: { words: "not verified", tone: "amber" },
};

/** Run statuses: words and tone. */
export const RUN_STATUSES = {
  running: { words: "running", tone: "blue" },
  awaiting_approval: { words: "waiting for approval", tone: "amber" },
  completed: { words: "completed", tone: "green" },
  completed_with_failures: { words: "completed with failures", tone: "red" },
  rejected: { words: "rejected: nothing ran", tone: "grey" },
  expired: { words: "expired: nothing ran", tone: "grey" },
  failed: { words: "failed", tone: "red" },
  stopped: { words: "stopped", tone: "grey" },
};

/** A verification's verdict (the `verify` event) as the call state it leaves behind. */
export const VERDICT_STATE = {
  verified: "verified",
  failed: "verification_failed",
  not_verified: "not_verified",
};

// Anything the server sends that this page does not know yet is shown as it is, in grey:
// never in a colour that claims success.
const unknown = (status) => ({ words: String(status || "unknown").replaceAll("_", " "), tone: "grey" });

export function callLook(status) {
  return CALL_STATES[status] || unknown(status);
}

export function runLook(status) {
  return RUN_STATUSES[status] || unknown(status);
}

/** The badge of a call state. */
export function statusBadge(status) {
  const look = callLook(status);
  return h("span", { class: `badge status tone-${look.tone}`, dataset: { status }, text: look.words });
}

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/**
 * The parts of a run's summary line, each with the tone of what it counts, e.g.
 * [["1 change run", null], [": ", null], ["1 verification failed", "red"], ...]; joined, the
 * text is exactly `RunSummary.describe()`.
 */
export function summaryParts(summary) {
  const s = summary || {};
  const groups = [];
  if (s.changes_run) {
    const checks = [
      [s.verified, "verified", "green"],
      [s.not_verified, "not verified", "amber"],
      [s.verification_failed, "verification failed", "red"],
    ].filter(([n]) => n);
    const group = [[`${plural(s.changes_run, "change", "changes")} run`, null]];
    checks.forEach(([n, word, tone], i) => group.push([i === 0 ? ": " : ", ", null], [`${n} ${word}`, tone]));
    groups.push(group);
  }
  for (const [n, word, tone] of [
    [s.rejected, "rejected", "grey"],
    [s.expired, "expired", "grey"],
    [s.failed, "failed", "red"],
    [s.invalid, "invalid", "red"],
  ]) {
    if (n) groups.push([[`${plural(n, "call", "calls")} ${word}`, tone]]);
  }
  if (s.reads) groups.push([[plural(s.reads, "read", "reads"), null]]);
  if (groups.length === 0) return [["nothing was run", null]];
  return groups.flatMap((group, i) => (i === 0 ? group : [["; ", null], ...group]));
}

/** The summary line as plain text (what `RunSummary.describe()` says). */
export function describeSummary(summary) {
  return summaryParts(summary).map(([text]) => text).join("");
}

/** Nodes of the summary line, counts in their own colours. */
export function summaryNodes(summary) {
  return summaryParts(summary).map(([text, tone]) => (tone ? h("span", { class: `tone-${tone}`, text }) : text));
}
