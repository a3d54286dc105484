// llama.cpp (through node-llama-cpp's prebuilt CPU binaries) as the oracle for jlora's GGUF
// export: loads a .gguf, reports its metadata, tokenizes a prompt the way llama.cpp does
// (special tokens parsed, no BOS unless the file asks for one), and generates greedily.
// Usage: node gguf.mjs MODEL.gguf PROMPT_FILE N_TOKENS  -> one JSON object on stdout
// (N_TOKENS 0: load and tokenize only).
import { readFileSync } from "node:fs";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const [modelPath, promptFile, nArg] = process.argv.slice(2);
const prompt = readFileSync(promptFile, "utf8");
const n = Number(nArg ?? 16);

const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, usePrebuiltBinaries: true });
const model = await llama.loadModel({ modelPath, gpuLayers: 0, useMmap: true });
const info = model.fileInfo;
const tokens = model.tokenize(prompt, true);

const context = n > 0 ? await model.createContext({ contextSize: 256, batchSize: 256, threads: 1, seed: 0 }) : null;
const generated = [];
const firstProbs = [];
const it = n > 0 ? context.getSequence().evaluateWithMetadata(tokens, { probabilities: true }, { temperature: 0, yieldEogToken: true }) : [];
for await (const step of it) {
  generated.push(step.token);
  if (firstProbs.length === 0) {
    // top-5 next-token probabilities of the first step (llama.cpp's softmax of its logits)
    firstProbs.push(...[...step.probabilities.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5));
  }
  if (generated.length >= n) break;
  // after an end-of-generation token the model would be fed it back; keep going as jlora does
}
const md = info.metadata;
const flat = {};
(function walk(o, prefix) {
  for (const [k, v] of Object.entries(o)) {
    const key = prefix ? prefix + "." + k : k;
    if (v && typeof v === "object" && !Array.isArray(v)) walk(v, key);
    else flat[key] = Array.isArray(v) ? { length: v.length } : v;
  }
})(md, "");
console.log(JSON.stringify({
  version: info.version,
  tensorCount: info.tensorCount !== undefined ? Number(info.tensorCount) : info.tensorInfo?.length,
  tensors: (info.tensorInfo ?? []).map(t => ({ name: t.name, dims: t.dimensions.map(Number), type: t.ggmlType })),
  metadata: flat,
  vocabSize: model.tokens.vocabSize ?? null,
  promptTokens: tokens,
  generated,
  firstProbs,
}));
await context?.dispose();
await model.dispose();
await llama.dispose();
