// Drives one real Node client through every conformance operation against a live emulator and
// prints one JSON object: "<operation>/<mode>" -> what the client saw (or {"thrown": ...}).
//
//   node conformance.mjs <orq-node|openai-node|ai-sdk> <base URL> <API key>
//
// The emulator runs tests/scenarios/conformance.yaml; tests/test_conformance.py reads the
// observations and holds every client to the same expectations.

import { Orq } from "@orq-ai/node";
import OpenAI from "openai";
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, streamText, stepCountIs, tool, jsonSchema, Output } from "ai";

const [client, baseUrl, apiKey] = process.argv.slice(2);
const MODEL = "openai/gpt-4o";
// The structured operation's schema, as tests/test_conformance.py's CITY_SCHEMA says it.
const CITY = {
  type: "object",
  properties: {
    city: { type: "string" },
    population: { type: "integer", minimum: 0 },
    tags: { type: "array", items: { type: "string" } },
  },
  required: ["city", "population", "tags"],
  additionalProperties: false,
};
const CITY_FORMAT = { format: { type: "json_schema", name: "city", schema: CITY, strict: true } };
const TOOLS = [
  {
    type: "function",
    name: "get_weather",
    description: "The weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
];

function textOf(output) {
  return output
    .filter((item) => item.type === "message")
    .flatMap((item) => item.content)
    .filter((part) => part.type === "output_text")
    .map((part) => part.text)
    .join("");
}

function thrown(error) {
  return {
    thrown: {
      name: error?.constructor?.name ?? typeof error,
      status: error?.status ?? error?.statusCode ?? null,
      message: String(error?.message ?? error),
    },
  };
}

// The error operations of a client whose `create(body, mode)` resolves to a response object
// (or throws at a stream's error event, as the OpenAI SDKs do).
function errorOperations(tag, create) {
  return {
    async http_error(mode) {
      await create({ model: MODEL, input: `overloaded [${tag}]` }, mode);
      return { thrown: null };
    },
    async failed(mode) {
      try {
        const r = await create({ model: MODEL, input: `crash [${tag}]` }, mode);
        return { status: r.status, error: r.error?.message ?? null };
      } catch (error) {
        return { status: "failed", error: error.message, via: "thrown" };
      }
    },
  };
}

// ---- openai (Node) ----
function openaiDriver() {
  const openai = new OpenAI({ apiKey, baseURL: `${baseUrl}/v3/router`, maxRetries: 0 });

  async function create(body, mode) {
    if (mode === "json") return openai.responses.create(body);
    const stream = openai.responses.stream(body);
    const types = [];
    stream.on("event", (event) => types.push(event.type));
    const response = await stream.finalResponse();
    return { ...response, event_types: types };
  }

  return {
    async text(mode) {
      const r = await create({ model: MODEL, input: "hello [openai-node]" }, mode);
      return { id: r.id, status: r.status, text: r.output_text, events: r.event_types?.length ?? null };
    },
    async retrieve(mode) {
      const created = await openai.responses.create({ model: MODEL, input: "hello [openai-node]" });
      if (mode === "json") {
        const got = await openai.responses.retrieve(created.id);
        return { id: got.id, created_id: created.id, text: textOf(got.output) };
      }
      const replay = await openai.responses.retrieve(created.id, { stream: true });
      let last = null;
      for await (const event of replay) last = event;
      return { id: last.response.id, created_id: created.id, text: textOf(last.response.output) };
    },
    ...errorOperations("openai-node", create),
    async tool_loop(mode) {
      const first = await create({ model: MODEL, input: "weather in Paris? [openai-node]", tools: TOOLS }, mode);
      const call = first.output.find((item) => item.type === "function_call");
      const second = await create(
        {
          model: MODEL,
          tools: TOOLS,
          previous_response_id: first.id,
          input: [{ type: "function_call_output", call_id: call.call_id, output: "18C" }],
        },
        mode,
      );
      return { call: { name: call.name, arguments: JSON.parse(call.arguments) }, text: second.output_text };
    },
    async structured(mode) {
      const body = { model: MODEL, input: "structured [openai-node]", text: CITY_FORMAT };
      if (mode === "json") return { object: (await openai.responses.parse(body)).output_parsed };
      // The stream parses only zod formats (zodTextFormat); a plain JSON Schema is read as text.
      return { object: JSON.parse((await openai.responses.stream(body).finalResponse()).output_text) };
    },
  };
}

// ---- @orq-ai/node ----
function orqDriver() {
  const orq = new Orq({ apiKey, serverURL: baseUrl });

  async function create(body, mode) {
    if (mode === "json") return orq.responses.create(body);
    const stream = await orq.responses.create({ ...body, stream: true });
    let final = null;
    let events = 0;
    for await (const event of stream) {
      events += 1;
      const data = event.data ?? event;
      if (data.type === "error") throw new Error(data.error?.message ?? data.message);
      if (data.response && ["response.completed", "response.failed", "response.incomplete"].includes(data.type)) {
        final = data.response;
      }
    }
    return { ...final, events };
  }

  return {
    async text(mode) {
      const r = await create({ model: MODEL, input: "hello [orq-node]" }, mode);
      return { id: r.id, status: r.status, text: textOf(r.output), events: r.events ?? null };
    },
    async retrieve(mode) {
      const created = await create({ model: MODEL, input: "hello [orq-node]" }, mode);
      const got = await orq.responses.get({ responseId: created.id });
      return { id: got.id, created_id: created.id, text: textOf(got.output) };
    },
    ...errorOperations("orq-node", create),
    async tool_loop(mode) {
      const asked = [{ role: "user", content: "weather in Paris? [orq-node]" }];
      const first = await create({ model: MODEL, input: asked, tools: TOOLS }, mode);
      const call = first.output.find((item) => item.type === "function_call");
      // Output items come back as sent (call_id); input items are the SDK's camelCase models,
      // which it writes as call_id on the wire.
      const callId = call.callId ?? call.call_id;
      const input = [
        ...asked,
        { type: "function_call", callId, name: call.name, arguments: call.arguments },
        { type: "function_call_output", callId, output: "18C" },
      ];
      const second = await create({ model: MODEL, input, tools: TOOLS }, mode);
      return { call: { name: call.name, arguments: JSON.parse(call.arguments) }, text: textOf(second.output) };
    },
    async structured(mode) {
      const r = await create({ model: MODEL, input: "structured [orq-node]", text: CITY_FORMAT }, mode);
      return { object: JSON.parse(textOf(r.output)) };
    },
  };
}

// ---- Vercel AI SDK (ai + @ai-sdk/openai) ----
function aiSdkDriver() {
  const provider = createOpenAI({ apiKey, baseURL: `${baseUrl}/v3/router` });
  const model = provider.responses(MODEL);

  async function run(options, mode) {
    if (mode === "json") {
      const r = await generateText({ model, maxRetries: 0, ...options });
      return { text: r.text, finishReason: r.finishReason, steps: r.steps, id: r.response.id, output: options.output && r.output };
    }
    const errors = [];
    const r = streamText({ model, maxRetries: 0, onError: ({ error }) => errors.push(error), ...options });
    const parts = [];
    for await (const part of r.fullStream) parts.push(part);
    const failure = parts.find((part) => part.type === "error");
    if (failure) throw failure.error;
    if (errors.length) throw errors[0];
    return {
      text: await r.text,
      finishReason: await r.finishReason,
      steps: await r.steps,
      id: (await r.response).id,
      parts: parts.length,
      output: options.output && (await r.output),
    };
  }

  return {
    async text(mode) {
      const r = await run({ prompt: "hello [ai-sdk]" }, mode);
      return { id: r.id, status: r.finishReason === "stop" ? "completed" : r.finishReason, text: r.text };
    },
    async http_error(mode) {
      await run({ prompt: "overloaded [ai-sdk]" }, mode);
      return { thrown: null };
    },
    async failed(mode) {
      try {
        const r = await run({ prompt: "crash [ai-sdk]" }, mode);
        return { status: r.finishReason, error: null };
      } catch (error) {
        return { status: "failed", error: error.message, via: "thrown" };
      }
    },
    async tool_loop(mode) {
      const calls = [];
      const r = await run(
        {
          prompt: "weather in Paris? [ai-sdk]",
          stopWhen: stepCountIs(3),
          tools: {
            get_weather: tool({
              description: "The weather in a city",
              inputSchema: jsonSchema({
                type: "object",
                properties: { city: { type: "string" } },
                required: ["city"],
              }),
              execute: async (input) => {
                calls.push(input);
                return "18C";
              },
            }),
          },
        },
        mode,
      );
      // The name as the SDK read it from the response, not the one this driver offered.
      const called = r.steps.flatMap((step) => step.toolCalls)[0];
      return { call: called ? { name: called.toolName, arguments: calls[0] ?? null } : null, text: r.text };
    },
    async structured(mode) {
      const r = await run({ prompt: "structured [ai-sdk]", output: Output.object({ schema: jsonSchema(CITY) }) }, mode);
      return { object: r.output };
    },
  };
}

const drivers = { "openai-node": openaiDriver, "orq-node": orqDriver, "ai-sdk": aiSdkDriver };
const driver = drivers[client]();
const results = {};
for (const operation of Object.keys(driver)) {
  for (const mode of ["json", "stream"]) {
    try {
      results[`${operation}/${mode}`] = await driver[operation](mode);
    } catch (error) {
      results[`${operation}/${mode}`] = thrown(error);
    }
  }
}
process.stdout.write(JSON.stringify(results));
