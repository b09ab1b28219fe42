// The admin Usage page (`#/admin/usage`): model turns of the last N days by user, model or
// UTC day from GET /usage, drawn as an SVG bar chart (tokens in and out, no chart library)
// and a table with each group's cost ("cost unknown" for a model without a price).

import { enc, get } from "../api.js";
import { field, formatCost, h, mount } from "../dom.js";

const SVG = "http://www.w3.org/2000/svg";
const COUNT = new Intl.NumberFormat("en");
const GROUPINGS = { day: "Day (UTC)", user: "User", model: "Model" };

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  for (const child of children) if (child) el.append(child);
  return el;
}

function groupCost(group) {
  const cost = formatCost(group.cost_usd);
  return group.unpriced_turns && group.cost_usd !== null ? `${cost} + ${group.unpriced_turns} turns cost unknown` : cost;
}

/** One horizontal pair of bars per group: input tokens, then output tokens. */
function chart(items) {
  const most = Math.max(1, ...items.map((g) => g.input_tokens + g.output_tokens));
  const row = 28;
  const labelWidth = 180;
  const barWidth = 520;
  const height = Math.max(1, items.length) * row + 24;
  const bars = items.map((group, n) => {
    const y = n * row;
    const inWidth = (barWidth * group.input_tokens) / most;
    const outWidth = (barWidth * group.output_tokens) / most;
    return svg(
      "g",
      { class: "usage-bar", "data-key": group.key },
      svg("title", {}, document.createTextNode(`${group.label}: ${COUNT.format(group.input_tokens)} in, ${COUNT.format(group.output_tokens)} out, ${groupCost(group)}`)),
      svg("text", { x: labelWidth - 8, y: y + 18, "text-anchor": "end", class: "usage-label" }, document.createTextNode(group.label)),
      svg("rect", { x: labelWidth, y: y + 4, width: inWidth, height: 18, class: "bar-in" }),
      svg("rect", { x: labelWidth + inWidth, y: y + 4, width: outWidth, height: 18, class: "bar-out" }),
      svg("text", { x: labelWidth + inWidth + outWidth + 6, y: y + 18, class: "usage-value" }, document.createTextNode(COUNT.format(group.input_tokens + group.output_tokens))),
    );
  });
  const legendY = items.length * row + 16;
  return svg(
    "svg",
    { class: "usage-chart", viewBox: `0 0 ${labelWidth + barWidth + 90} ${height}`, role: "img", "aria-label": "Tokens per group: input, then output" },
    ...bars,
    svg("rect", { x: labelWidth, y: legendY - 10, width: 12, height: 12, class: "bar-in" }),
    svg("text", { x: labelWidth + 16, y: legendY, class: "usage-label" }, document.createTextNode("input tokens")),
    svg("rect", { x: labelWidth + 120, y: legendY - 10, width: 12, height: 12, class: "bar-out" }),
    svg("text", { x: labelWidth + 136, y: legendY, class: "usage-label" }, document.createTextNode("output tokens")),
  );
}

function table(report) {
  const rows = report.items.map((group) =>
    h(
      "tr",
      { class: "usage-row", dataset: { key: group.key } },
      h("td", { text: group.label }),
      h("td", { class: "num", text: COUNT.format(group.turns) }),
      h("td", { class: "num", text: COUNT.format(group.input_tokens) }),
      h("td", { class: "num", text: COUNT.format(group.output_tokens) }),
      h("td", { class: "cost", text: groupCost(group) }),
    ),
  );
  const total = report.total;
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "usage-table" },
      h("thead", {}, h("tr", {}, [GROUPINGS[report.group_by], "Turns", "Input tokens", "Output tokens", "Cost"].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, rows),
      h("tfoot", {}, h("tr", { class: "usage-total" }, h("th", { scope: "row", text: "All" }), h("td", { class: "num", text: COUNT.format(total.turns) }), h("td", { class: "num", text: COUNT.format(total.input_tokens) }), h("td", { class: "num", text: COUNT.format(total.output_tokens) }), h("td", { class: "cost", text: groupCost(total) }))),
    ),
  );
}

export async function renderUsage(ctx, params = new URLSearchParams()) {
  if (ctx.session.me.role !== "admin") {
    mount(ctx.main, h("p", { class: "error", role: "alert", text: "Only administrators can see usage." }));
    return;
  }
  const groupBy = GROUPINGS[params.get("group_by")] ? params.get("group_by") : "day";
  const days = Number(params.get("days")) || 30;
  const report = await get(`/usage?group_by=${enc(groupBy)}&days=${enc(days)}`);
  const select = h("select", { name: "group_by" }, Object.entries(GROUPINGS).map(([value, text]) => h("option", { value, text, selected: value === groupBy })));
  const daysInput = h("input", { name: "days", type: "number", min: "1", max: "366", value: String(days) });
  const form = h("form", { class: "filters usage-filters" }, field("Group by", select), field("Days", daysInput), h("button", { type: "submit", text: "Show" }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ctx.navigate(`#/admin/usage?group_by=${enc(select.value)}&days=${enc(daysInput.value || "30")}`);
  });
  mount(
    ctx.main,
    h(
      "section",
      { class: "content wide usage" },
      h("h1", { text: "Model usage" }),
      h("p", { class: "muted" }, h("a", { href: "#/admin", text: "Admin settings" }), ` · model turns of the last ${days === 1 ? "day" : `${days} days`}; costs from LiteLLM's cost map, "cost unknown" for a model it has no price for.`),
      form,
      report.items.length ? [chart(report.items), table(report)] : h("p", { class: "muted usage-empty", text: "No model turns in this period." }),
    ),
  );
}
