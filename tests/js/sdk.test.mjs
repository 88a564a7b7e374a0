// The AWS SDK for JavaScript v3 against a running bedrock-local (AWS_ENDPOINT_URL), answered
// by the real default model: Converse, ConverseStream, InvokeModel with an Anthropic body,
// InvokeModelWithResponseStream, CountTokens, ListFoundationModels and a ValidationException.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  CountTokensCommand,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
} from "@aws-sdk/client-bedrock-runtime";
import { BedrockClient, ListFoundationModelsCommand } from "@aws-sdk/client-bedrock";

const HAIKU = "anthropic.claude-3-haiku-20240307-v1:0";
const QUESTION = "What is the capital of France? Answer with one word.";
const config = {
  endpoint: process.env.AWS_ENDPOINT_URL,
  region: "us-east-1",
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
  maxAttempts: 1,
};
const runtime = new BedrockRuntimeClient(config);
const messages = [{ role: "user", content: [{ text: QUESTION }] }];
const greedy = { maxTokens: 16, temperature: 0 };

test("Converse answers with Bedrock's shape", async () => {
  const r = await runtime.send(new ConverseCommand({ modelId: HAIKU, messages, inferenceConfig: greedy }));
  assert.equal(r.output.message.role, "assistant");
  assert.match(r.output.message.content[0].text.toLowerCase(), /paris/);
  assert.ok(["end_turn", "max_tokens"].includes(r.stopReason));
  assert.equal(r.usage.totalTokens, r.usage.inputTokens + r.usage.outputTokens);
});

test("ConverseStream deltas add up to the answer", async () => {
  const r = await runtime.send(new ConverseStreamCommand({ modelId: HAIKU, messages, inferenceConfig: greedy }));
  const kinds = [];
  let text = "";
  let usage;
  for await (const event of r.stream) {
    const kind = Object.keys(event)[0];
    if (kinds.at(-1) !== kind) kinds.push(kind);
    if (event.contentBlockDelta) text += event.contentBlockDelta.delta.text;
    if (event.metadata) usage = event.metadata.usage;
  }
  assert.deepEqual(kinds, ["messageStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"]);
  assert.match(text.toLowerCase(), /paris/);
  assert.ok(usage.outputTokens > 0);
});

test("InvokeModel and its stream speak the Anthropic body", async () => {
  const body = JSON.stringify({
    anthropic_version: "bedrock-2023-05-31",
    max_tokens: 16,
    temperature: 0,
    messages: [{ role: "user", content: QUESTION }],
  });
  const r = await runtime.send(new InvokeModelCommand({ modelId: HAIKU, body, contentType: "application/json" }));
  const parsed = JSON.parse(new TextDecoder().decode(r.body));
  assert.equal(parsed.type, "message");
  assert.match(parsed.content[0].text.toLowerCase(), /paris/);

  const s = await runtime.send(new InvokeModelWithResponseStreamCommand({ modelId: HAIKU, body }));
  const types = [];
  let text = "";
  for await (const event of s.body) {
    const chunk = JSON.parse(new TextDecoder().decode(event.chunk.bytes));
    types.push(chunk.type);
    if (chunk.type === "content_block_delta") text += chunk.delta.text;
  }
  assert.equal(types[0], "message_start");
  assert.equal(types.at(-1), "message_stop");
  assert.equal(text, parsed.content[0].text);
});

test("CountTokens equals the inputTokens of the same Converse call", async () => {
  const counted = await runtime.send(
    new CountTokensCommand({ modelId: HAIKU, input: { converse: { messages } } }),
  );
  const r = await runtime.send(new ConverseCommand({ modelId: HAIKU, messages, inferenceConfig: greedy }));
  assert.equal(counted.inputTokens, r.usage.inputTokens);
});

test("ListFoundationModels and a ValidationException", async () => {
  const bedrock = new BedrockClient(config);
  const models = await bedrock.send(new ListFoundationModelsCommand({ byProvider: "Anthropic" }));
  assert.ok(models.modelSummaries.some((m) => m.modelId === HAIKU));
  await assert.rejects(
    runtime.send(new ConverseCommand({ modelId: "no.such-model-v1:0", messages })),
    (e) => e.name === "ValidationException" && e.$metadata.httpStatusCode === 400,
  );
});
