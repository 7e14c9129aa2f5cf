// The OpenAI Node SDK's own retries against the emulator's failure headers: one create, timed.
// Prints {"status": <final HTTP status or 200>, "ms": <elapsed milliseconds>}.
//
//   node retries.mjs <base URL> <API key> <input>

import OpenAI from "openai";

const [baseUrl, apiKey, input] = process.argv.slice(2);
const client = new OpenAI({ baseURL: `${baseUrl}/v3/router`, apiKey, maxRetries: 2 });
const started = performance.now();
let status = 200;
try {
  await client.responses.create({ model: "openai/gpt-4o", input });
} catch (error) {
  status = error?.status ?? -1;
}
console.log(JSON.stringify({ status, ms: performance.now() - started }));
