// The Health view: run the diagnostics (no model) for a context and namespace, show each
// finding with its evidence, and offer a finding's fix as a direct call. The diagnosis runs as
// read calls (`k8s_diagnose`, `jenkins_diagnose` per known Jenkins server) in a conversation of
// its own, so it is audited like any read; a proposed fix is a change in that conversation and
// opens the normal approval card there. Nothing here runs a change.

import { enc, get, post } from "../api.js";
import { field, h, mount, toast } from "../dom.js";
import { openStream } from "../stream.js";

const TONE = { critical: "tone-red", warning: "tone-amber" };

function objectName(ref) {
  return `${ref.kind.toLowerCase()}/${ref.name}${ref.namespace ? ` in ${ref.namespace}` : ""}`;
}

function whereOf(diagnosis) {
  if ((diagnosis.context || "").startsWith("jenkins:")) return diagnosis.context;
  const where = diagnosis.namespace
    ? `namespace ${diagnosis.namespace}`
    : diagnosis.all_namespaces ? "every namespace" : "the context's namespace";
  return `${diagnosis.context || "default context"}, ${where}`;
}

function findingCard(finding, onFix) {
  const fix = finding.fix
    ? h(
        "div",
        { class: "fix" },
        h("p", {}, h("strong", { text: "Proposed fix: " }), h("code", { text: `${finding.fix.tool} ${JSON.stringify(finding.fix.args)}` })),
        h("p", { class: "muted", text: finding.fix.why }),
        h("button", {
          type: "button",
          class: "btn",
          text: "Propose this fix",
          "aria-label": `Propose ${finding.fix.tool} for ${objectName(finding.object)} (it waits for approval)`,
          "on:click": (event) => onFix(finding, event.currentTarget),
        }),
      )
    : null;
  return h(
    "li",
    { class: "card finding", dataset: { analyzer: finding.analyzer, severity: finding.severity } },
    h(
      "p",
      {},
      h("span", { class: `badge ${TONE[finding.severity] || "tone-grey"}`, text: finding.severity }),
      " ",
      h("strong", { text: objectName(finding.object) }),
      `: ${finding.problem} `,
      h("span", { class: "muted", text: `(${finding.analyzer})` }),
    ),
    h("ul", { class: "evidence" }, finding.evidence.map((line) => h("li", {}, h("code", { text: line })))),
    fix,
  );
}

function diagnosisSection(diagnosis, onFix) {
  const findings = diagnosis.findings || [];
  const skipped = diagnosis.skipped || [];
  return h(
    "section",
    { class: "diagnosis", "aria-label": whereOf(diagnosis) },
    h("h2", { text: whereOf(diagnosis) }),
    findings.length === 0 && skipped.length === 0
      ? h("p", { class: "ok", text: `No problem found (checked: ${(diagnosis.checked || []).join(", ")}).` })
      : null,
    findings.length === 0 && skipped.length > 0 ? h("p", { text: "No problem found in what could be checked." }) : null,
    h("ul", { class: "findings" }, findings.map((finding) => findingCard(finding, onFix))),
    skipped.map((item) => h("p", { class: "warn", role: "status", text: `Not checked: ${item.what}: ${item.reason}` })),
  );
}

/** Wait on the conversation's stream for the `tool.finished` of each run in `runIds`. */
function results(conversationId, runIds) {
  return new Promise((resolve) => {
    const found = new Map();
    const stream = openStream(conversationId, {
      onEvent: (type, data) => {
        if (type !== "tool.finished" || !runIds.includes(data.run_id)) return;
        found.set(data.run_id, data);
        if (found.size === runIds.length) {
          stream.close();
          resolve(runIds.map((id) => found.get(id)));
        }
      },
    });
  });
}

export async function renderHealth(ctx) {
  const contexts = await get("/contexts");
  const contextSelect = h(
    "select",
    { name: "context" },
    (contexts.contexts || []).map((name) => h("option", { value: name, text: name, selected: name === contexts.default })),
  );
  const namespaceInput = h("input", { type: "text", name: "namespace", placeholder: "the context's namespace", maxlength: "63" });
  const everywhere = h("input", { type: "checkbox", name: "all_namespaces" });
  const run = h("button", { type: "submit", class: "btn btn-primary", text: "Diagnose" });
  const out = h("div", { class: "health-results", "aria-live": "polite" });
  let conversationId = null;

  const onFix = async (finding, button) => {
    button.disabled = true;
    try {
      await post(`/conversations/${enc(conversationId)}/calls`, { tool: finding.fix.tool, args: finding.fix.args });
      ctx.navigate(`#/c/${enc(conversationId)}`);
    } catch (err) {
      button.disabled = false;
      toast(err.message);
    }
  };

  const form = h(
    "form",
    { class: "card", "aria-label": "Diagnose" },
    field("Context", contextSelect),
    field("Namespace", namespaceInput, "Leave empty for the context's namespace."),
    field("Every namespace", everywhere),
    run,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    run.disabled = true;
    mount(out, h("p", { class: "muted", text: "Diagnosing…" }));
    try {
      const namespace = namespaceInput.value.trim() || null;
      const all = everywhere.checked;
      const title = `Diagnose ${all ? "every namespace" : namespace || "the default namespace"}`;
      const conversation = await post("/conversations", {
        title,
        context: contextSelect.value || null,
        ...(namespace && !all ? { namespace } : {}),
      });
      conversationId = conversation.id;
      const args = all ? { all_namespaces: true } : namespace ? { namespace } : {};
      const calls = [["k8s_diagnose", args], ...(contexts.jenkins || []).map((server) => ["jenkins_diagnose", { server }])];
      const runIds = [];
      for (const [tool, callArgs] of calls) {
        const started = await post(`/conversations/${enc(conversationId)}/calls`, { tool, args: callArgs });
        runIds.push(started.run_id);
      }
      const finished = await results(conversationId, runIds);
      mount(
        out,
        finished.map((item) =>
          item.status === "succeeded" && item.data
            ? diagnosisSection(item.data, onFix)
            : h("p", { class: "error", role: "alert", text: `${item.tool} failed: ${item.output}` }),
        ),
        h("p", { class: "muted" }, "These reads are in the audit log, in ", h("a", { href: `#/c/${enc(conversationId)}`, text: title }), "."),
      );
    } catch (err) {
      mount(out, h("p", { class: "error", role: "alert", text: err.message }));
    } finally {
      run.disabled = false;
    }
  });
  mount(ctx.main, h("h1", { text: "Health" }), h("p", { class: "muted", text: "What is broken, found by opsgate's analyzers without a model. A proposed fix waits for approval like any change." }), form, out);
}
