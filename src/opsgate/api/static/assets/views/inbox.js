// The Approvals view (`#/approvals`): every pending change the signed-in user may decide, across
// conversations (GET /inbox), with tool and object, namespace, context, proposer, age, time
// left, destructive marking and what the approval policy requires; filters (destructive,
// expiring soon, proposed by me, waiting on me); each row opens the same approval card the
// chat shows, with the diff, to decide there. Reloads on every `opsgate:inbox` snapshot of the
// user stream (inbox-stream.js) and offers browser notifications (asked once, on a click).

import { enc, get, post, query } from "../api.js";
import { field, formatRemaining, h, mount, toast } from "../dom.js";
import { notificationsSupported } from "../inbox-stream.js";
import { holdsAnywhere } from "../roles.js";
import { createApprovalCard } from "./approval-card.js";

const FILTERS = [
  ["destructive", "Destructive"],
  ["expiring_soon", "Expiring soon (under 5 min)"],
  ["proposed_by_me", "Proposed by me"],
  ["waiting_on_me", "Waiting on me"],
];

/** The object a call acts on, as kubectl, helm or Jenkins would name it (cli/cards.target_of). */
export function objectOf(tool, args) {
  const a = args || {};
  const text = (key) => (typeof a[key] === "string" && a[key] ? a[key] : null);
  const resource = text("resource");
  if (resource) return text("name") && !resource.includes("/") ? `${resource}/${a.name}` : resource;
  for (const key of ["release", "job", "node", "pod"]) {
    if (text(key)) return `${key}/${a[key]}`;
  }
  if (text("name")) return tool.startsWith("argo_") ? `rollout/${a.name}` : a.name;
  if (text("chart")) return `chart ${a.chart}`;
  if (text("manifest")) return "a manifest";
  return "(no object named)";
}

