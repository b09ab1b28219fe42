// The run view (`#/runs/<id>`): one run drawn as a timeline of bars on a shared time axis,
// from `GET /runs/{id}/timeline` (built from the audit log alone). Each step opens to its
// facts (who, why, rules, the diff and command an approver saw, exit code, output size and
// hash, verdict and evidence) and links to its audit rows; the audit view links back here
// with `?focus=<seq>`, which opens the step that event belongs to.

import { enc, get } from "../api.js";
import { codeBlock, jsonBlock } from "../highlight.js";
import { formatDuration, formatUtc, h, mount } from "../dom.js";
import { callLook, runLook } from "../outcomes.js";

const KIND_WORDS = {
  request: "Request",
  model_turn: "Model turn",
  call: "Call",
  approval: "Approval",
  execution: "Execution",
  verification: "Verification",
  answer: "Answer",
};

// Tones of the outcomes a step can end in that are not call states.
const STEP_TONES = { requested: "amber", counted: "amber", unknown: "red", planned: "grey" };

function outcomeBadge(outcome) {
  if (!outcome) return null;
  const run = ["completed", "completed_with_failures", "stopped"].includes(outcome);
  const look = run ? runLook(outcome) : callLook(outcome === "failed" ? "failed" : outcome);
  const tone = STEP_TONES[outcome] || look.tone;
  return h("span", { class: `badge status tone-${tone}`, dataset: { outcome }, text: look.words });
}

function timeText(value) {
  const shown = formatUtc(value);
  return h("time", { datetime: value, title: shown.local, text: shown.utc });
}

function fact(label, value) {
  if (value === null || value === undefined || value === "" || (Array.isArray(value) && value.length === 0)) return [];
  const shown = Array.isArray(value) ? value.join(", ") : value;
  return [h("dt", { text: label }), h("dd", {}, shown instanceof Node ? shown : h("code", { text: String(shown) }))];
}

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

// What the approver saw, and whether it is the text their decision named by its hash: checked
// on the server (`preview_matches`) and again here, in the viewer's own browser.
function previewBlock(step) {
  if (step.preview === null || step.preview === undefined) return null;
  const check = h("p", { class: "preview-check muted", role: "status", text: "Checking the preview against the approval's hash…" });
  const says = (ok, text) => {
    check.className = `preview-check ${ok ? "tone-green" : "tone-red"}`;
    check.dataset.matches = String(ok);
    check.textContent = text;
  };
  if (step.preview_matches === false) says(false, "The stored preview does NOT match the hash in the decision.");
  else if (!window.crypto || !crypto.subtle) check.textContent = "Cannot hash in this browser (not a secure context).";
  else {
    sha256Hex(step.preview).then((hex) => {
      if (hex !== step.preview_sha256) says(false, `The stored preview hashes to ${hex}, not ${step.preview_sha256}.`);
      else if (step.preview_matches === true) says(true, `Preview matches the hash in the decision (sha256 ${hex}), checked by the server and this browser.`);
      else check.textContent = `Preview hashes to ${hex}; no decision named a hash to check it against.`;
    });
  }
  return h(
    "div",
    { class: "preview" },
    h("h4", { text: "The diff the approver saw" }),
    codeBlock(step.preview, { label: "Approved preview", fold: false, wrap: true }),
    check,
  );
}

