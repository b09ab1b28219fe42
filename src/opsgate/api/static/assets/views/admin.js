// Admin settings: users and roles, local password sign-in, API tokens (shown once), Jenkins servers,
// outgoing webhooks (views/webhooks.js), the approval policy (show, check, save a new version:
// docs/policy.md), and a link to the Usage page (views/usage.js).

import { del, enc, get, patch, post, put } from "../api.js";
import { field, h, mount, timeNode, toast } from "../dom.js";
import { ROLES } from "../roles.js";
import { webhooksSection } from "./webhooks.js";

const GRANTABLE = ["viewer", "operator", "approver"];

// One settings card: a heading, a table with these column headers, then its forms.
function tableSection(id, title, headers, tbody, ...rest) {
  const head = h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col", text: t }))));
  return h(
    "section",
    { class: "card", "aria-labelledby": `${id}-h` },
    h("h2", { id: `${id}-h`, text: title }),
    h("div", { class: "table-wrap" }, h("table", {}, head, tbody)),
    ...rest,
  );
}

function usersSection() {
  const tbody = h("tbody");
  const load = async () => {
    const data = await get("/users");
    const users = Array.isArray(data) ? data : (data && data.items) || [];
    mount(
      tbody,
      users.map((user) => {
        const role = h("select", { "aria-label": `Role of ${user.username}` }, ROLES.map((r) => h("option", { value: r, text: r, selected: r === user.role })));
        role.addEventListener("change", async () => {
          try {
            await patch(`/users/${enc(user.id)}`, { role: role.value });
            toast(`${user.username} is now ${role.value}`, "ok");
          } catch (err) {
            toast(err.message);
            role.value = user.role;
          }
        });
        const disabled = h("input", { type: "checkbox", checked: user.disabled, "aria-label": `${user.username} disabled` });
        disabled.addEventListener("change", async () => {
          try {
            await patch(`/users/${enc(user.id)}`, { disabled: disabled.checked });
          } catch (err) {
            toast(err.message);
            disabled.checked = user.disabled;
          }
        });
        // Single sign-on and proxy users get their role from their groups again at each sign-in.
        const signIn = user.sign_in && user.sign_in !== "local" ? `${user.sign_in} (role from groups)` : "local";
        return h("tr", {}, h("td", { text: user.username }), h("td", {}, role), h("td", { text: signIn }), h("td", {}, grantsCell(user, load)), h("td", {}, disabled), h("td", {}, timeNode(user.created_at)));
      }),
    );
  };
  const username = h("input", { name: "username", required: true, autocomplete: "off" });
  const password = h("input", { name: "password", type: "password", required: true, autocomplete: "new-password" });
  const role = h("select", { name: "role" }, ROLES.map((r) => h("option", { value: r, text: r, selected: r === "operator" })));
  const form = h("form", { class: "inline-form", "aria-label": "Add user" }, field("Username", username), field("Password", password), field("Role", role), h("button", { type: "submit", class: "btn-primary", text: "Add user" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await post("/users", { username: username.value, password: password.value, role: role.value });
      form.reset();
      await load();
    } catch (err) {
      toast(err.message);
    }
  });
  load().catch((err) => toast(err.message));
  return tableSection("users", "Users and roles", ["User", "Role", "Sign-in", "Grants", "Disabled", "Created"], tbody, form);
}

// A user's scoped grants (a role in one context, or one namespace of it), each with a revoke
// button, and a form to add one. The server audits every change.
function grantsCell(user, reload) {
  const scope = (g) => (g.namespace ? `${g.context}/${g.namespace}` : g.context);
  const list = h(
    "ul",
    { class: "grant-list", "aria-label": `Grants of ${user.username}` },
    (user.grants || []).map((g) => {
      const revoke = h("button", { type: "button", class: "btn-small", text: "Revoke", "aria-label": `Revoke ${g.role} for ${scope(g)} from ${user.username}` });
      revoke.addEventListener("click", async () => {
        try {
          await del(`/users/${enc(user.id)}/grants${g.namespace ? `?context=${enc(g.context)}&namespace=${enc(g.namespace)}` : `?context=${enc(g.context)}`}`);
          toast(`${user.username} is no longer ${g.role} for ${scope(g)}`, "ok");
          await reload();
        } catch (err) {
          toast(err.message);
        }
      });
      return h("li", {}, h("span", { text: `${g.role} for ${scope(g)}` }), " ", revoke);
    }),
  );
  const role = h("select", { name: "grant-role", "aria-label": `Role to grant ${user.username}` }, GRANTABLE.map((r) => h("option", { value: r, text: r })));
  const context = h("input", { name: "grant-context", required: true, placeholder: "context", "aria-label": `Context of the grant to ${user.username}` });
  const namespace = h("input", { name: "grant-namespace", placeholder: "namespace (all)", "aria-label": `Namespace of the grant to ${user.username}` });
  const form = h("form", { class: "inline-form grant-form", "aria-label": `Grant ${user.username} a role` }, role, context, namespace, h("button", { type: "submit", class: "btn-small", text: "Grant" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await post(`/users/${enc(user.id)}/grants`, { role: role.value, context: context.value.trim(), namespace: namespace.value.trim() || null });
      await reload();
    } catch (err) {
      toast(err.message);
    }
  });
  return h("div", {}, list, form);
}

