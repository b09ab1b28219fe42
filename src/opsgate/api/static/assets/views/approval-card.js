// The approval card of one approval request: what the approver needs before the click. Per
// call: security-relevant fields at the top, the exact command with a copy button, context,
// cluster and namespace, the arguments and the dry-run diff (long lines wrapped, nothing
// folded), a red banner and "Approve anyway" (reason required) when the dry run failed,
// "nothing will change" for a no-op; for the request: who proposed it, "you proposed this
// change", and whether this server lets a requester approve their own change (GET /policy);
// per call, what the approval policy requires and who has approved so far ("2 of 2 approvals
// from group sre-prod needed; 1 given (ada)"), kept open until the last needed approval.
// Built by chat.js for every `approval.requested` event.

import { codeBlock, jsonBlock } from "../highlight.js";
import { copyButton, field, formatRemaining, h, mount, newId, timeNode } from "../dom.js";
import { statusBadge } from "../outcomes.js";
import { securityFindings } from "../security.js";
import { classBadge } from "./tool-card.js";

function commandBlock(call) {
  if (!call.command) {
    return h("p", { class: "command-missing muted", text: "The exact command is not available for this call: the arguments below are what will run." });
  }
  const copy = copyButton(call.command, "command");
  return h(
    "div",
    { class: "command-block" },
    h("h4", { text: "Command that will run" }),
    h("div", { class: "command-row" }, h("pre", { class: "command wrap", tabindex: "0", "aria-label": "Command", text: call.command }), copy),
  );
}

function securitySummary(call) {
  const found = securityFindings(call);
  if (found.length === 0) {
    return h("p", { class: "security-none muted", text: "No security-relevant fields found (privileged, host namespaces or paths, capabilities, root, cluster-wide RBAC, wildcards, Secrets)." });
  }
  return h(
    "div",
    { class: "security-summary", role: "note", "aria-label": "Security-relevant fields" },
    h("h4", { text: `Security-relevant: ${found.length} ${found.length === 1 ? "field" : "fields"}` }),
    h(
      "ul",
      {},
      found.map((item) => h("li", {}, h("code", { text: item.field }), ` ${item.detail} (in the ${item.where})`)),
    ),
  );
}

/** Arguments: multi-line strings (manifests, patches) as their own blocks, the rest as JSON. */
function argumentsBlock(args) {
  const plain = {};
  const texts = [];
  for (const [key, value] of Object.entries(args || {})) {
    if (typeof value === "string" && value.includes("\n")) texts.push([key, value]);
    else plain[key] = value;
  }
  return h(
    "div",
    { class: "args-block" },
    h("h4", { text: "Exact arguments" }),
    jsonBlock(plain, "Arguments", { fold: false, wrap: true }),
    texts.map(([key, value]) => [h("h4", { text: key }), codeBlock(value, { label: `Argument ${key}`, fold: false, wrap: true })]),
  );
}

function previewBlock(call) {
  const state = call.preview_state || "unavailable";
  if (state === "failed") {
    return h(
      "div",
      { class: "preview-failed banner-bad", role: "alert" },
      h("strong", { text: "The dry run failed: the change would most likely fail as well." }),
      codeBlock(call.preview || "(the dry run gave no error text)", { label: "Dry-run error", fold: false, wrap: true }),
    );
  }
  if (state === "no_change") {
    return h(
      "div",
      { class: "preview-noop" },
      h("p", { class: "noop-note" }, h("strong", { text: "Nothing will change: " }), "the dry run found no difference, so approving it has no effect."),
      call.preview ? codeBlock(call.preview, { label: "Dry-run result", fold: false, wrap: true }) : null,
    );
  }
  if (state === "changes") {
    return h("div", { class: "preview" }, h("h4", { text: "Dry-run diff: what will change" }), codeBlock(call.preview || "", { label: "Dry-run diff", fold: false, wrap: true }));
  }
  return h(
    "div",
    { class: "preview-none" },
    h("p", { class: "muted", text: "No dry run: nothing shows beforehand what this call will change." }),
    call.preview ? codeBlock(call.preview, { label: "Why there is no dry run", fold: false, wrap: true }) : null,
  );
}

const APPROVE_LABEL = { failed: "Approve anyway", no_change: "Approve (changes nothing)" };
const APPROVE_CLASS = { failed: "btn-override", no_change: "btn-pointless" };

/**
 * The card. `me` is the signed-in user, `policy` the answer of GET /policy (null when it
 * could not be read); `handlers.decide(approvalId, callId, approve, reason)` and
 * `handlers.decideAll(approvalId, approve, reason)` return promises.
 */
