// transformers.js (@lenml/tokenizers) as the tokenizer oracle: encodes a prompt with a model
// directory's tokenizer.json + tokenizer_config.json, special tokens parsed, none added.
// Usage: node tokenize.mjs MODEL_DIR PROMPT_FILE  -> JSON array of ids on stdout.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TokenizerLoader } from "@lenml/tokenizers";

const [dir, promptFile] = process.argv.slice(2);
const tokenizer = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")),
  tokenizerConfig: JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8")),
});
const ids = tokenizer.encode(readFileSync(promptFile, "utf8"), { add_special_tokens: false });
console.log(JSON.stringify(Array.from(ids)));
