// The card of one tool call in the chat: its state badge (outcomes.js), the command it ran,
// one progress line updated in place while it runs or is checked, its output (never
// overwritten by progress), and the verification: verdict, reason, details, next step, what
// the check proves, and a "Propose rollback" button when the check offers one; once a change
// has run, its undo (the call restoring the snapshot taken before it, with an "Undo" button)
// or why it cannot be undone. Built by chat.js for every call of the stream.

import { codeBlock, jsonBlock } from "../highlight.js";
import { formatDuration, h, mount } from "../dom.js";
import { VERDICT_STATE, callLook, statusBadge } from "../outcomes.js";

const VERDICT_MARK = { verified: "✔", failed: "✘", not_verified: "○" };

export function classBadge(classification, destructive) {
  if (classification === "read") return h("span", { class: "badge badge-read", text: "read" });
  return h(
    "span",
    { class: `badge badge-mutation${destructive ? " badge-destructive" : ""}` },
    destructive ? "destructive mutation" : "mutation",
  );
}

/** `{tool, args}` of a call as one line, e.g. `k8s_rollout_undo {"resource": "deployment/web"}`. */
export function callLine(tool, args) {
  const shown = { ...(args || {}) };
  delete shown.context;
  return `${tool} ${JSON.stringify(shown)}`;
}

/**
 * A card for one tool call; returns handles to update it as events arrive.
 * `onRollback({tool, args})` submits an offered rollback as a new call (a promise);
 * `undo.load(callId)` reads the call's undo offer, `undo.submit(callId)` submits it (null for
 * a viewer, who sees the offer without the button).
 */