function age(createdAt) {
  const seconds = Math.max(0, Math.round((Date.now() - new Date(createdAt).getTime()) / 1000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

// The card takes an `approval.requested` event; the approvals API describes the same request.
function requestedEvent(approval) {
  return {
    approval_id: approval.id,
    proposed_by: approval.proposed_by_name,
    at: approval.created_at,
    expires_at: approval.expires_at,
    calls: approval.items,
  };
}

function notificationControl() {
  if (!notificationsSupported()) return h("p", { class: "muted", text: "This browser cannot show notifications." });
  const state = h("span", { class: "muted", role: "status" });
  const button = h("button", { type: "button", class: "btn-quiet", text: "Notify me of new requests" });
  const show = () => {
    const permission = Notification.permission;
    button.hidden = permission !== "default";
    state.textContent =
      permission === "granted"
        ? "Browser notifications are on for new requests."
        : permission === "denied"
          ? "Browser notifications are blocked for this site (the browser's site settings can allow them)."
          : "";
  };
  // Asked only from this click: browsers refuse (and may block) a request without a gesture.
  button.addEventListener("click", async () => {
    try {
      await Notification.requestPermission();
    } catch (err) {
      toast(err.message);
    }
    show();
  });
  show();
  return h("div", { class: "notify-control" }, button, state);
}

export async function renderInbox(ctx) {
  const me = ctx.session.me;
  const canApprove = holdsAnywhere(me, "approver");
  const policy = await get("/policy").catch(() => null);
  const checks = Object.fromEntries(FILTERS.map(([name]) => [name, h("input", { type: "checkbox", name })]));
  const summary = h("p", { class: "inbox-summary", role: "status" });
  const tbody = h("tbody");
  const open = new Map(); // approval id -> {card, row}: kept across reloads, so a typed reason stays
  const timers = [];

  const handlers = {
    decide: async (approvalId, callId, approve, reason) => {
      await post(`/approvals/${enc(approvalId)}/decision`, { call_id: callId, approve, reason });
      toast(approve ? "Approval recorded." : "Rejection recorded.", "ok");
      await load();
    },
    decideAll: async (approvalId, approve, reason) => {
      await post(`/approvals/${enc(approvalId)}/decide-all`, { approve, reason });
      toast(approve ? "Approvals recorded." : "Rejections recorded.", "ok");
      await load();
    },
  };

  const openCard = async (approvalId, slot) => {
    let entry = open.get(approvalId);
    if (!entry) {
      const approval = await get(`/approvals/${enc(approvalId)}`);
      const card = createApprovalCard(requestedEvent(approval), { me, policy, canApprove, handlers });
      if (approval.client_name) card.setClient(approval.client_name, approval.client_version);
      for (const item of approval.items) {
        card.setProgress(item.call_id, item.progress || []);
        if (item.decision) card.decided(item.decision);
        else if (item.decide_why) card.setWhy(item.call_id, item.may_decide, item.decide_why);
      }
      entry = { card };
      open.set(approvalId, entry);
    }
    mount(slot, entry.card.el);
  };

  const row = (item) => {
    const detail = h("td", { colspan: "9", class: "inbox-card" });
    const detailRow = h("tr", { class: "inbox-detail", hidden: true }, detail);
    const toggle = h("button", { type: "button", class: "btn-quiet", "aria-expanded": "false", text: "Show card" });
    const setOpen = async (wanted) => {
      toggle.setAttribute("aria-expanded", String(wanted));
      toggle.textContent = wanted ? "Hide card" : "Show card";
      detailRow.hidden = !wanted;
      if (!wanted) {
        open.delete(item.approval_id);
        return;
      }
      try {
        await openCard(item.approval_id, detail);
      } catch (err) {
        mount(detail, h("p", { class: "error", role: "alert", text: err.message }));
      }
    };
    toggle.addEventListener("click", () => setOpen(toggle.getAttribute("aria-expanded") !== "true"));
    const left = h("td", { class: "time-left", dataset: { expiresAt: item.expires_at } }, formatRemaining(item.expires_at));
    const marks = [
      item.destructive ? h("span", { class: "badge tone-red", text: "destructive" }) : null,
      item.proposed_by_me ? h("span", { class: "badge tone-amber", text: "yours" }) : null,
      item.waiting_on_me ? h("span", { class: "badge tone-blue", text: "waiting on you" }) : h("span", { class: "muted", text: "not waiting on you" }),
      item.decide_why ? h("small", { class: "muted decide-why", text: ` (${item.decide_why})` }) : null,
    ];
    const main = h(
      "tr",
      { class: `inbox-row${item.destructive ? " destructive" : ""}`, dataset: { approvalId: item.approval_id, callId: item.call_id } },
      h(
        "td",
        {},
        h("code", { class: "tool-name", text: item.tool }),
        " ",
        h("span", { class: "object", text: objectOf(item.tool, item.args) }),
        h("br"),
        h("a", { class: "muted", href: `#/c/${enc(item.conversation_id)}`, text: item.conversation_title || "conversation" }),
      ),
      h("td", {}, h("code", { text: item.namespace || "(none)" })),
      h("td", {}, h("code", { text: item.context || "(default)" })),
      h("td", { class: "proposer", text: item.proposed_by_name }),
      h("td", { class: "age", dataset: { createdAt: item.created_at } }, age(item.created_at)),
      left,
      h("td", {}, item.progress.length ? h("ul", { class: "policy-progress" }, item.progress.map((line) => h("li", { text: line }))) : h("span", { class: "muted", text: "one approval" })),
      h("td", { class: "marks" }, marks),
      h("td", {}, toggle),
    );
    if (open.has(item.approval_id)) setOpen(true);
    return [main, detailRow];
  };

  let loading = null;
  const load = async () => {
    // One reload at a time: a burst of snapshots costs one request more, not one each.
    if (loading) return loading.then(load);
    const params = Object.fromEntries(FILTERS.filter(([name]) => checks[name].checked).map(([name]) => [name, "true"]));
    loading = get(`/inbox${query(params)}`)
      .then((data) => {
        const items = data.items || [];
        const shown = new Set(items.map((item) => item.approval_id));
        for (const id of open.keys()) if (!shown.has(id)) open.delete(id);
        summary.textContent = `${data.pending} pending change${data.pending === 1 ? "" : "s"} you may decide · ${data.waiting_on_me} waiting on you${items.length !== data.pending ? ` · ${items.length} shown` : ""}`;
        mount(tbody, items.length ? items.map(row) : h("tr", {}, h("td", { colspan: "9", class: "muted", text: data.pending ? "No pending change matches the filters." : "Nothing waits for a decision." })));
      })
      .catch((err) => toast(err.message))
      .finally(() => {
        loading = null;
      });
    return loading;
  };

  for (const [name] of FILTERS) checks[name].addEventListener("change", load);
  const onSnapshot = () => load();
  window.addEventListener("opsgate:inbox", onSnapshot);
  timers.push(
    setInterval(() => {
      for (const cell of tbody.querySelectorAll("td.time-left")) cell.textContent = formatRemaining(cell.dataset.expiresAt);
      for (const cell of tbody.querySelectorAll("td.age")) cell.textContent = age(cell.dataset.createdAt);
      for (const { card } of open.values()) card.tick();
    }, 1000),
  );

  mount(
    ctx.main,
    h(
      "section",
      { class: "content wide", "aria-labelledby": "inbox-title" },
      h("h1", { id: "inbox-title", text: "Approvals" }),
      canApprove ? null : h("p", { class: "muted", text: "Only approvers and admins (globally or through a grant) decide changes; your inbox stays empty." }),
      summary,
      h("fieldset", { class: "filters inbox-filters" }, h("legend", { text: "Show only" }), FILTERS.map(([name, label]) => field(label, checks[name]))),
      notificationControl(),
      h(
        "table",
        { class: "inbox-table", "aria-label": "Pending changes you may decide" },
        h("thead", {}, h("tr", {}, ["Change", "Namespace", "Context", "Proposer", "Age", "Time left", "Policy", "Marks", ""].map((name) => h("th", { scope: "col", text: name })))),
        tbody,
      ),
    ),
  );
  await load();
  return () => {
    window.removeEventListener("opsgate:inbox", onSnapshot);
    for (const timer of timers) clearInterval(timer);
  };
}