export function createApprovalCard(event, { me, policy, canApprove, handlers }) {
  const items = new Map();
  const timeLeft = h("span", { class: "time-left", text: formatRemaining(event.expires_at) });
  const cardError = h("p", { class: "error", role: "alert", hidden: true });
  const showError = (message) => {
    cardError.textContent = message;
    cardError.hidden = !message;
  };
  // The event names the proposer by username; the approvals API by user id.
  const mine = Boolean(me && (event.proposed_by === me.username || event.proposed_by === me.id));
  const distinct = policy ? policy.require_distinct_approver : null;
  const blocked = canApprove && mine && distinct === true;
  const blockedWhy = "This server requires a different approver (require_distinct_approver is on): another approver must decide.";

  const rows = event.calls.map((call) => {
    const state = call.preview_state || "unavailable";
    const needsReason = call.destructive || state === "failed";
    const reason = h("textarea", { name: "reason", rows: "2" });
    const itemState = h("span", { class: "item-state" }, statusBadge("awaiting_approval"));
    const decidedBy = h("p", { class: "decided-by muted" });
    const why = h("p", { class: "decide-why muted", hidden: true });
    const progressLines = h("ul", { class: "policy-progress", "aria-label": "What the approval policy requires" });
    const progress = h("div", { class: "policy-block", hidden: true }, h("h4", { text: "Approval policy" }), progressLines);
    const approve = h("button", { type: "button", class: APPROVE_CLASS[state] || "btn-approve", text: APPROVE_LABEL[state] || "Approve", disabled: blocked });
    const reject = h("button", { type: "button", class: "btn-reject", text: "Reject", disabled: blocked });
    const buttons = canApprove ? h("div", { class: "actions" }, approve, reject, blocked ? h("p", { class: "blocked-note", text: blockedWhy }) : null) : null;
    const decide = async (ok) => {
      const text = reason.value.trim();
      if ((!ok || needsReason) && !text) {
        showError(
          !ok
            ? "A reason is required to reject a call."
            : state === "failed"
              ? "The dry run failed: approving anyway needs a reason (it is recorded as an override)."
              : "A reason is required to approve a destructive call.",
        );
        reason.focus();
        return;
      }
      showError("");
      approve.disabled = true;
      reject.disabled = true;
      try {
        await handlers.decide(event.approval_id, call.call_id, ok, text || null);
      } catch (err) {
        showError(err.message);
        approve.disabled = false;
        reject.disabled = false;
      }
    };
    approve.addEventListener("click", () => decide(true));
    reject.addEventListener("click", () => decide(false));
    const reasonLabel =
      state === "failed"
        ? "Reason for approving despite the failed dry run (required)"
        : call.destructive
          ? "Reason (required)"
          : "Reason (required to reject)";
    const el = h(
      "li",
      { class: `approval-item${call.destructive ? " destructive" : ""}`, dataset: { callId: call.call_id, previewState: state } },
      h("div", { class: "tool-head" }, h("code", { class: "tool-name", text: call.tool }), classBadge("mutation", call.destructive), itemState),
      progress,
      securitySummary(call),
      call.destructive ? h("p", { class: "destructive-note", text: "Destructive: this change cannot simply be undone." }) : null,
      commandBlock(call),
      h(
        "dl",
        { class: "facts" },
        h("dt", { text: "Context" }), h("dd", {}, h("code", { text: call.context || "(none)" })),
        h("dt", { text: "Cluster" }), h("dd", {}, h("code", { text: call.cluster || "(not resolved)" })),
        h("dt", { text: "Namespace" }), h("dd", {}, h("code", { text: call.namespace || (call.args && call.args.namespace) || "(default)" })),
        h("dt", { text: "Call hash" }), h("dd", {}, h("code", { class: "hash", text: (call.call_hash || "").slice(0, 16) })),
      ),
      previewBlock(call),
      argumentsBlock(call.args),
      why,
      canApprove && !blocked ? field(reasonLabel, reason) : null,
      buttons,
      decidedBy,
    );
    items.set(call.call_id, { el, state: itemState, decidedBy, why, progress, progressLines, approve, reject, buttons, reason, decided: false, override: state === "failed" });
    return el;
  });

  const allReason = h("textarea", { name: "reason-all", rows: "2" });
  const allApprove = h("button", { type: "button", class: "btn-approve", text: "Approve all" });
  const allReject = h("button", { type: "button", class: "btn-reject", text: "Reject all" });
  const decideAll = async (ok) => {
    const text = allReason.value.trim();
    const needsReason = !ok || event.calls.some((c) => c.destructive || c.preview_state === "failed");
    if (needsReason && !text) {
      showError(ok ? "A reason is required: a destructive call or a failed dry run is among them." : "A reason is required to reject.");
      allReason.focus();
      return;
    }
    showError("");
    try {
      await handlers.decideAll(event.approval_id, ok, text || null);
    } catch (err) {
      showError(err.message);
    }
  };
  allApprove.addEventListener("click", () => decideAll(true));
  allReject.addEventListener("click", () => decideAll(false));
  const allBlock =
    canApprove && !blocked && event.calls.length > 1
      ? h("div", { class: "approve-all" }, field("Reason for all (one decision is recorded per call)", allReason), h("div", { class: "actions" }, allApprove, allReject))
      : null;

  let policyNote = null;
  if (distinct === false) {
    policyNote = h("p", { class: "policy-note", text: "Self-approval is allowed on this server: the distinct-approver rule is off (OPSGATE_REQUIRE_DISTINCT_APPROVER=false)." });
  } else if (distinct === null) {
    policyNote = h("p", { class: "policy-note muted", text: "The approval policy could not be read: the server decides whether a requester may approve their own change." });
  }

  const headingId = newId("approval");
  const el = h(
    "section",
    {
      class: `approval-card${event.calls.some((c) => c.destructive) ? " destructive" : ""}`,
      "aria-labelledby": headingId,
      dataset: { approvalId: event.approval_id },
    },
    h(
      "header",
      {},
      h("h3", { id: headingId, text: event.calls.length > 1 ? `Approval needed for ${event.calls.length} changes` : "Approval needed" }),
      h("p", { class: "muted" }, "Proposed by ", h("strong", { class: "proposer", text: event.proposed_by }), " at ", timeNode(event.at), " · ", timeLeft),
      h("p", { class: "muted client", hidden: true }),
      mine ? h("p", { class: "self-note", role: "note", text: "You proposed this change." }) : null,
      policyNote,
      canApprove ? null : h("p", { class: "muted no-approver", text: "You can see this request but only an approver can decide it." }),
    ),
    h("ol", { class: "approval-items" }, rows),
    allBlock,
    cardError,
  );

  const pendingCount = () => [...items.values()].filter((item) => !item.decided).length;
  const close = (item) => {
    item.decided = true;
    if (item.buttons) item.buttons.remove();
    const reasonField = item.reason.closest(".field");
    if (reasonField) reasonField.remove();
  };
  const finishIfDone = () => {
    if (pendingCount() === 0) {
      el.classList.add("done");
      if (allBlock) allBlock.hidden = true;
      timeLeft.textContent = "decided";
    }
  };

  return {
    el,
    tick() {
      if (pendingCount() > 0) timeLeft.textContent = formatRemaining(event.expires_at);
    },
    setProposer(name) {
      const slot = el.querySelector(".proposer");
      if (slot && name) slot.textContent = name;
    },
    // The outside MCP client program that asked, as it named itself (`opsgate mcp`).
    setClient(name, version) {
      const slot = el.querySelector(".client");
      if (!slot || !name) return;
      slot.textContent = `via ${name}${version ? ` ${version}` : ""}`;
      slot.hidden = false;
    },
    // Whether the current user's role in this call's context and namespace lets them decide
    // it, and why ("approver for prod/payments", "you are viewer in prod/shop").
    setWhy(callId, mayDecide, why) {
      const item = items.get(callId);
      if (!item || item.decided || !why) return;
      item.why.textContent = mayDecide ? `You may decide this: ${why}.` : `You cannot decide this: ${why}.`;
      item.why.hidden = false;
      if (!mayDecide) {
        if (item.buttons) item.buttons.remove();
        const reasonField = item.reason.closest(".field");
        if (reasonField) reasonField.remove();
      }
    },
    // The policy's progress lines of one call (GET /approvals or an `approval.decided` event).
    setProgress(callId, lines) {
      const item = items.get(callId);
      if (!item || !lines) return;
      mount(item.progressLines, lines.map((line) => h("li", { text: line })));
      item.progress.hidden = lines.length === 0;
    },
    decided(decision) {
      const item = items.get(decision.call_id);
      if (!item) return;
      if (decision.settled === false) {
        // Counted toward a quorum: the call still waits for more approvals.
        this.setProgress(decision.call_id, decision.progress);
        item.decidedBy.textContent = `Approval by ${decision.decided_by} counted; the policy needs more before the change runs.`;
        // Another approver may still decide; the one just counted may not count twice.
        const mineNow = Boolean(me && decision.decided_by === me.username);
        item.approve.disabled = blocked || mineNow;
        item.reject.disabled = blocked;
        return;
      }
      const approved = decision.decision === "approve";
      mount(item.state, statusBadge(approved ? "approved" : "rejected"));
      const how = approved ? (item.override ? "Approved despite the failed dry run" : "Approved") : "Rejected";
      // An elicitation answer was given in the MCP client, not here: say so (lower assurance).
      const via = decision.decided_via === "elicitation" ? " via elicitation in the MCP client (lower assurance)" : "";
      item.decidedBy.textContent = `${how} by ${decision.decided_by_name || decision.decided_by}${via}${decision.reason ? `: ${decision.reason}` : ""}`;
      close(item);
      finishIfDone();
    },
    expired(callIds) {
      for (const id of callIds) {
        const item = items.get(id);
        if (!item || item.decided) continue;
        mount(item.state, statusBadge("expired"));
        close(item);
      }
      finishIfDone();
      timeLeft.textContent = "expired";
    },
  };
}
