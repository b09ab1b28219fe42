// The audit view (filterable table, chain verification, JSONL/CSV export) and the replay
// view of one conversation's timeline.

import { enc, get, query } from "../api.js";
import { codeBlock, jsonBlock } from "../highlight.js";
import { field, formatTime, h, mount, toast } from "../dom.js";
import { VERDICT_STATE, callLook, describeSummary, runLook } from "../outcomes.js";

const KINDS = [
  "", "request", "plan", "approval.", "approval.requested", "approval.granted", "approval.rejected",
  "approval.expired", "approval.break_glass", "tool.", "tool.started", "tool.finished",
  "tool.outcome_unknown", "verify", "run.finished", "user.", "token.", "settings.changed",
  "settings.local_login", "policy.changed",
];

function toIso(local) {
  if (!local) return "";
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? "" : date.toISOString();
}

// Words from the one outcome mapping: a verdict, a call's state, a run's status.
function verdictWords(payload) {
  // Events of older engines carry only `ok`, which never said what was proved (as replay reads it).
  const verdict = payload.verdict || (payload.ok ? "not_verified" : "failed");
  return callLook(VERDICT_STATE[verdict] || verdict).words;
}

function summary(event) {
  const payload = event.payload || {};
  const kind = event.kind || payload.kind;
  if (kind === "run.finished" && payload.status) {
    const who = payload.stopped_by ? ` by ${payload.stopped_by}` : "";
    return `${runLook(payload.status).words}${who}${payload.summary ? `: ${describeSummary(payload.summary)}` : ""}`;
  }
  if (payload.text) return String(payload.text).slice(0, 160);
  if (payload.tool) {
    const parts = [payload.tool];
    if (kind === "verify" || payload.verdict || payload.ok !== undefined) parts.push(`${verdictWords(payload)}:`);
    else if (payload.status) parts.push(`→ ${callLook(payload.status).words}`);
    if (payload.exit_code !== undefined && payload.exit_code !== null) parts.push(`exit ${payload.exit_code}`);
    if (payload.summary) parts.push(String(payload.summary));
    if (payload.args) parts.push(JSON.stringify(payload.args).slice(0, 120));
    return parts.join(" ");
  }
  if (payload.summary) return String(payload.summary);
  if (Array.isArray(payload.calls)) return `${payload.calls.length} call(s): ${payload.calls.map((c) => c.tool).join(", ")}`;
  if ("reason" in payload) return payload.reason ? `reason: ${payload.reason}` : "no reason given";
  if (payload.status) return String(payload.status);
  if (payload.username) return `${payload.username}${payload.role ? ` (${payload.role})` : ""}`;
  return JSON.stringify(payload).slice(0, 160);
}