function tokensSection() {
  const tbody = h("tbody");
  const shown = h("div", { class: "token-once", role: "status", hidden: true });
  const load = async () => {
    const data = await get("/tokens");
    const tokens = Array.isArray(data) ? data : (data && data.items) || [];
    mount(
      tbody,
      tokens.map((token) => {
        const revoke = h("button", { type: "button", class: "btn-reject", text: "Revoke", disabled: Boolean(token.revoked_at) });
        revoke.addEventListener("click", async () => {
          try {
            await del(`/tokens/${enc(token.id)}`);
            await load();
          } catch (err) {
            toast(err.message);
          }
        });
        return h("tr", {}, h("td", { text: token.name }), h("td", {}, h("code", { text: token.prefix || "" })), h("td", {}, timeNode(token.created_at)), h("td", {}, token.revoked_at ? "revoked" : token.last_used_at ? timeNode(token.last_used_at) : "never used"), h("td", {}, revoke));
      }),
    );
  };
  const name = h("input", { name: "name", required: true });
  const form = h("form", { class: "inline-form", "aria-label": "Create API token" }, field("Token name", name), h("button", { type: "submit", class: "btn-primary", text: "Create token" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const created = await post("/tokens", { name: name.value });
      const secret = created.token || created.secret || "";
      mount(shown, h("p", { text: "Copy this token now; it will not be shown again:" }), h("code", { class: "secret", text: secret }));
      shown.hidden = false;
      form.reset();
      await load();
    } catch (err) {
      toast(err.message);
    }
  });
  load().catch((err) => toast(err.message));
  return tableSection("tokens", "API tokens", ["Name", "Prefix", "Created", "Last used", ""], tbody, form, shown);
}

function jenkinsSection() {
  const tbody = h("tbody");
  const load = async () => {
    const data = await get("/jenkins-servers");
    const servers = Array.isArray(data) ? data : (data && data.items) || [];
    mount(
      tbody,
      servers.map((server) => {
        const remove = h("button", { type: "button", class: "btn-reject", text: "Remove" });
        remove.addEventListener("click", async () => {
          try {
            await del(`/jenkins-servers/${enc(server.name)}`);
            await load();
          } catch (err) {
            toast(err.message);
          }
        });
        // Servers from settings are changed where opsgate is configured, not here.
        const action = server.read_only ? h("span", { class: "muted", text: "from settings (read-only)" }) : remove;
        const label = server.in_use === false ? `${server.name} (not used: settings define this name)` : server.name;
        return h("tr", {}, h("td", { text: label }), h("td", { text: server.url }), h("td", { text: server.user }), h("td", { text: server.verify_tls === false ? "no" : "yes" }), h("td", {}, action));
      }),
    );
  };
  const name = h("input", { name: "name", required: true, pattern: "[a-z0-9]([-a-z0-9]*[a-z0-9])?" });
  const url = h("input", { name: "url", type: "url", required: true });
  const user = h("input", { name: "user", required: true, autocomplete: "off" });
  const token = h("input", { name: "token", type: "password", required: true, autocomplete: "off" });
  const verify = h("input", { name: "verify_tls", type: "checkbox", checked: true });
  const form = h("form", { class: "inline-form", "aria-label": "Add or update a Jenkins server" }, field("Name", name), field("URL", url), field("User", user), field("API token", token, "Kept server-side; never shown again."), field("Verify TLS", verify), h("button", { type: "submit", class: "btn-primary", text: "Save server" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await put(`/jenkins-servers/${enc(name.value)}`, { url: url.value, user: user.value, token: token.value, verify_tls: verify.checked });
      form.reset();
      await load();
    } catch (err) {
      toast(err.message);
    }
  });
  load().catch((err) => toast(err.message));
  return tableSection("jenkins", "Jenkins servers", ["Name", "URL", "User", "Verify TLS", ""], tbody, form);
}

