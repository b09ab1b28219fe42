// Cards of the chat: a tool card per call (badge, live status, duration, collapsible
// highlighted output, verification results under it) and the approval card for a turn's
// pending mutations (exact call, context, diff preview, reason, Approve/Reject per call).

import { codeBlock, jsonBlock } from "../highlight.js";
import { field, formatDuration, formatRemaining, formatTime, h, mount, newId } from "../dom.js";

const STATUS_LABEL = {
  planned: "planned",
  invalid: "invalid",
  awaiting_approval: "awaiting approval",
  approved: "approved",
  rejected: "rejected",
  expired: "expired",
  running: "running",
  succeeded: "succeeded",
  failed: "failed",
  outcome_unknown: "outcome unknown",
  refused: "refused",
  verified: "verified",
  verification_failed: "verification failed",
  not_verified: "not verified",
};

const VERDICT_LOOK = {
  verified: { status: "verified", cls: "verify-ok", mark: "✔", label: "Verified: " },
  failed: { status: "verification_failed", cls: "verify-fail", mark: "✘", label: "Verification failed: " },
  not_verified: { status: "not_verified", cls: "verify-unknown", mark: "○", label: "Not verified: " },
};

export function statusBadge(status) {
  return h("span", { class: `badge status status-${status}`, text: STATUS_LABEL[status] || status });
}

export function classBadge(classification, destructive) {
  if (classification === "read") return h("span", { class: "badge badge-read", text: "read" });
  return h(
    "span",
    { class: `badge badge-mutation${destructive ? " badge-destructive" : ""}` },
    destructive ? "destructive mutation" : "mutation",
  );
}

/** A card for one tool call; returns handles to update it as events arrive. */
export function createToolCard(call) {
  const statusSlot = h("span", { class: "status-slot" }, statusBadge(call.status || "planned"));
  const durationSlot = h("span", { class: "duration muted" });
  const outputSlot = h("div", { class: "output-slot" });
  const progress = [];
  const verifySlot = h("ul", { class: "verify-list", "aria-label": "Verification" });
  const errorSlot = call.error ? h("p", { class: "error", text: call.error }) : null;
  const el = h(
    "article",
    { class: "tool-card", dataset: { callId: call.call_id, tool: call.tool }, "aria-label": `Tool call ${call.tool}` },
    h(
      "header",
      { class: "tool-head" },
      h("code", { class: "tool-name", text: call.tool }),
      classBadge(call.classification, call.destructive),
      call.context ? h("span", { class: "muted", text: `context ${call.context}` }) : null,
      statusSlot,
      durationSlot,
    ),
    h("details", { class: "args" }, h("summary", { text: "Arguments" }), jsonBlock(call.args || {})),
    errorSlot,
    outputSlot,
    verifySlot,
  );

  function setStatus(status) {
    el.dataset.status = status;
    mount(statusSlot, statusBadge(status));
  }
  setStatus(call.status || "planned");

  function showOutput(text, truncated, open) {
    mount(
      outputSlot,
      h(
        "details",
        { class: "output", open },
        h("summary", { text: truncated ? "Output (truncated by the server)" : "Output" }),
        codeBlock(text || "(no output)", { label: `Output of ${call.tool}` }),
      ),
    );
  }

  return {
    el,
    setStatus,
    started() {
      setStatus("running");
    },
    progress(text) {
      progress.push(text);
      showOutput(progress.join(""), false, true);
    },
    finished(event) {
      setStatus(event.status);
      durationSlot.textContent = formatDuration(event.duration_ms);
      const exit = event.exit_code !== null && event.exit_code !== undefined && event.exit_code !== 0 ? ` (exit ${event.exit_code})` : "";
      durationSlot.textContent += exit;
      showOutput(event.output, event.truncated, event.status !== "succeeded" || (event.output || "").split("\n").length <= 15);
    },
    verify(event) {
      const look = VERDICT_LOOK[event.verdict] || VERDICT_LOOK.not_verified;
      setStatus(look.status);
      verifySlot.append(
        h(
          "li",
          { class: `verify ${look.cls}`, role: "status" },
          h("span", { class: "verify-mark", "aria-hidden": "true", text: look.mark }),
          h("strong", { text: look.label }),
          event.summary,
          event.output ? h("details", {}, h("summary", { text: "Details" }), codeBlock(event.output, { label: "Verification output" })) : null,
        ),
      );
    },
  };
}

/**
 * The approval card for one approval request. `handlers.decide(approvalId, callId, approve,
 * reason)` and `handlers.decideAll(approvalId, approve, reason)` return promises.
 */
