// The tool palette: pick a tool from GET /tools, fill a form generated from its JSON
// schema, and submit it as a direct call; mutations go through the same approval gate. The
// conversation's namespace is the default of every namespace field, shown as
// "shop (from conversation)" and sent when the field is left empty.

import { enc, get, post } from "../api.js";
import { field, h, mount, toast } from "../dom.js";

function resolve(schema, root) {
  let current = schema || {};
  for (let depth = 0; depth < 10 && current.$ref; depth += 1) {
    const path = current.$ref.replace(/^#\//, "").split("/");
    current = path.reduce((node, key) => (node ? node[key] : undefined), root) || {};
  }
  const options = current.anyOf || current.oneOf;
  if (options) {
    const nonNull = options.filter((option) => option.type !== "null");
    if (nonNull.length === 1) return { ...current, ...resolve(nonNull[0], root), anyOf: undefined, oneOf: undefined };
  }
  return current;
}

/** One input for one property; returns {el, read()} where read() gives the value or undefined. */
function inputFor(name, rawSchema, root, required) {
  const schema = resolve(rawSchema, root);
  const label = `${schema.title || name}${required ? " (required)" : ""}`;
  const hint = schema.description || null;
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  if (schema.enum) {
    const select = h(
      "select",
      { name, required },
      required ? null : h("option", { value: "", text: "(not set)" }),
      schema.enum.map((value) => h("option", { value: String(value), text: String(value), selected: value === schema.default })),
    );
    return { el: field(label, select, hint), read: () => (select.value === "" ? undefined : schema.enum.find((v) => String(v) === select.value)) };
  }
  if (type === "boolean") {
    const box = h("input", { type: "checkbox", name, checked: schema.default === true });
    return { el: field(schema.title || name, box, hint), read: () => box.checked };
  }
  if (type === "integer" || type === "number") {
    const num = h("input", {
      type: "number",
      name,
      required,
      step: type === "integer" ? "1" : "any",
      min: schema.minimum ?? null,
      max: schema.maximum ?? null,
      value: schema.default ?? null,
    });
    return { el: field(label, num, hint), read: () => (num.value === "" ? undefined : Number(num.value)) };
  }
  if (type === "string") {
    const text = h("input", { type: "text", name, required, value: schema.default ?? null, pattern: null, maxlength: schema.maxLength ?? null });
    return { el: field(label, text, hint), control: text, read: () => (text.value === "" ? undefined : text.value) };
  }
  const area = h("textarea", { name, rows: "3", required, placeholder: "JSON value" });
  if (schema.default !== undefined) area.value = JSON.stringify(schema.default);
  return {
    el: field(`${label} (JSON)`, area, hint),
    read: () => {
      if (area.value.trim() === "") return undefined;
      try {
        return JSON.parse(area.value);
      } catch {
        throw new Error(`${name}: not valid JSON`);
      }
    },
  };
}

function formFor(tool, conversationId, namespace, onDone) {
  const schema = tool.input_schema || {};
  const required = new Set(schema.required || []);
  // The conversation fixes the kubeconfig context and the engine fills it on every call.
  const inputs = Object.entries(schema.properties || {})
    .filter(([name]) => name !== "context")
    .map(([name, prop]) => [name, inputFor(name, prop, schema, required.has(name))]);
  const namespaceInput = inputs.find(([name]) => name === "namespace");
  const defaultNamespace = namespaceInput && namespaceInput[1].control && namespace ? namespace : null;
  if (defaultNamespace) {
    namespaceInput[1].control.placeholder = `${defaultNamespace} (from conversation)`;
  }
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const form = h(
    "form",
    { class: "palette-form", "aria-label": `Arguments of ${tool.name}` },
    h("p", { class: "muted", text: tool.description || "" }),
    h("p", {}, tool.needs_approval ? h("span", { class: "badge badge-mutation", text: "needs approval" }) : h("span", { class: "badge badge-read", text: "read" })),
    inputs.map(([, input]) => input.el),
    error,
    h("button", { type: "submit", class: "btn-primary", text: tool.needs_approval ? "Propose change" : "Run" }),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    try {
      const args = {};
      for (const [name, input] of inputs) {
        const value = input.read();
        if (value !== undefined) args[name] = value;
      }
      // Empty means the conversation's namespace (the engine fills it the same way), unless
      // the call asks for every namespace.
      if (defaultNamespace && args.namespace === undefined && args.all_namespaces !== true) args.namespace = defaultNamespace;
      await post(`/conversations/${enc(conversationId)}/calls`, { tool: tool.name, args });
      onDone();
    } catch (err) {
      error.textContent = err.field ? `${err.field}: ${err.message}` : err.message;
      error.hidden = false;
    }
  });
  return form;
}

export function createPalette(conversationId, namespace = null) {
  const select = h("select", { name: "tool" }, h("option", { value: "", text: "Choose a tool…" }));
  const formSlot = h("div", { class: "palette-slot" });
  const root = h(
    "details",
    { class: "palette card" },
    h("summary", { text: "Tool palette" }),
    field("Tool", select),
    formSlot,
  );
  let tools = [];
  get("/tools")
    .then((data) => {
      tools = Array.isArray(data) ? data : (data && data.items) || [];
      const families = [...new Set(tools.map((tool) => tool.family))];
      mount(
        select,
        h("option", { value: "", text: "Choose a tool…" }),
        families.map((family) =>
          h("optgroup", { label: family }, tools.filter((t) => t.family === family).map((t) => h("option", { value: t.name, text: t.name }))),
        ),
      );
    })
    .catch((err) => toast(err.message));
  select.addEventListener("change", () => {
    const tool = tools.find((t) => t.name === select.value);
    mount(formSlot, tool ? formFor(tool, conversationId, namespace, () => toast(`${tool.name} submitted`, "ok")) : null);
  });
  return root;
}
