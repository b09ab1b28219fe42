// The audit view (filterable table, chain verification, JSONL/CSV export) and the replay
// view of one conversation's timeline. `#/audit?run_id=…&focus=<seq>` (from a run's timeline)
// opens filtered with that event marked; every row of a run links back to its timeline.

import { enc, get, query } from "../api.js";
import { codeBlock, jsonBlock } from "../highlight.js";
import { copyButton, field, formatUtc, h, mount, timeNode, toast } from "../dom.js";
import { VERDICT_STATE, callLook, describeSummary, runLook } from "../outcomes.js";

const KINDS = [
  "", "request", "plan", "model.turn", "approval.", "approval.requested", "approval.granted",
  "approval.rejected", "approval.refused", "approval.expired", "approval.break_glass", "tool.",
  "tool.started", "tool.finished", "tool.outcome_unknown", "verify", "run.finished", "user.",
  "token.", "settings.changed", "settings.local_login", "policy.changed", "webhook.",
  "user.slack_linked", "alert.", "alert.investigation_opened", "alert.deduplicated",
  "alert.rate_limited", "alert.resolved",
];

const OUTCOMES = [
  "", "requested", "approved", "counted", "rejected", "expired", "refused", "succeeded", "failed",
  "unknown", "verified", "not_verified", "completed", "completed_with_failures", "stopped",
];

// The filters a link may preset (`#/audit?tool=k8s_delete`), each the API's parameter name.
const LINKED = ["actor", "kind", "tool", "object", "outcome", "conversation_id", "run_id"];

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

function timeCell(value) {
  return h("td", {}, timeNode(value));
}

function outcomeCell(outcome) {
  if (!outcome) return h("td");
  const look = ["completed", "completed_with_failures", "stopped"].includes(outcome) ? runLook(outcome) : callLook(outcome);
  return h("td", {}, h("span", { class: `badge status tone-${look.tone}`, dataset: { outcome }, text: outcome.replaceAll("_", " ") }));
}