export function createApprovalCard(event, { canApprove, proposer, handlers }) {
  const items = new Map();
  const timeLeft = h("span", { class: "time-left", text: formatRemaining(event.expires_at) });
  const cardError = h("p", { class: "error", role: "alert", hidden: true });
  const showError = (message) => {
    cardError.textContent = message;
    cardError.hidden = !message;
  };

  const rows = event.calls.map((call) => {
    const reason = h("textarea", { name: "reason", rows: "2", required: false });
    const state = h("span", { class: "item-state" }, statusBadge("awaiting_approval"));
    const decidedBy = h("p", { class: "decided-by muted" });
    const approve = h("button", { type: "button", class: "btn-approve", text: "Approve" });
    const reject = h("button", { type: "button", class: "btn-reject", text: "Reject" });
    const buttons = canApprove ? h("div", { class: "actions" }, approve, reject) : null;
    const decide = async (ok) => {
      const text = reason.value.trim();
      if ((!ok || call.destructive) && !text) {
        showError(ok ? "A reason is required to approve a destructive call." : "A reason is required to reject a call.");
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
    const el = h(
      "li",
      { class: `approval-item${call.destructive ? " destructive" : ""}`, dataset: { callId: call.call_id } },
      h(
        "div",
        { class: "tool-head" },
        h("code", { class: "tool-name", text: call.tool }),
        classBadge("mutation", call.destructive),
        state,
      ),
      call.destructive ? h("p", { class: "destructive-note", text: "Destructive: this change cannot simply be undone." }) : null,
      h(
        "dl",
        { class: "facts" },
        h("dt", { text: "Context" }), h("dd", {}, h("code", { text: call.context || "(none)" })),
        h("dt", { text: "Namespace" }), h("dd", {}, h("code", { text: call.namespace || (call.args && call.args.namespace) || "(default)" })),
        h("dt", { text: "Call hash" }), h("dd", {}, h("code", { class: "hash", text: (call.call_hash || "").slice(0, 16) })),
      ),
      h("div", { class: "args-block" }, h("h4", { text: "Exact arguments" }), jsonBlock(call.args || {})),
      call.preview
        ? h("div", { class: "preview" }, h("h4", { text: "Dry-run preview" }), codeBlock(call.preview, { label: "Dry-run diff", foldLines: 60 }))
        : h("p", { class: "muted", text: "No dry-run preview for this call." }),
      canApprove
        ? field(
            call.destructive ? "Reason (required)" : "Reason (required to reject)",
            reason,
          )
        : null,
      buttons,
      decidedBy,
    );
    items.set(call.call_id, { el, state, decidedBy, buttons, reason, decided: false });
    return el;
  });

  const allReason = h("textarea", { name: "reason-all", rows: "2" });
  const allApprove = h("button", { type: "button", class: "btn-approve", text: "Approve all" });
  const allReject = h("button", { type: "button", class: "btn-reject", text: "Reject all" });
  const decideAll = async (ok) => {
    const text = allReason.value.trim();
    const needsReason = !ok || event.calls.some((c) => c.destructive);
    if (needsReason && !text) {
      showError(ok ? "A reason is required: a destructive call is among them." : "A reason is required to reject.");
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
    canApprove && event.calls.length > 1
      ? h("div", { class: "approve-all" }, field("Reason for all (one decision is recorded per call)", allReason), h("div", { class: "actions" }, allApprove, allReject))
      : null;

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
      h("p", { class: "muted" }, `Proposed by `, h("strong", { class: "proposer", text: proposer || event.proposed_by }), ` at ${formatTime(event.at)} · `, timeLeft),
      canApprove ? null : h("p", { class: "muted no-approver", text: "You can see this request but only an approver can decide it." }),
    ),
    h("ol", { class: "approval-items" }, rows),
    allBlock,
    cardError,
  );

  const pendingCount = () => [...items.values()].filter((item) => !item.decided).length;
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
    decided(decision) {
      const item = items.get(decision.call_id);
      if (!item) return;
      item.decided = true;
      mount(item.state, statusBadge(decision.decision === "approve" ? "approved" : "rejected"));
      item.decidedBy.textContent = `${decision.decision === "approve" ? "Approved" : "Rejected"} by ${decision.decided_by_name || decision.decided_by}${decision.reason ? `: ${decision.reason}` : ""}`;
      if (item.buttons) item.buttons.remove();
      const reasonField = item.reason.closest(".field");
      if (reasonField) reasonField.remove();
      finishIfDone();
    },
    expired(callIds) {
      for (const id of callIds) {
        const item = items.get(id);
        if (!item || item.decided) continue;
        item.decided = true;
        mount(item.state, statusBadge("expired"));
        if (item.buttons) item.buttons.remove();
        const reasonField = item.reason.closest(".field");
        if (reasonField) reasonField.remove();
      }
      finishIfDone();
      timeLeft.textContent = "expired";
    },
  };
}
