// A real OpenAI client against `jlora serve`: the official `openai` npm package, with its own
// request building, SSE parsing and error classes. Usage: node openai_client.mjs BASE_URL API_KEY
// Prints one JSON object with what the client saw; ServeOpenAiClientTest compares it with the
// server's scripted engine. Never used at run time.
import OpenAI from "openai";

const [baseURL, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 20000 });
const out = {};

const models = await client.models.list();
out.models = models.data.map(m => m.id);

const whole = await client.chat.completions.create({
  model: out.models[0],
  messages: [{ role: "system", content: "짧게 답하세요." }, { role: "user", content: "서울의 봄" }],
  temperature: 0, seed: 1, max_tokens: 200,
});
out.whole = { content: whole.choices[0].message.content, finish: whole.choices[0].finish_reason, usage: whole.usage };

const stream = await client.chat.completions.create({
  model: out.models[0],
  messages: [{ role: "user", content: "부산의 바다" }],
  stream: true, stream_options: { include_usage: true },
});
let text = "", chunks = 0, finish = null, usage = null, role = null;
for await (const chunk of stream) {
  chunks++;
  if (chunk.usage) usage = chunk.usage;
  const c = chunk.choices[0];
  if (!c) continue;
  if (c.delta.role) role = c.delta.role;
  if (c.delta.content) text += c.delta.content;
  if (c.finish_reason) finish = c.finish_reason;
}
out.stream = { content: text, chunks, finish, usage, role };

const tools = [{
  type: "function",
  function: { name: "get_weather", description: "날씨", parameters: { type: "object", properties: { query: { type: "string" } } } },
}];
const call = await client.chat.completions.create({
  model: out.models[0], messages: [{ role: "user", content: "제주 날씨" }], tools, tool_choice: "auto",
});
const tc = call.choices[0].message.tool_calls[0];
out.tool = { id: tc.id, type: tc.type, name: tc.function.name, arguments: JSON.parse(tc.function.arguments), finish: call.choices[0].finish_reason };

// The client's helper that accumulates streamed tool-call deltas into a final message.
const runner = client.chat.completions.stream({ model: out.models[0], messages: [{ role: "user", content: "광주 날씨" }], tools });
const final = await runner.finalChatCompletion();
const stc = final.choices[0].message.tool_calls[0];
out.streamTool = { name: stc.function.name, arguments: JSON.parse(stc.function.arguments), finish: final.choices[0].finish_reason };

try {
  await client.chat.completions.create({ model: out.models[0], messages: [], temperature: 0 });
  out.badRequest = "no error";
} catch (e) {
  out.badRequest = { class: e.constructor.name, status: e.status, type: e.type ?? e.error?.type, param: e.param ?? e.error?.param };
}
try {
  await new OpenAI({ baseURL, apiKey: "wrong", maxRetries: 0 }).models.list();
  out.wrongKey = "no error";
} catch (e) {
  out.wrongKey = { class: e.constructor.name, status: e.status };
}
console.log(JSON.stringify(out));
