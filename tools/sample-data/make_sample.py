#!/usr/bin/env python3
"""Writes jlora's bundled Korean sample set (java/src/main/resources/jlora/data/sample/).

The texts are written for this project (chat_ko.py, tools_ko.py, qa_ko.py); this script only
lays them out in the formats the readers take. Dev-time tool: jlora itself never runs Python.
Run from anywhere: python3 tools/sample-data/make_sample.py
"""
import json, os, sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import chat_ko, tools_ko, qa_ko  # noqa: E402

out = os.path.join(here, "..", "..", "java", "src", "main", "resources", "jlora", "data", "sample")
os.makedirs(out, exist_ok=True)


def write_jsonl(name, rows):
    with open(os.path.join(out, name), "w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


chat = []
for source, system, turns in chat_ko.CONVERSATIONS:
    msgs = [{"role": "system", "content": system}] if system else []
    for i, t in enumerate(turns):
        msgs.append({"role": "user" if i % 2 == 0 else "assistant", "content": t})
    chat.append({"messages": msgs, "source": source})
write_jsonl("chat_ko.jsonl", chat)
write_jsonl("tools_ko.jsonl", tools_ko.build())
with open(os.path.join(out, "qa_korquad_ko.json"), "w", encoding="utf-8", newline="\n") as f:
    json.dump(qa_ko.build(), f, ensure_ascii=False, indent=1)
    f.write("\n")
for n in sorted(os.listdir(out)):
    print(n, os.path.getsize(os.path.join(out, n)))