function stepDetails(step, runId) {
  const seqs = step.audit_seqs || [];
  const links = seqs.length
    ? h(
        "p",
        { class: "step-links" },
        h("a", { class: "view-in-audit", href: `#/audit?run_id=${enc(runId)}&focus=${seqs[0]}`, text: "View in audit" }),
        h("span", { class: "muted", text: ` (events ${seqs.join(", ")})` }),
      )
    : null;
  return h(
    "div",
    { class: "step-body" },
    step.text ? h("p", { class: "step-text", text: step.text }) : null,
    h(
      "dl",
      { class: "facts" },
      fact("Started", timeText(step.started_at)),
      fact("Ended", timeText(step.ended_at)),
      fact("Duration", formatDuration(step.duration_ms)),
      fact(
        step.kind === "approval" ? "Decided by" : step.kind === "execution" ? "Acting as" : "By",
        step.actor,
      ),
      fact("Tool", step.tool),
      fact("Object", step.object),
      fact("Kind", step.classification === "read" ? "read" : step.classification === "mutation" ? "change" : null),
      fact("Policy rules", step.rule_ids),
      fact("Command", step.command),
      fact("Exit code", step.exit_code),
      fact("Output size", step.output_size === null || step.output_size === undefined ? null : `${step.output_size} bytes${step.truncated ? " (truncated)" : ""}`),
      fact("Output sha256", step.output_sha256),
      fact("Preview sha256", step.preview_sha256),
    ),
    step.args ? jsonBlock(step.args, "Arguments") : null,
    previewBlock(step),
    step.evidence && step.evidence.length ? h("ul", { class: "evidence" }, step.evidence.map((line) => h("li", { text: line }))) : null,
    links,
  );
}

function stepRow(step, runId, t0, total, focus) {
  const bar = h("span", { class: `bar bar-${step.kind}` });
  const start = Date.parse(step.started_at) - t0;
  bar.style.left = `${total ? (100 * start) / total : 0}%`;
  bar.style.width = `max(${total ? (100 * step.duration_ms) / total : 0}%, 3px)`;
  const open = focus !== null && (step.audit_seqs || []).includes(focus);
  const row = h(
    "li",
    { class: `timeline-step${step.parent ? " child" : ""}${open ? " focused" : ""}`, id: `step-${step.id}`, dataset: { kind: step.kind, step: step.id, outcome: step.outcome || "" } },
    h(
      "details",
      { open },
      h(
        "summary",
        {},
        h("span", { class: "step-label" }, h("strong", { text: KIND_WORDS[step.kind] || step.kind }), " ", h("span", { class: "step-title", text: step.title === step.kind ? "" : step.title }), " ", outcomeBadge(step.outcome)),
        h("span", { class: "track", "aria-hidden": "true" }, bar),
        h("span", { class: "step-duration", text: formatDuration(step.duration_ms) }),
      ),
      stepDetails(step, runId),
    ),
  );
  return row;
}

export async function renderTimeline(ctx, runId, params) {
  const data = await get(`/runs/${enc(runId)}/timeline`);
  const steps = data.steps || [];
  const t0 = data.started_at ? Date.parse(data.started_at) : 0;
  const total = data.duration_ms || 0;
  const focus = params.get("focus") ? Number(params.get("focus")) : null;
  const list = h("ol", { class: "timeline", "aria-label": "Run timeline" }, steps.map((step) => stepRow(step, runId, t0, total, focus)));
  mount(
    ctx.main,
    h(
      "section",
      { class: "content wide" },
      h("h1", {}, "Run ", h("code", { text: runId })),
      h(
        "p",
        { class: "run-head" },
        data.conversation_id ? h("a", { href: `#/c/${enc(data.conversation_id)}`, text: data.conversation_title || data.conversation_id }) : null,
        " · ",
        data.status ? h("span", { class: `run-status tone-${runLook(data.status).tone}`, text: runLook(data.status).words }) : h("span", { class: "run-status tone-blue", text: "still running" }),
        " · ",
        h("span", { class: "run-duration", text: `${formatDuration(total)} in all` }),
        data.started_at ? [" · started ", timeText(data.started_at)] : null,
        " · ",
        h("a", { href: `#/audit?run_id=${enc(runId)}`, text: "All of it in the audit" }),
      ),
      steps.length ? list : h("p", { class: "muted", text: "No audit events for this run yet." }),
    ),
  );
  const focused = list.querySelector(".focused");
  if (focused) focused.scrollIntoView({ block: "center" });
}
