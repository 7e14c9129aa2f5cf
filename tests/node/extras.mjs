// The OpenAI Node SDK's extras (contract decision 2) against a live emulator: input items,
// input tokens, delete. Prints what it saw as one JSON object.
//
//   node extras.mjs <base URL> <API key>

import OpenAI from "openai";

const [baseUrl, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL: `${baseUrl}/v3/router`, apiKey, maxRetries: 0 });
const input = [
  { role: "user", content: "first" },
  { role: "assistant", content: "second" },
  { role: "user", content: "third" },
];
const created = await client.responses.create({ model: "openai/gpt-4o", input });
const page = await client.responses.inputItems.list(created.id, { order: "asc", limit: 2 });
const all = [];
for await (const item of client.responses.inputItems.list(created.id, { order: "asc", limit: 1 })) {
  all.push(item.content[0].text);
}
const counted = await client.responses.inputTokens.count({ model: "openai/gpt-4o", input });
const deleted = await client.responses.delete(created.id);
let afterwards = null;
try {
  await client.responses.retrieve(created.id);
} catch (error) {
  afterwards = error.status;
}
console.log(JSON.stringify({
  page: page.data.map((item) => item.content[0].text),
  hasMore: page.has_more,
  all,
  inputTokens: counted.input_tokens,
  usageInputTokens: created.usage.input_tokens,
  deleted: deleted ?? null,
  afterwards,
}));
