// Admin settings, the Webhooks card: add a webhook (URL, events; its signing secret shown once),
// list and remove them, and read each one's delivery log (docs/notifications.md).

import { del, enc, get, post } from "../api.js";
import { field, formatUtc, h, mount, timeNode, toast } from "../dom.js";

const EVENTS = ["approval.requested", "approval.decided", "approval.expired", "run.finished", "run.failed", "verification.failed"];

function attemptText(attempt) {
  const answer = attempt.status_code === null ? attempt.error : `answered ${attempt.status_code}`;
  return `${formatUtc(attempt.at).utc}: ${answer} (${attempt.duration_ms} ms)`;
}

function deliveriesList(deliveries) {
  if (!deliveries.length) return h("p", { class: "muted", text: "No deliveries yet." });
  return h(
    "ul",
    { class: "deliveries" },
    deliveries.map((d) =>
      h(
        "li",
        {},
        h("span", { text: `${d.event} (audit #${d.audit_seq}): ${d.state} after ${d.attempts} attempt(s)` }),
        h("ul", {}, d.attempt_log.map((a) => h("li", { text: attemptText(a) }))),
      ),
    ),
  );
}

// `tableSection` is the admin view's card builder, passed in so the cards look alike.
export function webhooksSection(tableSection) {
  const tbody = h("tbody");
  const shown = h("div", { class: "token-once", role: "status", hidden: true });
  const log = h("div", { class: "webhook-log", "aria-live": "polite" });
  const load = async () => {
    const data = await get("/webhooks");
    mount(
      tbody,
      data.items.map((webhook) => {
        const remove = h("button", { type: "button", class: "btn-reject", text: "Remove" });
        remove.addEventListener("click", async () => {
          try {
            await del(`/webhooks/${enc(webhook.id)}`);
            mount(log);
            await load();
          } catch (err) {
            toast(err.message);
          }
        });
        const show = h("button", { type: "button", text: "Deliveries" });
        show.addEventListener("click", async () => {
          try {
            const found = await get(`/webhooks/${enc(webhook.id)}/deliveries`);
            mount(log, h("h3", { text: `Deliveries to ${webhook.url}` }), deliveriesList(found.items));
          } catch (err) {
            toast(err.message);
          }
        });
        return h("tr", {}, h("td", {}, h("code", { text: webhook.id })), h("td", { text: webhook.url }), h("td", { text: webhook.events.join(", ") }), h("td", {}, timeNode(webhook.created_at)), h("td", {}, show, " ", remove));
      }),
    );
  };
  const url = h("input", { name: "url", type: "url", required: true, pattern: "https?://.+" });
  const boxes = EVENTS.map((name) => h("input", { type: "checkbox", name: "events", value: name, checked: name === "approval.requested" }));
  const events = h("fieldset", {}, h("legend", { text: "Events" }), EVENTS.map((name, i) => h("label", {}, boxes[i], ` ${name}`)));
  const form = h("form", { class: "inline-form", "aria-label": "Add a webhook" }, field("URL", url), events, h("button", { type: "submit", class: "btn-primary", text: "Add webhook" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const chosen = boxes.filter((box) => box.checked).map((box) => box.value);
      const created = await post("/webhooks", { url: url.value, events: chosen });
      mount(shown, h("p", { text: "Copy this signing secret now; it will not be shown again:" }), h("code", { class: "secret", text: created.secret }));
      shown.hidden = false;
      form.reset();
      await load();
    } catch (err) {
      toast(err.message);
    }
  });
  load().catch((err) => toast(err.message));
  return tableSection("webhooks", "Webhooks", ["Id", "URL", "Events", "Added", ""], tbody, form, shown, log);
}