export async function renderAudit(ctx) {
  const actor = h("input", { name: "actor" });
  const kind = h("select", { name: "kind" }, KINDS.map((k) => h("option", { value: k, text: k || "(any)" })));
  const tool = h("input", { name: "tool" });
  const since = h("input", { name: "since", type: "datetime-local" });
  const until = h("input", { name: "until", type: "datetime-local" });
  const conversation = h("input", { name: "conversation_id" });
  const chain = h("p", { class: "chain", role: "status", text: "Checking the chain…" });
  const tbody = h("tbody");
  const more = h("button", { type: "button", class: "btn-quiet", text: "Load more", hidden: true });
  const exportJsonl = h("a", { class: "btn", download: true, text: "Export JSONL" });
  const exportCsv = h("a", { class: "btn", download: true, text: "Export CSV" });
  let nextAfter = null;

  const filters = () => ({
    actor: actor.value.trim(),
    kind: kind.value,
    tool: tool.value.trim(),
    conversation_id: conversation.value.trim(),
    since: toIso(since.value),
    until: toIso(until.value),
  });

  const updateExports = () => {
    const f = filters();
    exportJsonl.href = `/api/v1/audit/export${query({ format: "jsonl", since: f.since, conversation_id: f.conversation_id })}`;
    exportCsv.href = `/api/v1/audit/export${query({ format: "csv", since: f.since, conversation_id: f.conversation_id })}`;
  };

  const row = (event) =>
    h(
      "tr",
      { dataset: { kind: event.kind } },
      h("td", { text: event.seq }),
      h("td", { text: formatTime(event.at) }),
      h("td", { text: event.actor_name }),
      h("td", {}, h("code", { text: event.kind })),
      h("td", { text: (event.payload && event.payload.tool) || "" }),
      h("td", {}, event.conversation_id ? h("a", { href: `#/replay/${enc(event.conversation_id)}`, text: event.conversation_id.slice(0, 8) }) : ""),
      h("td", {}, h("details", {}, h("summary", { text: summary(event) }), jsonBlock(event.payload || {}, "Payload"), h("small", { class: "hash muted", text: `hash ${event.hash}` }))),
    );

  const load = async (append) => {
    try {
      const data = await get(`/audit${query({ ...filters(), after_seq: append ? nextAfter : "", limit: 100 })}`);
      const items = (data && data.items) || [];
      if (!append) tbody.replaceChildren();
      tbody.append(...items.map(row));
      if (!append && items.length === 0) tbody.append(h("tr", {}, h("td", { colspan: "7", class: "muted", text: "No audit events match." })));
      nextAfter = data ? data.next_after_seq : null;
      more.hidden = nextAfter === null || nextAfter === undefined;
    } catch (err) {
      toast(err.message);
    }
  };

  const form = h(
    "form",
    { class: "filters card", "aria-label": "Audit filters" },
    field("User", actor),
    field("Kind", kind),
    field("Tool", tool),
    field("Conversation id", conversation),
    field("Since", since),
    field("Until", until),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "btn-primary", text: "Filter" }), exportJsonl, exportCsv),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    updateExports();
    load(false);
  });
  more.addEventListener("click", () => load(true));
  updateExports();

  mount(
    ctx.main,
    h(
      "section",
      { class: "content wide" },
      h("h1", { text: "Audit log" }),
      chain,
      form,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "audit-table" },
          h("caption", { class: "sr-only", text: "Audit events" }),
          h("thead", {}, h("tr", {}, ["Seq", "Time", "User", "Kind", "Tool", "Conversation", "Details"].map((t) => h("th", { scope: "col", text: t })))),
          tbody,
        ),
      ),
      more,
    ),
  );
  load(false);
  try {
    const result = await get("/audit/verify");
    chain.className = `chain ${result.ok ? "chain-ok" : "chain-broken"}`;
    chain.textContent = result.ok
      ? `Chain verified: ${result.checked} events, unbroken.`
      : `Chain BROKEN at event ${result.first_broken_seq}: ${result.reason || "hash mismatch"} (${result.checked} checked).`;
  } catch (err) {
    chain.textContent = `Chain status unavailable: ${err.message}`;
  }
}

export async function renderReplay(ctx, conversationId) {
  const data = await get(`/conversations/${enc(conversationId)}/replay`);
  const timeline = (data && data.timeline) || [];
  mount(
    ctx.main,
    h(
      "section",
      { class: "content wide" },
      h("h1", { text: "Conversation replay" }),
      h("p", {}, h("a", { href: `#/c/${enc(conversationId)}`, text: "Open the conversation" })),
      h(
        "ol",
        { class: "replay" },
        timeline.map((entry) => {
          const kind = entry.kind || entry.type || "event";
          return h(
            "li",
            { class: "replay-item", dataset: { kind } },
            h("div", { class: "tool-head" }, h("code", { text: kind }), h("span", { class: "muted", text: `${formatTime(entry.at || entry.created_at)} · ${entry.actor_name || ""}` })),
            h("details", {}, h("summary", { text: summary({ kind, payload: entry.payload || entry.data || entry }) }), codeBlock(JSON.stringify(entry, null, 2), { lang: "json", label: "Timeline entry" })),
          );
        }),
      ),
    ),
  );
}