// The approval policy: the active one (GET /policy), checked (POST /policy/check) and saved
// as a new version (PUT /policy). Requests already open keep the requirement they have.
function policySection() {
  const text = h("textarea", { name: "policy", rows: "14", spellcheck: "false", class: "policy-text" });
  const source = h("p", { class: "muted policy-source" });
  const result = h("p", { class: "policy-result", role: "status" });
  const show = (checked) => {
    result.classList.toggle("error", !checked.ok);
    result.textContent = checked.ok
      ? `Accepted: ${checked.rules.length} ${checked.rules.length === 1 ? "rule" : "rules"}${checked.rules.length ? ` (${checked.rules.join(", ")})` : ""}.`
      : `Refused: ${checked.error}`;
  };
  const load = async () => {
    const active = await get("/policy");
    text.value = active.text || "";
    const rules = active.rules.length ? active.rules.join(", ") : "no rules";
    const where = { "built-in": "the built-in gate (no policy file, nothing saved)", file: "the policy file (OPSGATE_POLICY_FILE)", saved: `version ${active.version} saved here` };
    source.textContent = `Active: ${where[active.source] || active.source}; ${rules}.`;
  };
  const check = h("button", { type: "button", class: "btn-quiet", text: "Check" });
  check.addEventListener("click", async () => {
    try {
      show(await post("/policy/check", { text: text.value }));
    } catch (err) {
      toast(err.message);
    }
  });
  const form = h("form", { class: "policy-form", "aria-label": "Approval policy" }, field("Policy (YAML)", text), h("div", { class: "actions" }, check, h("button", { type: "submit", class: "btn-primary", text: "Save new version" })), result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      show(await put("/policy", { text: text.value }));
      await load();
    } catch (err) {
      result.classList.add("error");
      result.textContent = `Not saved: ${err.message}`;
    }
  });
  load().catch((err) => toast(err.message));
  return h(
    "section",
    { class: "card", "aria-labelledby": "policy-h" },
    h("h2", { id: "policy-h", text: "Approval policy" }),
    h("p", { class: "muted", text: "Rules only add requirements to the gate; a policy that would loosen it is refused with its line. New requests follow a saved version at once; open ones keep theirs. Every save is audited with a diff." }),
    source,
    form,
  );
}

// Local password sign-in: an admin turns it off once single sign-on or proxy sign-in works.
function signInSection() {
  const toggle = h("input", { type: "checkbox", "aria-label": "Local password sign-in" });
  const note = h("p", { class: "muted" });
  const show = (state) => {
    toggle.checked = state.enabled;
    toggle.disabled = state.enabled && !state.can_turn_off;
    note.textContent = state.can_turn_off
      ? "Turned off, only single sign-on or the proxy signs people in. Way back: `opsgate local-login on` on the server's database."
      : "Stays on until single sign-on (OPSGATE_OIDC__*) or proxy sign-in (OPSGATE_PROXY_AUTH__*) is configured.";
  };
  toggle.addEventListener("change", async () => {
    try {
      const state = await put("/local-login", { enabled: toggle.checked });
      show(state);
      toast(`local password sign-in is now ${state.enabled ? "on" : "off"}`, "ok");
    } catch (err) {
      toast(err.message);
      toggle.checked = !toggle.checked;
    }
  });
  get("/local-login").then(show).catch((err) => toast(err.message));
  return h(
    "section",
    { class: "card", "aria-labelledby": "sign-in-h" },
    h("h2", { id: "sign-in-h", text: "Sign-in" }),
    field("Local password sign-in", toggle),
    note,
  );
}

export function renderAdmin(ctx) {
  if (ctx.session.me.role !== "admin") {
    mount(ctx.main, h("p", { class: "error", role: "alert", text: "Only administrators can open the settings." }));
    return;
  }
  mount(ctx.main, h("section", { class: "content wide admin" }, h("h1", { text: "Admin settings" }), h("p", {}, h("a", { class: "usage-link", href: "#/admin/usage", text: "Model usage and cost" })), usersSection(), signInSection(), tokensSection(), jenkinsSection(), webhooksSection(tableSection), policySection()));
}
