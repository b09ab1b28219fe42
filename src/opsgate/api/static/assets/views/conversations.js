// Conversations: the searchable list (also the sidebar of the chat, with the link to the
// Approvals inbox and its live count) and the form that starts a new conversation on a
// chosen kubeconfig context.

import { enc, get, post, query } from "../api.js";
import { field, h, mount, timeNode, toast } from "../dom.js";
import { inboxBadge } from "../inbox-stream.js";
import { holdsAnywhere } from "../roles.js";

/** The sidebar: a search box and the list of conversations, `activeId` highlighted. */
export function conversationList(ctx, activeId = null) {
  const search = h("input", { type: "search", name: "query", placeholder: "Search titles" });
  const list = h("ul", { class: "conv-list", "aria-label": "Conversations" });
  let timer = null;
  async function load() {
    try {
      const data = await get(`/conversations${query({ query: search.value.trim(), limit: 50 })}`);
      const items = (data && data.items) || [];
      mount(
        list,
        items.length === 0
          ? h("li", { class: "muted", text: search.value ? "No conversation matches." : "No conversations yet." })
          : items.map((item) =>
              h(
                "li",
                {},
                h(
                  "a",
                  { href: `#/c/${enc(item.id)}`, "aria-current": item.id === activeId ? "page" : null },
                  h("span", { class: "conv-title", text: item.title || "Untitled" }),
                  h("small", { class: "muted" }, `${(item.contexts || []).join(", ")} · `, timeNode(item.updated_at)),
                ),
              ),
            ),
      );
    } catch (err) {
      mount(list, h("li", { class: "error", text: err.message }));
    }
  }
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(load, 250);
  });
  load();
  return h(
    "nav",
    { class: "sidebar", "aria-label": "Conversation list" },
    h(
      "div",
      { class: "sidebar-head" },
      h("a", { class: "btn-primary", href: "#/", text: "New conversation" }),
      h("a", { class: "inbox-link", href: "#/approvals" }, "Approvals ", inboxBadge()),
    ),
    field("Search conversations", search),
    list,
  );
}

function newConversationForm(ctx) {
  const title = h("input", { name: "title", placeholder: "e.g. Why is checkout failing?" });
  const contextSelect = h("select", { name: "context", required: true });
  const namespace = h("input", { name: "namespace", placeholder: "default" });
  const canOperate = holdsAnywhere(ctx.session.me, "operator");
  const submit = h("button", { type: "submit", class: "btn-primary", text: "Start conversation", disabled: !canOperate });
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "new-title" },
    h("h1", { id: "new-title", text: "New conversation" }),
    field("Title", title),
    field("Kubeconfig context", contextSelect, "The cluster this conversation may use; every call runs against it."),
    field("Namespace", namespace, "Optional default namespace."),
    canOperate ? null : h("p", { class: "muted", text: "Viewers can read conversations but not start them." }),
    submit,
  );
  get("/contexts")
    .then((data) => {
      const contexts = (data && data.contexts) || [];
      mount(contextSelect, contexts.map((name) => h("option", { value: name, text: name, selected: name === data.default })));
    })
    .catch((err) => toast(err.message));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const body = { context: contextSelect.value };
      if (title.value.trim()) body.title = title.value.trim();
      if (namespace.value.trim()) body.namespace = namespace.value.trim();
      const created = await post("/conversations", body);
      ctx.navigate(`#/c/${enc(created.id)}`);
    } catch (err) {
      toast(err.message);
    }
  });
  return form;
}

export function renderConversations(ctx) {
  mount(ctx.main, h("div", { class: "layout" }, conversationList(ctx), h("section", { class: "content" }, newConversationForm(ctx))));
}
