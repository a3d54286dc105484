// Reference encodings for TokenizerOracleTest: loads tokenizer.json + tokenizer_config.json from
// a model directory with transformers.js (@lenml/tokenizers) and, for each string of a JSON list
// (stdin, or the file named by the second argument), prints the ids without and with special
// tokens and the text decoded from the former.
//   node tools/oracle/encode.mjs DIR [strings.json]  ->  {"results":[{"ids":[..],"idsSpecial":[..],"decoded":".."}]}
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TokenizerLoader } from "@lenml/tokenizers";

const [dir, input] = process.argv.slice(2);
if (!dir) {
  console.error("usage: node encode.mjs MODEL_DIR [strings.json]");
  process.exit(2);
}
const tokenizer = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")),
  tokenizerConfig: JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8")),
});
const strings = JSON.parse(readFileSync(input ?? 0, "utf8"));
const results = strings.map((s) => {
  const ids = tokenizer.encode(s, { add_special_tokens: false });
  const idsSpecial = tokenizer.encode(s, { add_special_tokens: true });
  const decoded = ids.length ? tokenizer.decode(ids, { skip_special_tokens: false }) : "";
  return { ids, idsSpecial, decoded };
});
process.stdout.write(JSON.stringify({ results }));
