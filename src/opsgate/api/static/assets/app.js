// Entry point of the Command Center: finds out who is logged in (or whether first-run setup
// is needed), shows the no-model banner, follows the user's approvals inbox for the header
// badge (inbox-stream.js) while someone is signed in, and routes `#/...` hashes to the views.

import { ApiError, get, onUnauthorized, post } from "./api.js";
import { h, mount, toast } from "./dom.js";
import { inboxBadge, startInbox, stopInbox } from "./inbox-stream.js";
import { renderAdmin } from "./views/admin.js";
import { renderAudit, renderReplay } from "./views/audit.js";
import { renderChat } from "./views/chat.js";
import { renderConversations } from "./views/conversations.js";
import { renderHealth } from "./views/health.js";
import { renderInbox } from "./views/inbox.js";
import { renderLogin, renderSetup } from "./views/login.js";
import { renderTimeline } from "./views/timeline.js";
import { renderUsage } from "./views/usage.js";

const session = { me: null, model: null, setupToken: "" };
let cleanup = null;

const routes = [
  [/^#\/login$/, (ctx) => renderLogin(ctx), false],
  [/^#\/setup$/, (ctx) => renderSetup(ctx, session.setupToken), false],
  [/^#\/c\/([^/]+)$/, (ctx, m) => renderChat(ctx, decodeURIComponent(m[1])), true],
  [/^#\/approvals$/, (ctx) => renderInbox(ctx), true],
  [/^#\/health$/, (ctx) => renderHealth(ctx), true],
  [/^#\/audit(?:\?(.*))?$/, (ctx, m) => renderAudit(ctx, new URLSearchParams(m[1] || "")), true],
  [/^#\/runs\/([^/?]+)(?:\?(.*))?$/, (ctx, m) => renderTimeline(ctx, decodeURIComponent(m[1]), new URLSearchParams(m[2] || "")), true],
  [/^#\/replay\/([^/]+)$/, (ctx, m) => renderReplay(ctx, decodeURIComponent(m[1])), true],
  [/^#\/admin$/, (ctx) => renderAdmin(ctx), true],
  [/^#\/admin\/usage(?:\?(.*))?$/, (ctx, m) => renderUsage(ctx, new URLSearchParams(m[1] || "")), true],
  [/^#?\/?$/, (ctx) => renderConversations(ctx), true],
];

function context() {
  return { main: document.getElementById("main"), session, navigate, refreshSession };
}

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function showChrome(visible) {
  document.getElementById("topbar").hidden = !visible;
  document.getElementById("nav-admin").hidden = !(session.me && session.me.role === "admin");
  const who = document.getElementById("whoami");
  who.textContent = session.me ? `${session.me.username} (${session.me.role})` : "";
  for (const link of document.querySelectorAll("[data-nav]")) {
    const active = location.hash.startsWith(`#/${link.dataset.nav === "conversations" ? "c" : link.dataset.nav}`)
      || (link.dataset.nav === "conversations" && (location.hash === "" || location.hash === "#/"));
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function showModelBanner() {
  const banner = document.getElementById("model-banner");
  const model = session.model;
  if (!session.me || !model || model.configured) {
    banner.hidden = true;
    return;
  }
  const hide = h("button", { type: "button", class: "btn-quiet", text: "Hide", "aria-label": "Hide the no-model notice" });
  hide.addEventListener("click", () => {
    sessionStorage.setItem("opsgate:banner-hidden", "1");
    banner.hidden = true;
  });
  if (sessionStorage.getItem("opsgate:banner-hidden")) {
    banner.hidden = true;
    return;
  }
  mount(
    banner,
    h(
      "div",
      { class: "banner-text" },
      h("strong", { text: "No model is configured. " }),
      // The server knows its own settings names; the fallback says the same in general terms.
      model.how_to
        ? model.how_to
        : [
            "To let opsgate plan from plain language, set ",
            h("code", { text: "OPSGATE_MODEL" }),
            " (e.g. ",
            h("code", { text: "openai/gpt-4o" }),
            ") and the provider's key (",
            h("code", { text: "OPSGATE_MODEL_API_KEY" }),
            " or e.g. ",
            h("code", { text: "OPENAI_API_KEY" }),
            "), or run a local Ollama with ",
            h("code", { text: "OPSGATE_MODEL=ollama/llama3.1" }),
            " and ",
            h("code", { text: "OPSGATE_MODEL_API_BASE=http://127.0.0.1:11434" }),
            ", then restart the server. The tool palette works without a model.",
          ],
    ),
    hide,
  );
  banner.hidden = false;
}

async function refreshSession() {
  try {
    session.me = await get("/auth/me");
  } catch (err) {
    session.me = null;
    stopInbox();
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
    return null;
  }
  startInbox();
  try {
    session.model = await get("/model");
  } catch {
    session.model = null;
  }
  showModelBanner();
  return session.me;
}

async function route() {
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  const hash = location.hash || "#/";
  for (const [pattern, render, needsUser] of routes) {
    const match = hash.match(pattern);
    if (!match) continue;
    if (needsUser && !session.me) {
      navigate("#/login");
      return;
    }
    showChrome(needsUser);
    showModelBanner();
    const main = document.getElementById("main");
    main.replaceChildren();
    try {
      cleanup = (await render(context(), match)) || null;
    } catch (err) {
      mount(main, h("p", { class: "error", role: "alert", text: err.message }));
    }
    return;
  }
  navigate("#/");
}

async function boot() {
  document.getElementById("nav-approvals").append(" ", inboxBadge());
  onUnauthorized(() => {
    session.me = null;
    stopInbox();
    if (!location.hash.startsWith("#/login") && !location.hash.startsWith("#/setup")) navigate("#/login");
  });
  document.getElementById("logout").addEventListener("click", async () => {
    let out = null;
    try {
      out = await post("/auth/logout");
    } catch (err) {
      toast(err.message);
    }
    session.me = null;
    stopInbox();
    sessionStorage.clear();
    // A single sign-on user also leaves the identity provider's session (it sends them back).
    if (out && out.provider_logout_url) location.assign(out.provider_logout_url);
    else navigate("#/login");
  });
  // The setup link printed at first start is `/setup#token=...`: keep the token, drop it from the URL.
  const fromLink = new URLSearchParams(location.hash.replace(/^#\/?/, "")).get("token");
  if (fromLink) {
    session.setupToken = fromLink;
    history.replaceState(null, "", "/#/setup");
  } else if (location.pathname === "/setup") {
    history.replaceState(null, "", "/#/setup");
  }
  window.addEventListener("hashchange", route);
  try {
    const status = await get("/setup/status");
    if (status && status.needs_setup) {
      history.replaceState(null, "", "/#/setup");
      await route();
      return;
    }
  } catch {
    /* setup status is optional; fall through to the session check */
  }
  await refreshSession();
  // replaceState, not location.hash: the first route() below is the only render.
  if (!session.me) {
    if (!location.hash.startsWith("#/setup")) history.replaceState(null, "", "/#/login");
  } else if (location.pathname === "/login" || location.hash.startsWith("#/login")) {
    history.replaceState(null, "", "/#/");
  }
  await route();
}

boot().catch((err) => toast(err.message));
