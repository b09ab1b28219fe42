// What an approver must not miss in a change: security-relevant fields found in the call's
// arguments (manifests, patches, values) and in the lines its dry-run diff adds. The approval
// card lists them in a summary at its top, so a `privileged: true` can never hide far to the
// right of a long line or deep in a long manifest. Text scanning, not a YAML parser: it reads
// block and flow YAML and JSON alike, and when in doubt it reports (a false alarm costs a
// glance; a miss costs the cluster).

// `key:` as YAML or JSON writes it, not as the tail of a longer key (`unprivileged`).
const keyPattern = (key) => new RegExp(`(?:^|[\\s{,\\[])["']?(${key})["']?\\s*:[ \\t]*`, "gm");

const unquote = (text) => text.trim().replace(/^["']|["']$/g, "").trim();

function flowItems(inner) {
  return inner.split(",").map(unquote).filter(Boolean);
}

/** The values written after each `key:` in `text`: a scalar, or the items of a flow or block list. */
function valuesOf(text, key) {
  const found = [];
  for (const match of text.matchAll(keyPattern(key))) {
    const rest = text.slice(match.index + match[0].length);
    const at = match.index;
    if (rest.startsWith("[")) {
      const end = rest.indexOf("]");
      found.push({ key: match[1], items: flowItems(rest.slice(1, end < 0 ? undefined : end)), at });
    } else if (/^\r?\n/.test(rest) || rest === "") {
      // A block value: a list of `- item` lines, or a nested mapping (seen as no items).
      const items = [];
      for (const next of rest.split("\n").slice(1)) {
        const item = next.match(/^\s*-\s+(.*)$/);
        if (!item) break;
        items.push(unquote(item[1]));
      }
      found.push({ key: match[1], items, at });
    } else {
      const scalar = rest.match(/^("[^"]*"|'[^']*'|[^,}\]\n#]*)/);
      found.push({ key: match[1], items: [unquote(scalar ? scalar[1] : "")], at });
    }
  }
  return found;
}

const isTrue = (value) => /^(true|yes|on)$/i.test(value);
const isFalse = (value) => /^(false|no|off)$/i.test(value);

/** The text after `capabilities:`, so `add:` is read only where it adds capabilities. */
function capabilityAdds(text) {
  const adds = [];
  for (const match of text.matchAll(keyPattern("capabilities"))) {
    const window = text.slice(match.index, match.index + 400);
    const [first] = valuesOf(window, "add");
    if (first) adds.push(...first.items);
  }
  return adds;
}

/**
 * Security-relevant findings in one text: `[{field, detail}]`, e.g.
 * `{field: "privileged: true", detail: "a privileged container has the node's full access"}`.
 */
export function scanText(text) {
  const out = [];
  const add = (field, detail) => out.push({ field, detail });
  for (const v of valuesOf(text, "privileged")) {
    if (v.items.some(isTrue)) add("privileged: true", "a privileged container has full access to the node");
  }
  for (const key of ["hostNetwork", "hostPID", "hostIPC"]) {
    for (const v of valuesOf(text, key)) if (v.items.some(isTrue)) add(`${key}: true`, "shares the node's namespace");
  }
  for (const v of valuesOf(text, "hostPath")) {
    const path = text.slice(v.at, v.at + 200).match(/\bpath["']?\s*:\s*["']?([^"',}\s]+)/);
    add(`hostPath${path ? `: ${path[1]}` : ""}`, "mounts a directory of the node");
  }
  for (const capability of capabilityAdds(text)) add(`capabilities.add: ${capability}`, "adds a Linux capability");
  for (const v of valuesOf(text, "allowPrivilegeEscalation")) {
    if (v.items.some(isTrue)) add("allowPrivilegeEscalation: true", "a process may gain more privileges");
  }
  for (const v of valuesOf(text, "runAsUser")) if (v.items.includes("0")) add("runAsUser: 0", "runs as root");
  for (const v of valuesOf(text, "runAsNonRoot")) {
    if (v.items.some(isFalse)) add("runAsNonRoot: false", "may run as root");
  }
  for (const v of valuesOf(text, "kind")) {
    for (const kind of v.items) {
      if (kind === "ClusterRole" || kind === "ClusterRoleBinding") add(`kind: ${kind}`, "cluster-wide permissions");
      if (kind === "Secret") add("kind: Secret", "creates or changes a Secret");
    }
  }
  for (const key of ["verbs", "resources", "apiGroups"]) {
    for (const v of valuesOf(text, key)) {
      if (v.items.includes("*")) add(`${key}: ["*"]`, "a wildcard grants everything, including what is added later");
      if (key === "resources" && v.items.includes("secrets")) add("resources: secrets", "grants access to Secrets");
    }
  }
  return out;
}

/** Every string in a value (manifests, patches, values files), at any depth. */
function stringsIn(value, out) {
  if (typeof value === "string") out.push(value);
  else if (value && typeof value === "object") for (const item of Object.values(value)) stringsIn(item, out);
  return out;
}

/** Texts of a call's arguments: every string, and the structure as JSON (multi-line strings
left out of it: escaped, their lines would run together). */
function argumentTexts(args) {
  const structure = JSON.stringify(args, (key, value) => (key && typeof value === "string" && value.includes("\n") ? "" : value));
  return [structure, ...stringsIn(args, [])];
}

/** The lines a dry-run diff adds (all of it when it is not a diff: it shows the result). */
function addedText(preview) {
  const lines = preview.split("\n");
  const isDiff = lines.some((line) => /^(\+\+\+|---|@@) /.test(line));
  if (!isDiff) return preview;
  return lines.filter((line) => line.startsWith("+") && !line.startsWith("+++")).map((line) => line.slice(1)).join("\n");
}

/**
 * Findings of one approval call, de-duplicated: `[{field, detail, where}]`, `where` being
 * "arguments" or "dry-run diff".
 */
export function securityFindings(call) {
  const seen = new Set();
  const out = [];
  const collect = (texts, where) => {
    for (const text of texts) {
      for (const finding of scanText(text)) {
        if (seen.has(finding.field)) continue;
        seen.add(finding.field);
        out.push({ ...finding, where });
      }
    }
  };
  collect(argumentTexts(call.args || {}), "arguments");
  if (call.preview && call.preview_state !== "failed") collect([addedText(call.preview)], "dry-run diff");
  return out;
}
