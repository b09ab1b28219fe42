// Login and first-run setup screens (setup token → first admin).

import { post } from "../api.js";
import { field, h, mount } from "../dom.js";

function errorBox() {
  return h("p", { class: "error", role: "alert", hidden: true });
}

function showError(box, err) {
  box.textContent = err.message;
  box.hidden = false;
}

export function renderLogin(ctx) {
  const username = h("input", { name: "username", autocomplete: "username", required: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const error = errorBox();
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title", text: "Sign in to opsgate" }),
    field("Username", username),
    field("Password", password),
    error,
    h("button", { type: "submit", class: "btn-primary", text: "Sign in" }),
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
  username.focus();
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
