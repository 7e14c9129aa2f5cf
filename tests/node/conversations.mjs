// The OpenAI Node SDK's Conversations API against a live emulator: create one with items, two
// turns in it (JSON, then a stream), list, add and delete its items, update its metadata, delete
// it. Prints what it saw as one JSON object.
//
//   node conversations.mjs <base URL> <API key>

import OpenAI from "openai";

const [baseUrl, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey, maxRetries: 0 });
const model = "openai/gpt-4o";
const conversation = await client.conversations.create({
  metadata: { topic: "demo" },
  items: [{ type: "message", role: "user", content: "My name is Ada." }],
});
const first = await client.responses.create({ model, input: "count", conversation: conversation.id });
const stream = await client.responses.create({ model, input: "count", conversation: conversation.id, stream: true });
let second = null;
for await (const event of stream) {
  if (event.type === "response.completed") second = event.response;
}
const items = [];
for await (const item of client.conversations.items.list(conversation.id, { order: "asc", limit: 2 })) {
  items.push(item.type === "message" ? `${item.role}:${item.content[0].text}` : item.type);
}
const added = await client.conversations.items.create(conversation.id, {
  items: [{ type: "message", role: "user", content: "An aside." }],
});
await client.conversations.items.delete(added.data[0].id, { conversation_id: conversation.id });
const updated = await client.conversations.update(conversation.id, { metadata: { topic: "changed" } });
const deleted = await client.conversations.delete(conversation.id);
let afterwards = null;
try {
  await client.conversations.retrieve(conversation.id);
} catch (error) {
  afterwards = error.status;
}
console.log(JSON.stringify({
  id: conversation.id,
  metadata: conversation.metadata,
  firstText: first.output_text,
  secondText: second.output[0].content[0].text,
  secondInputTokens: second.usage.input_tokens,
  firstInputTokens: first.usage.input_tokens,
  items,
  added: added.data.map((item) => item.content[0].text),
  updated: updated.metadata,
  deleted,
  afterwards,
}));
