// Drives `ldstore mcp` over stdio with the official TypeScript SDK client, as Claude Desktop,
// VS Code, Cursor and the MCP Inspector do, and prints one JSON line per call: what came
// back, or why the client rejected it (a result the SDK refuses throws here).
//
//   node client.mjs LDSTORE_EXECUTABLE
//
// The server's environment (LD_ACCESS_TOKEN, LD_BASE_URI naming the fake) is this process's;
// LDSTORE_TEST_REDIS_URL names the redis-server the doctor's tools read.
// Before the last call it prints {"ready": "429"} and waits for a line on stdin: the test then
// makes the fake answer the next list with a 429.
import { createInterface } from "node:readline";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const [executable] = process.argv.slice(2);
const REDIS_URL = process.env.LDSTORE_TEST_REDIS_URL;
const KEYS = { project_key: "default", environment_key: "production", integration_key: "redis" };

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

async function nextLine() {
  await lines.next();
}

function report(line) {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function connect(name, { elicitation }) {
  const capabilities = elicitation ? { elicitation: { form: {} } } : {};
  const client = new Client({ name, version: "1.0.0" }, { capabilities });
  const answers = [];
  if (elicitation) {
    // The user's answers, in order; "accept" once the list runs out.
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      const action = answers.shift() ?? "accept";
      report({ elicited: request.params.message.split("\n")[0], action });
      return action === "accept" ? { action, content: { confirm: true } } : { action };
    });
  }
  const transport = new StdioClientTransport({
    command: executable,
    args: ["mcp"],
    env: process.env,
    stderr: "inherit",
  });
  await client.connect(transport);
  // Listing caches each tool's outputSchema validator: every call below is checked.
  const { tools } = await client.listTools();
  report({ client: name, tools: tools.map((tool) => tool.name) });
  return { client, answers };
}

function parsed(result) {
  const [block] = result.content;
  const newline = block.text.indexOf("\n");
  return { summary: block.text.slice(0, newline), json: JSON.parse(block.text.slice(newline + 1)) };
}

async function call({ client }, step, name, args) {
  try {
    const result = await client.callTool({ name, arguments: args });
    const { summary, json } = parsed(result);
    report({
      step,
      tool: name,
      accepted: true,
      isError: result.isError === true,
      structured: result.structuredContent !== undefined,
      kind: json.error?.kind ?? null,
      status: json.error?.status ?? null,
      summary,
      json,
    });
    return result.structuredContent ?? json;
  } catch (error) {
    report({ step, tool: name, accepted: false, rejected: String(error) });
    return null;
  }
}

const user = await connect("ts-with-elicitation", { elicitation: true });

await call(user, "list", "list_big_segment_store_integrations", {});
const created = await call(user, "create", "create_big_segment_store_integration", {
  ...KEYS,
  name: "TypeScript Redis",
  config: { host: "redis.internal", port: 6380, password: "pw-ts-1" },
});
const id = created?._id ?? "missing";
const byId = { ...KEYS, integration_id: id };
await call(user, "get", "get_big_segment_store_integration", byId);
await call(user, "404", "get_big_segment_store_integration", { ...byId, integration_id: "nope" });
await call(user, "409", "patch_big_segment_store_integration", {
  ...byId,
  patch: [
    { op: "test", path: "/version", value: 999 },
    { op: "replace", path: "/name", value: "Renamed" },
  ],
});
await call(user, "patch", "patch_big_segment_store_integration", {
  ...byId,
  patch: [{ op: "replace", path: "/on", value: true }],
  comment: "switch on",
});
await call(user, "wait", "wait_until_big_segment_store_available", { ...byId, timeout: 30 });
await call(user, "patch-confirmed", "patch_big_segment_store_integration", {
  ...byId,
  patch: [{ op: "replace", path: "/config/host", value: "redis2.internal" }],
});
await call(user, "wait-404", "wait_until_big_segment_store_available", {
  ...byId,
  integration_id: "nope",
  timeout: 0,
});
const desired = [
  {
    project: "default",
    environment: "production",
    store: "redis",
    name: "Declared",
    on: true,
    config: { host: "redis.internal", password: "pw-ts-2" },
  },
];
await call(user, "plan", "plan_big_segment_store_integrations", { desired, prune: true });
user.answers.push("decline");
await call(user, "apply-declined", "apply_big_segment_store_integrations", { desired, prune: true });
await call(user, "apply", "apply_big_segment_store_integrations", { desired });
await call(user, "bad-argument", "create_big_segment_store_integration", {
  ...KEYS,
  integration_key: "mongodb",
  name: "x",
  config: { host: "h" },
});
await call(user, "unknown-argument", "list_big_segment_store_integrations", { project: "x" });
await call(user, "bad-config", "create_big_segment_store_integration", {
  ...KEYS,
  name: "x",
  config: { host: "h", port: 70000 },
});
await call(user, "409-duplicate", "create_big_segment_store_integration", {
  ...KEYS,
  name: "Declared",
  config: { host: "h" },
});
await call(user, "diagnose", "diagnose_big_segment_store", {
  ...KEYS,
  url: REDIS_URL,
  context_keys: ["alice"],
});
await call(user, "diagnose-password-in-url", "diagnose_big_segment_store", {
  ...KEYS,
  url: "redis://:pw-ts-redis@127.0.0.1:6379/0",
});
const member = { ...KEYS, url: REDIS_URL, segment_key: "beta", context_key: "alice" };
await call(user, "membership", "check_big_segment_membership", member);
await call(user, "membership-404", "check_big_segment_membership", { ...member, segment_key: "nope" });
user.answers.push("cancel");
await call(user, "delete-cancelled", "delete_big_segment_store_integration", byId);
user.answers.push("decline");
await call(user, "delete-declined", "delete_big_segment_store_integration", byId);
await call(user, "delete", "delete_big_segment_store_integration", byId);
await call(user, "delete-404", "delete_big_segment_store_integration", byId);
await user.client.close();

const bare = await connect("ts-without-elicitation", { elicitation: false });
await call(bare, "delete-unconfirmable", "delete_big_segment_store_integration", byId);
// A 429 pauses the whole server's limiter, so it comes last, in this second server: the
// test schedules it when told, and answers with a line.
report({ ready: "429" });
await nextLine();
await call(bare, "429", "list_big_segment_store_integrations", {});
await bare.client.close();
report({ done: true });
process.exit(0);
