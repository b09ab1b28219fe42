// The official MCP TypeScript SDK client, driven by tests/gateway/test_typescript_client.py.
// Usage: node ts_client.mjs SDK_DIR URL TOKEN TOOL ARGS_JSON
// Lists the tools, calls TOOL with ARGS_JSON (following progress), and prints one JSON line:
// {server, tools, progress, result}.
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [sdkDir, url, token, tool, argsJson] = process.argv.slice(2);
const require = createRequire(path.join(sdkDir, "package.json"));
const load = async (name) => import(pathToFileURL(require.resolve(name)).href);
const { Client } = await load("@modelcontextprotocol/sdk/client/index.js");
const { StreamableHTTPClientTransport } = await load(
  "@modelcontextprotocol/sdk/client/streamableHttp.js",
);

const client = new Client({ name: "ts-agent", version: "2.0.1" });
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
await client.connect(transport);
const listed = await client.listTools();
const progress = [];
const result = await client.callTool(
  { name: tool, arguments: JSON.parse(argsJson) },
  undefined,
  {
    timeout: 60_000,
    resetTimeoutOnProgress: true,
    maxTotalTimeout: 300_000,
    onprogress: (note) => progress.push(note.message ?? ""),
  },
);
process.stdout.write(
  JSON.stringify({
    server: client.getServerVersion(),
    tools: listed.tools.map((t) => t.name),
    progress,
    result,
  }) + "\n",
);
await client.close();
