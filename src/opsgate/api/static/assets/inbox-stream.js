// The signed-in user's approvals inbox, live: one EventSource on GET /api/v1/events/me for the
// whole page (app.js starts it after sign-in and stops it at sign-out). Each `inbox` snapshot
// sets every badge made by `inboxBadge()` (header, conversation list) to the number of changes
// waiting on this user, tells the Approvals view (`opsgate:inbox` on window), and, when the
// user allowed it, shows a browser notification per newly arrived request.

import { h } from "./dom.js";

let source = null;
let latest = null;
const badges = new Set();

function paint(badge) {
  const count = latest ? latest.waiting_on_me : 0;
  badge.textContent = String(count);
  badge.hidden = count === 0;
  badge.setAttribute("aria-label", `${count} approval${count === 1 ? "" : "s"} waiting on you`);
}

function notify(arrived) {
  if (!notificationsSupported() || Notification.permission !== "granted") return;
  for (const change of arrived) {
    const where = [change.namespace && `namespace ${change.namespace}`, change.context && `context ${change.context}`].filter(Boolean).join(", ");
    const note = new Notification(`Approval needed: ${change.tool}${change.destructive ? " (destructive)" : ""}`, {
      body: `${change.proposed_by_name} asks${where ? ` (${where})` : ""}`,
      tag: `opsgate-${change.call_id}`,
    });
    note.addEventListener("click", () => {
      window.focus();
      location.hash = "#/approvals";
    });
  }
}

/** Start following the inbox (idempotent). */
export function startInbox() {
  if (source) return;
  source = new EventSource("/api/v1/events/me", { withCredentials: true });
  source.addEventListener("inbox", (message) => {
    let data;
    try {
      data = JSON.parse(message.data);
    } catch {
      return;
    }
    latest = data;
    for (const badge of badges) {
      if (badge.isConnected) paint(badge);
      else badges.delete(badge);
    }
    window.dispatchEvent(new CustomEvent("opsgate:inbox", { detail: data }));
    if (data.new && data.new.length) notify(data.new);
  });
}

/** Stop following (sign-out); badges go back to hidden. */
export function stopInbox() {
  if (source) source.close();
  source = null;
  latest = null;
  for (const badge of badges) paint(badge);
}

/** The last snapshot (`{pending, waiting_on_me, new}`), or null before the first. */
export function inboxSnapshot() {
  return latest;
}

/** A count badge that follows the inbox; hidden while nothing waits on the user. */
export function inboxBadge() {
  const badge = h("span", { class: "inbox-count", role: "status" });
  badges.add(badge);
  paint(badge);
  return badge;
}

export function notificationsSupported() {
  return typeof window.Notification === "function";
}
