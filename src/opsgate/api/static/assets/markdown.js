// Model answers as a small, safe subset of Markdown, for the chat view (chat.js): paragraphs,
// headings, emphasis, code spans, fenced code blocks (with a copy button), lists, quotes,
// tables and links. Everything is built with DOM nodes, never innerHTML, so raw HTML in an
// answer (`<script>`, `<img onerror>`) stays visible text; a link is a link only when it goes
// to http(s), anything else (`javascript:`, `data:`) is shown as the text the model wrote.

import { h } from "./dom.js";
import { codeBlock } from "./highlight.js";

const INLINE = /`([^`\n]+)`|\*\*([^*\n]+?)\*\*|__([^_\n]+?)__|\*([^*\s][^*\n]*?)\*|(?<!\w)_([^_\s][^_\n]*?)_(?!\w)|\[([^\]\n]+)\]\(([^)\s]+)\)/g;
const FENCE = /^\s*(`{3,}|~{3,})\s*([\w+-]*)/;
const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const BULLET = /^\s*[-*+]\s+(.*)$/;
const NUMBERED = /^\s*(\d{1,9})[.)]\s+(.*)$/;
const QUOTE = /^\s*>\s?(.*)$/;
const TABLE_RULE = /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/;
const HIGHLIGHTED = new Set(["json", "yaml", "diff"]);

/** The URL when it is an absolute http(s) one, else null (the link is shown as text). */
export function safeHref(url) {
  if (!/^https?:\/\//i.test(url)) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

function inline(text) {
  const out = [];
  let index = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > index) out.push(text.slice(index, m.index));
    index = m.index + m[0].length;
    if (m[1] !== undefined) out.push(h("code", { text: m[1] }));
    else if (m[2] !== undefined || m[3] !== undefined) out.push(h("strong", {}, inline(m[2] ?? m[3])));
    else if (m[4] !== undefined || m[5] !== undefined) out.push(h("em", {}, inline(m[4] ?? m[5])));
    else {
      const href = safeHref(m[7]);
      out.push(href ? h("a", { href, target: "_blank", rel: "noopener noreferrer nofollow" }, inline(m[6])) : m[0]);
    }
  }
  if (index < text.length) out.push(text.slice(index));
  return out;
}

/** Lines joined by line breaks, each with its inline Markdown. */
function lines(parts) {
  return parts.flatMap((line, i) => (i ? [h("br"), ...inline(line)] : inline(line)));
}

function cells(line) {
  return line.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((cell) => cell.trim());
}

function startsBlock(line, next) {
  return FENCE.test(line) || HEADING.test(line) || BULLET.test(line) || NUMBERED.test(line) || QUOTE.test(line) || (line.includes("|") && TABLE_RULE.test(next || ""));
}

/** The nodes of `text` rendered as Markdown (see the module comment for what is supported). */
export function renderMarkdown(text) {
  const all = String(text || "").replace(/\r\n?/g, "\n").split("\n");
  const out = [];
  let i = 0;
  while (i < all.length) {
    const line = all[i];
    const fence = line.match(FENCE);
    if (fence) {
      const body = [];
      i += 1;
      while (i < all.length && !all[i].trim().startsWith(fence[1])) body.push(all[i++]);
      i += 1; // the closing fence (or the end of an answer still streaming)
      const lang = fence[2].toLowerCase();
      out.push(codeBlock(body.join("\n"), { lang: HIGHLIGHTED.has(lang) ? lang : "text", label: "Code", fold: false }));
      continue;
    }
    if (!line.trim()) {
      i += 1;
      continue;
    }
    const heading = line.match(HEADING);
    if (heading) {
      // An answer's headings sit under the page's own: # is an h3.
      out.push(h(`h${Math.min(heading[1].length + 2, 6)}`, { class: "md-heading" }, inline(heading[2])));
      i += 1;
      continue;
    }
    if (line.includes("|") && TABLE_RULE.test(all[i + 1] || "")) {
      const head = cells(line);
      i += 2;
      const rows = [];
      while (i < all.length && all[i].includes("|") && all[i].trim()) rows.push(cells(all[i++]));
      out.push(
        h(
          "table",
          { class: "md-table" },
          h("thead", {}, h("tr", {}, head.map((cell) => h("th", {}, inline(cell))))),
          h("tbody", {}, rows.map((row) => h("tr", {}, head.map((_, n) => h("td", {}, inline(row[n] || "")))))),
        ),
      );
      continue;
    }
    const list = BULLET.test(line) ? BULLET : NUMBERED.test(line) ? NUMBERED : null;
    if (list) {
      const items = [];
      const start = list === NUMBERED ? Number(line.match(NUMBERED)[1]) : null;
      while (i < all.length && list.test(all[i])) {
        const m = all[i].match(list);
        items.push(h("li", {}, inline(m[m.length - 1])));
        i += 1;
      }
      out.push(list === NUMBERED ? h("ol", { start: start === 1 ? null : start }, items) : h("ul", {}, items));
      continue;
    }
    if (QUOTE.test(line)) {
      const quoted = [];
      while (i < all.length && QUOTE.test(all[i])) quoted.push(all[i++].match(QUOTE)[1]);
      out.push(h("blockquote", {}, lines(quoted)));
      continue;
    }
    const paragraph = [];
    while (i < all.length && all[i].trim() && (!paragraph.length || !startsBlock(all[i], all[i + 1]))) paragraph.push(all[i++]);
    out.push(h("p", {}, lines(paragraph)));
  }
  return out;
}
