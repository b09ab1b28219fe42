// Login and first-run setup screens (setup token → first admin).

import { get, post } from "../api.js";
import { field, h, mount } from "../dom.js";

function errorBox() {
  return h("p", { class: "error", role: "alert", hidden: true });
}

function showError(box, err) {
  box.textContent = err.message;
  box.hidden = false;
}

// The ways of signing in this server offers (`/auth/methods`): a password form while local
// sign-in is on, a "Sign in with <provider>" link for single sign-on, one for the proxy.
function ssoLinks(methods) {
  const links = [];
  if (methods.oidc) {
    links.push(h("a", { class: "btn btn-primary", href: methods.oidc.start_url, text: `Sign in with ${methods.oidc.display_name}` }));
  }
  if (methods.proxy) {
    links.push(h("a", { class: "btn", href: "/api/v1/auth/proxy", text: "Continue with your company sign-in" }));
  }
  return links.length ? h("div", { class: "sso-links" }, links) : null;
}

export async function renderLogin(ctx) {
  let methods = { local: true, oidc: null, proxy: false };
  try {
    methods = await get("/auth/methods");
  } catch {
    /* an older server: the password form alone */
  }
  const username = h("input", { name: "username", autocomplete: "username", required: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const error = errorBox();
  const sso = ssoLinks(methods);
  const passwordPart = methods.local
    ? [field("Username", username), field("Password", password), error, h("button", { type: "submit", class: "btn-primary", text: "Sign in" })]
    : [h("p", { class: "muted", text: "Password sign-in is turned off on this server." })];
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title", text: "Sign in to opsgate" }),
    sso,
    sso && methods.local ? h("p", { class: "muted", text: "or with a local account:" }) : null,
    ...passwordPart,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    try {
      await post("/auth/login", { username: username.value, password: password.value });
      await ctx.refreshSession();
      ctx.navigate("#/");
    } catch (err) {
      showError(error, err);
    }
  });
  mount(ctx.main, h("div", { class: "center" }, form));
  if (methods.local) username.focus();
}

export function renderSetup(ctx, prefilledToken = "") {
  const token = h("input", { name: "setup_token", autocomplete: "off", required: true, value: prefilledToken || null });
  const username = h("input", { name: "username", autocomplete: "username", required: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: "10" });
  const error = errorBox();
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "setup-title" },
    h("h1", { id: "setup-title", text: "First-run setup" }),
    h("p", { text: "Enter the one-time setup token printed in the server log at first start, and create the first administrator." }),
    field("Setup token", token),
    field("Admin username", username),
    field("Admin password", password, "At least 10 characters."),
    error,
    h("button", { type: "submit", class: "btn-primary", text: "Create administrator" }),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    try {
      await post("/setup", { setup_token: token.value.trim(), username: username.value, password: password.value });
      await post("/auth/login", { username: username.value, password: password.value });
      await ctx.refreshSession();
      ctx.navigate("#/");
    } catch (err) {
      showError(error, err);
    }
  });
  mount(ctx.main, h("div", { class: "center" }, form));
  (prefilledToken ? username : token).focus();
}
