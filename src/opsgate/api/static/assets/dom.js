// Tiny DOM helpers used by every view: build elements without innerHTML (no injection),
// format times (UTC, the viewer's zone as a tooltip) and durations, copy buttons, and short
// notices.

/**
 * Build an element. attrs: `class`, `text`, `on:<event>` handlers, `dataset`, booleans
 * (true sets the attribute, false/null/undefined omits it), anything else as an attribute.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key === "text") el.textContent = String(value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on:")) el.addEventListener(key.slice(3), value);
    else if (key === "value") el.value = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace all children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
/** A fresh id for label/for pairs. */
export function newId(prefix = "f") {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A labelled form field; `control` gets an id so the label points at it. */
export function field(labelText, control, hint) {
  if (!control.id) control.id = newId();
  const hintEl = hint ? h("small", { class: "hint", id: `${control.id}-hint`, text: hint }) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: control.id, text: labelText }), control, hintEl);
}

/**
 * A time as ISO 8601 in UTC (`2026-12-01 21:40:14Z`, what the audit log and the CLI say) and
 * the same moment in the viewer's zone, named (`22:40:14 CET`, for a tooltip or second line).
 */
export function formatUtc(value) {
  const date = new Date(value);
  if (!value || Number.isNaN(date.getTime())) return { utc: String(value || ""), local: "" };
  const utc = `${date.toISOString().slice(0, 19).replace("T", " ")}Z`;
  const local = date.toLocaleString(undefined, { hour12: false, timeZoneName: "short" });
  return { utc, local: `${local} (your time)` };
}

/** A `<time>` showing `formatUtc`'s UTC text, the viewer's own zone as its tooltip. */
export function timeNode(value) {
  const shown = formatUtc(value);
  return h("time", { datetime: value || null, title: shown.local || null, text: shown.utc });
}

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain-HTTP origins have no clipboard API: select a hidden copy and use the old command.
  const area = h("textarea", { class: "sr-only", "aria-hidden": "true", readonly: true });
  area.value = text;
  document.body.append(area);
  area.select();
  const copied = document.execCommand("copy");
  area.remove();
  if (!copied) throw new Error("the browser refused to copy");
}

/**
 * A "Copy" button for `text` (or a function giving it at click time), named "Copy the
 * <what>"; it says "Copied" for a few seconds, or why nothing was copied.
 */
export function copyButton(text, what) {
  const button = h("button", { type: "button", class: "btn-quiet copy", text: "Copy", "aria-label": `Copy the ${what}` });
  let timer = null;
  button.addEventListener("click", async (event) => {
    event.stopPropagation();
    clearTimeout(timer);
    try {
      await copyText(typeof text === "function" ? text() : String(text));
      button.textContent = "Copied";
      button.dataset.state = "copied";
    } catch (err) {
      button.textContent = `Not copied (${err.message}): select the text instead`;
      button.dataset.state = "failed";
    }
    timer = setTimeout(() => {
      button.textContent = "Copy";
      delete button.dataset.state;
    }, 4000);
  });
  return button;
}

/** A model cost in US dollars; null is a model without a price: "cost unknown", never $0. */
export function formatCost(usd) {
  if (usd === null || usd === undefined) return "cost unknown";
  return `$${usd < 0.01 ? usd.toFixed(5) : usd.toFixed(4)}`;
}

export function formatDuration(ms) {
  if (ms === null || ms === undefined) return "";
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function formatRemaining(expiresAt) {
  const left = Math.round((new Date(expiresAt).getTime() - Date.now()) / 1000);
  if (Number.isNaN(left)) return "";
  if (left <= 0) return "expired";
  const minutes = Math.floor(left / 60);
  return minutes > 0 ? `${minutes} min ${left % 60} s left` : `${left} s left`;
}

let toastTimer = null;
/** A short message at the bottom of the screen (errors and confirmations). */
export function toast(message, kind = "error") {
  const el = document.getElementById("toast");
  el.textContent = message;
  el.className = `toast toast-${kind}`;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 6000);
}