export function createToolCard(call, { onRollback, undo } = {}) {
  const statusSlot = h("span", { class: "status-slot" });
  const phase = h("span", { class: "badge phase tone-blue", hidden: true });
  const durationSlot = h("span", { class: "duration muted" });
  const commandSlot = h("div", { class: "command-slot" });
  const progressLine = h("p", { class: "progress-line", role: "status", hidden: true });
  const outputSlot = h("div", { class: "output-slot" });
  const verifySlot = h("div", { class: "verify-slot", "aria-label": "Verification" });
  const undoSlot = h("div", { class: "undo-slot", "aria-label": "Undo" });
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
      phase,
      durationSlot,
    ),
    commandSlot,
    h("details", { class: "args" }, h("summary", { text: "Arguments" }), jsonBlock(call.args || {})),
    call.error ? h("p", { class: "error", text: call.error }) : null,
    progressLine,
    outputSlot,
    verifySlot,
    undoSlot,
  );
  let classification = call.classification;
  let undoAsked = false;

  /** A change that ran: show its undo with an "Undo" button, or why there is none. */
  async function offerUndo() {
    if (!undo || classification !== "mutation" || undoAsked) return;
    undoAsked = true;
    let offer;
    try {
      offer = await undo.load(call.call_id);
    } catch (err) {
      mount(undoSlot, h("p", { class: "undo-none muted", text: `Whether this can be undone is not known: ${err.message}` }));
      return;
    }
    if (!offer.undo) {
      mount(undoSlot, h("p", { class: "undo-none muted", text: `Cannot undo: ${offer.reason}` }));
      return;
    }
    const undoError = h("p", { class: "error", role: "alert", hidden: true });
    let undoButton = null;
    if (undo.submit) {
      undoButton = h("button", { type: "button", class: "btn-secondary", text: "Undo" });
      undoButton.addEventListener("click", async () => {
        undoButton.disabled = true;
        undoError.hidden = true;
        try {
          await undo.submit(call.call_id);
          undoButton.textContent = "Undo proposed: it waits for approval below";
        } catch (err) {
          undoError.textContent = `The undo could not be proposed: ${err.message}`;
          undoError.hidden = false;
          undoButton.disabled = false;
        }
      });
    }
    mount(
      undoSlot,
      h(
        "div",
        { class: "undo" },
        h("p", {}, "Undo restores the snapshot taken before this change (a new change, gated like any other): ", h("code", { text: offer.undo.tool })),
        h("details", { class: "args" }, h("summary", { text: "Undo arguments" }), jsonBlock(offer.undo.args || {})),
        undoButton ? h("div", { class: "actions" }, undoButton) : null,
        undoError,
      ),
    );
  }

  function setStatus(status) {
    el.dataset.status = status;
    el.dataset.tone = callLook(status).tone;
    mount(statusSlot, statusBadge(status));
  }
  setStatus(call.status || "planned");

  /** The call is over (or its run is): no progress line, no phase. */
  function settle() {
    progressLine.hidden = true;
    progressLine.textContent = "";
    phase.hidden = true;
  }

  return {
    el,
    setStatus,
    settle,
    started(event) {
      if (event.classification) classification = event.classification;
      setStatus("running");
      if (event.command) {
        mount(commandSlot, h("p", { class: "ran-command" }, h("span", { class: "muted", text: "ran " }), h("code", { text: event.command })));
      }
    },
    progress(text) {
      // One line per call, replaced by each report: heartbeats never pile up or touch the output.
      progressLine.hidden = false;
      progressLine.textContent = `${phase.hidden ? "running" : "checking"}: ${text}`;
    },
    finished(event) {
      setStatus(event.status);
      progressLine.hidden = true;
      progressLine.textContent = "";
      durationSlot.textContent = formatDuration(event.duration_ms);
      const exit = event.exit_code !== null && event.exit_code !== undefined && event.exit_code !== 0 ? ` (exit ${event.exit_code})` : "";
      durationSlot.textContent += exit;
      if (classification === "mutation" && event.status === "succeeded") {
        phase.textContent = "verifying…";
        phase.hidden = false;
      } else {
        offerUndo(); // a change that failed may still have changed something
      }
      const open = event.status !== "succeeded" || (event.output || "").split("\n").length <= 15;
      mount(
        outputSlot,
        h(
          "details",
          { class: "output", open },
          h("summary", { text: event.truncated ? "Output (truncated by the server)" : "Output" }),
          codeBlock(event.output || "(no output)", { label: `Output of ${call.tool}` }),
        ),
      );
    },
    verify(event) {
      const state = VERDICT_STATE[event.verdict] || "not_verified";
      const look = callLook(state);
      setStatus(state);
      settle();
      const rollback = event.rollback && event.rollback.tool ? event.rollback : null;
      const proposeError = h("p", { class: "error", role: "alert", hidden: true });
      let proposeButton = null;
      if (rollback && onRollback) {
        proposeButton = h("button", { type: "button", class: "btn-primary", text: "Propose rollback" });
        proposeButton.addEventListener("click", async () => {
          proposeButton.disabled = true;
          proposeError.hidden = true;
          try {
            await onRollback(rollback);
            proposeButton.textContent = "Rollback proposed: it waits for approval below";
          } catch (err) {
            proposeError.textContent = `The rollback could not be proposed: ${err.message}`;
            proposeError.hidden = false;
            proposeButton.disabled = false;
          }
        });
      }
      const details = (event.details || []).filter(Boolean);
      mount(
        verifySlot,
        h(
          "div",
          { class: `verify tone-box-${look.tone}`, role: "status", dataset: { verdict: event.verdict } },
          h(
            "p",
            { class: "verify-head" },
            h("span", { class: "verify-mark", "aria-hidden": "true", text: VERDICT_MARK[event.verdict] || "○" }),
            h("strong", { text: `${look.words[0].toUpperCase()}${look.words.slice(1)}: ` }),
            h("span", { class: "verify-summary", text: event.summary || "" }),
          ),
          event.proves ? h("p", { class: "verify-proves muted", text: `What this check proves: ${event.proves}` }) : null,
          details.length ? h("ul", { class: "verify-details" }, details.map((line) => h("li", {}, h("code", { text: line })))) : null,
          event.next_step ? h("p", { class: "verify-next" }, h("strong", { text: "Next step: " }), event.next_step) : null,
          rollback
            ? h(
                "div",
                { class: "rollback" },
                h("p", {}, "Offered rollback (a new change, gated like any other): ", h("code", { text: callLine(rollback.tool, rollback.args) })),
                proposeButton ? h("div", { class: "actions" }, proposeButton) : null,
                proposeError,
              )
            : null,
          // A failed check's own output is the evidence: shown open.
          event.output
            ? h("details", { open: event.verdict === "failed" }, h("summary", { text: "Check output" }), codeBlock(event.output, { label: "Verification output" }))
            : null,
        ),
      );
      offerUndo();
    },
  };
}
