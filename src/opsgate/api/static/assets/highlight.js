// A very small highlighter for JSON, YAML and unified diffs (each block with a copy button):
// it only wraps tokens in <span class="hl-..."> built with DOM nodes (never innerHTML), so
// output stays inert text.

import { copyButton, h } from "./dom.js";

const JSON_TOKEN = /("(?:\\.|[^"\\])*"(\s*:)?|\b(?:true|false|null)\b|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;

function highlightJsonLine(line, out) {
  let index = 0;
  for (const match of line.matchAll(JSON_TOKEN)) {
    if (match.index > index) out.push(line.slice(index, match.index));
    const token = match[0];
    let cls = "hl-num";
    if (token.startsWith('"')) cls = match[2] ? "hl-key" : "hl-str";
    else if (/^(true|false|null)$/.test(token)) cls = "hl-lit";
    out.push(h("span", { class: cls, text: token }));
    index = match.index + token.length;
  }
  if (index < line.length) out.push(line.slice(index));
}

const YAML_KEY = /^(\s*-?\s*)([A-Za-z0-9_.\/"'-]+)(:)(\s|$)(.*)$/;

function highlightYamlLine(line, out) {
  if (/^\s*#/.test(line)) {
    out.push(h("span", { class: "hl-com", text: line }));
    return;
  }
  const match = line.match(YAML_KEY);
  if (!match) {
    out.push(line);
    return;
  }
  out.push(match[1], h("span", { class: "hl-key", text: match[2] }), match[3], match[4]);
  const value = match[5];
  if (/^(true|false|null|~)$/.test(value.trim())) out.push(h("span", { class: "hl-lit", text: value }));
  else if (/^-?\d+(\.\d+)?$/.test(value.trim())) out.push(h("span", { class: "hl-num", text: value }));
  else if (value) out.push(h("span", { class: "hl-str", text: value }));
}

/** Guess the language of a text: "json", "diff", "yaml" or "text". */
export function detect(text) {
  const trimmed = text.trimStart();
  if (/^[{[]/.test(trimmed)) {
    try {
      JSON.parse(trimmed);
      return "json";
    } catch {
      /* not JSON after all */
    }
  }
  if (/^(---|\+\+\+|@@|diff )/m.test(trimmed) && /^[+-]/m.test(trimmed)) return "diff";
  if (/^\s*[A-Za-z0-9_.-]+:(\s|$)/m.test(trimmed)) return "yaml";
  return "text";
}

/** Nodes for `text` highlighted as `lang` (auto-detected when omitted). */
export function highlight(text, lang = detect(text)) {
  const out = [];
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    if (lang === "json") highlightJsonLine(line, out);
    else if (lang === "yaml") highlightYamlLine(line, out);
    else if (lang === "diff") {
      let cls = null;
      if (/^\+(?!\+\+)/.test(line)) cls = "hl-add";
      else if (/^-(?!--)/.test(line)) cls = "hl-del";
      else if (/^(@@|\+\+\+|---|diff )/.test(line)) cls = "hl-meta";
      out.push(cls ? h("span", { class: cls, text: line }) : line);
    } else out.push(line);
    if (i < lines.length - 1) out.push("\n");
  });
  return out;
}

/**
 * A <pre> block; long text folded behind a "show all" button, unless `fold` is false (what an
 * approver decides on is never folded). `wrap` wraps long lines instead of scrolling sideways.
 */
export function codeBlock(text, { lang, foldLines = 40, label = "Output", fold = true, wrap = false } = {}) {
  const value = text || "";
  const lines = value.split("\n");
  const pre = h("pre", { class: `code${wrap ? " wrap" : ""}`, tabindex: "0", "aria-label": label });
  // The whole text is copied, folded or not.
  const copy = copyButton(value, label.charAt(0).toLowerCase() + label.slice(1));
  if (!fold || lines.length <= foldLines) {
    pre.append(...highlight(value, lang));
    return h("div", { class: "code-block" }, pre, copy);
  }
  const head = lines.slice(0, foldLines).join("\n");
  pre.append(...highlight(head, lang || detect(value)));
  const button = h("button", {
    type: "button",
    class: "btn-quiet fold",
    text: `Show all ${lines.length} lines`,
    "aria-expanded": "false",
  });
  button.addEventListener("click", () => {
    const expanded = button.getAttribute("aria-expanded") === "true";
    pre.replaceChildren(...highlight(expanded ? head : value, lang || detect(value)));
    button.setAttribute("aria-expanded", String(!expanded));
    button.textContent = expanded ? `Show all ${lines.length} lines` : "Show less";
  });
  return h("div", { class: "code-block fold-wrap" }, pre, copy, button);
}

export function jsonBlock(value, label = "Arguments", options = {}) {
  return codeBlock(JSON.stringify(value, null, 2), { lang: "json", label, ...options });
}