export async function renderAudit(ctx, params = new URLSearchParams()) {
  const actor = h("input", { name: "actor" });
  const kind = h("select", { name: "kind" }, KINDS.map((k) => h("option", { value: k, text: k || "(any)" })));
  const tool = h("input", { name: "tool" });
  const object = h("input", { name: "object", placeholder: "deployment/web" });
  const outcome = h("select", { name: "outcome" }, OUTCOMES.map((o) => h("option", { value: o, text: o ? o.replaceAll("_", " ") : "(any)" })));
  const since = h("input", { name: "since", type: "datetime-local" });
  const until = h("input", { name: "until", type: "datetime-local" });
  const conversation = h("input", { name: "conversation_id" });
  const run = h("input", { name: "run_id" });
  const hideLogins = h("input", { type: "checkbox", name: "hide_logins" });
  const inputs = { actor, kind, tool, object, outcome, conversation_id: conversation, run_id: run };
  for (const name of LINKED) if (params.get(name)) inputs[name].value = params.get(name);
  const focus = params.get("focus") ? Number(params.get("focus")) : null;
  const chain = h("p", { class: "chain", role: "status", text: "Checking the chain…" });
  const tbody = h("tbody");
  const more = h("button", { type: "button", class: "btn-quiet", text: "Load more", hidden: true });
  const exportJsonl = h("a", { class: "btn", download: true, text: "Export JSONL" });
  const exportCsv = h("a", { class: "btn", download: true, text: "Export CSV" });
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  let nextAfter = null;

  const filters = () => ({
    actor: actor.value.trim(),
    kind: kind.value,
    tool: tool.value.trim(),
    object: object.value.trim(),
    outcome: outcome.value,
    conversation_id: conversation.value.trim(),
    run_id: run.value.trim(),
    hide_logins: hideLogins.checked ? "true" : "",
    since: toIso(since.value),
    until: toIso(until.value),
  });

  const updateExports = () => {
    const f = filters();
    exportJsonl.href = `/api/v1/audit/export${query({ format: "jsonl", since: f.since, conversation_id: f.conversation_id })}`;
    exportCsv.href = `/api/v1/audit/export${query({ format: "csv", since: f.since, conversation_id: f.conversation_id })}`;
  };

  const conversationCell = (event) => {
    if (!event.conversation_id) return h("td");
    return h(
      "td",
      {},
      h("a", { href: `#/c/${enc(event.conversation_id)}`, text: event.conversation_title || event.conversation_id }),
      event.run_id ? [h("br"), h("a", { class: "open-run", href: `#/runs/${enc(event.run_id)}?focus=${event.seq}`, text: "open run" })] : null,
    );
  };

  // The ids a person pastes into the CLI (`opsgate audit replay`, `approvals show`, `undo`).
  const idsLine = (event) => {
    const ids = [["conversation", event.conversation_id], ["run", event.run_id], ["call", event.call_id]].filter(([, id]) => id);
    if (ids.length === 0) return null;
    return h("p", { class: "audit-ids muted" }, ...ids.flatMap(([what, id]) => [`${what} `, h("code", { text: id }), " ", copyButton(id, `${what} id`), " "]));
  };

  const row = (event) => {
    const facts = event.facts || {};
    return h(
      "tr",
      { class: event.seq === focus ? "focused" : "", dataset: { kind: event.kind, seq: event.seq } },
      h("td", { text: event.seq }),
      timeCell(event.at),
      h("td", { text: event.actor_name }),
      h("td", {}, h("code", { text: event.kind })),
      h("td", { class: "tool", text: facts.tool || event.tool || "" }),
      h("td", { class: "object", text: facts.object || "" }),
      h("td", { text: facts.namespace || "" }),
      h("td", { text: facts.context || "" }),
      outcomeCell(facts.outcome),
      conversationCell(event),
      h("td", {}, h("details", {}, h("summary", { text: summary(event) }), jsonBlock(event.payload || {}, "Payload"), idsLine(event), h("small", { class: "hash muted" }, `hash ${event.hash} `, copyButton(event.hash, "event hash")))),
    );
  };

  const load = async (append) => {
    try {
      const data = await get(`/audit${query({ ...filters(), after_seq: append ? nextAfter : "", limit: 100 })}`);
      const items = (data && data.items) || [];
      if (!append) tbody.replaceChildren();
      tbody.append(...items.map(row));
      if (!append && items.length === 0) tbody.append(h("tr", {}, h("td", { colspan: "11", class: "muted", text: "No audit events match." })));
      nextAfter = data ? data.next_after_seq : null;
      more.hidden = nextAfter === null || nextAfter === undefined;
      const marked = !append && focus !== null ? tbody.querySelector("tr.focused") : null;
      if (marked) marked.scrollIntoView({ block: "center" });
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
    field("Object", object),
    field("Outcome", outcome),
    field("Conversation id", conversation),
    field("Run id", run),
    field("Since", since),
    field("Until", until),
    h("label", { class: "check" }, hideLogins, " Hide logins"),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "btn-primary", text: "Filter" }), exportJsonl, exportCsv),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    updateExports();
    load(false);
  });
  hideLogins.addEventListener("change", () => load(false));
  more.addEventListener("click", () => load(true));
  updateExports();

  mount(
    ctx.main,
    h(
      "section",
      { class: "content wide" },
      h("h1", { text: "Audit log" }),
      h("p", { class: "muted zone-note", text: `Times are UTC (ISO 8601); hover one for your time (${zone}).` }),
      chain,
      form,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "audit-table" },
          h("caption", { class: "sr-only", text: "Audit events" }),
          h("thead", {}, h("tr", {}, ["Seq", "Time (UTC)", "User", "Kind", "Tool", "Object", "Namespace", "Context", "Outcome", "Conversation", "Details"].map((t) => h("th", { scope: "col", text: t })))),
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
            h(
              "div",
              { class: "tool-head" },
              h("code", { text: kind }),
              h("span", { class: "muted", text: `${formatUtc(entry.at || entry.created_at).utc} · ${entry.actor_name || ""}` }),
              entry.run_id ? h("a", { class: "open-run", href: `#/runs/${enc(entry.run_id)}?focus=${entry.seq}`, text: "open run" }) : null,
            ),
            h("details", {}, h("summary", { text: summary({ kind, payload: entry.payload || entry.data || entry }) }), codeBlock(JSON.stringify(entry, null, 2), { lang: "json", label: "Timeline entry" })),
          );
        }),
      ),
    ),
  );
}
