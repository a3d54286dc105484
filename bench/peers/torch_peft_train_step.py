"""Peer for jlora.bench.gpu.TrainStepBench: one training micro-step of Hugging Face transformers +
PEFT on the same shapes: random bf16 weights, LoRA r 16 / alpha 32 / dropout 0.05 on all linear
layers, SDPA attention, gradient checkpointing (use_reentrant=False), one packed row of T tokens,
labels = inputs, the loss's forward + backward (no optimizer update, as the Java driver times it).
Median of 5 steps after 2 warm-ups, wall clock to a device synchronize; peak memory =
torch.cuda.max_memory_allocated during the steps. Reads $JLORA_BENCH_DIR/train_step_jlora.tsv
(shape, layers, tokens, variant, ms, peak bytes: written earlier in the same tools/gpu-run.sh run)
and runs each (shape, layers, tokens) once; without it, the 1.5B shape with 4 layers at 2048
tokens. Device machine only (torch, transformers, peft)."""
import os
import statistics
import time

import torch

SHAPES = {  # the published configs' numbers
    "qwen2.5-1.5b": dict(hidden_size=1536, intermediate_size=8960, num_attention_heads=12, num_key_value_heads=2,
                         vocab_size=151936, tie_word_embeddings=True),
    "qwen2.5-7b": dict(hidden_size=3584, intermediate_size=18944, num_attention_heads=28, num_key_value_heads=4,
                       vocab_size=152064, tie_word_embeddings=False),
}
WARMUP, STEPS = 2, 5


def model_for(shape, layers):
    from peft import LoraConfig, get_peft_model
    from transformers import Qwen2Config, Qwen2ForCausalLM

    cfg = Qwen2Config(num_hidden_layers=layers, max_position_embeddings=32768, rms_norm_eps=1e-6,
                      rope_theta=1000000.0, hidden_act="silu", use_sliding_window=False, **SHAPES[shape])
    cfg._attn_implementation = "sdpa"
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = Qwen2ForCausalLM(cfg).to(torch.bfloat16)
    model.config.use_cache = False
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.enable_input_require_grads()
    lora = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM")
    return get_peft_model(model, lora)


def step_ms(model, ids):
    times = []
    for s in range(WARMUP + STEPS):
        if s == WARMUP:
            torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        model.zero_grad(set_to_none=True)
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.cuda.synchronize()
        if s >= WARMUP:
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), torch.cuda.max_memory_allocated()


def main():
    tsv = os.path.join(os.environ.get("JLORA_BENCH_DIR", "build/gpu-run"), "train_step_jlora.tsv")
    rows = []
    if os.path.exists(tsv):
        with open(tsv) as f:
            next(f)
            rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    runs = sorted({(r[0], int(r[1]), int(r[2])) for r in rows}) or [("qwen2.5-1.5b", 4, 2048)]
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}; transformers + PEFT LoRA r 16 all-linear, "
          f"bf16 weights, SDPA, gradient checkpointing; median of {STEPS} after {WARMUP} warm-ups\n")
    print("| shape | layers | tokens | impl | ms / step | tokens/s | jlora speed-up | peak memory |")
    print("|---|---:|---:|---|---:|---:|---:|---:|")
    for shape, layers, tokens in runs:
        model = model_for(shape, layers)
        g = torch.Generator(device="cuda").manual_seed(3)
        ids = torch.randint(0, SHAPES[shape]["vocab_size"], (1, tokens), device="cuda", generator=g)
        ms, peak = step_ms(model, ids)
        print(f"| {shape} | {layers} | {tokens} | HF transformers + PEFT | {ms:.1f} | {tokens / ms * 1e3:.0f} | 1.00 | "
              f"{peak / 2**30:.2f} GiB |")
        for r in rows:
            if (r[0], int(r[1]), int(r[2])) == (shape, layers, tokens):
                jms, jpeak = float(r[4]), int(r[5])
                print(f"| {shape} | {layers} | {tokens} | jlora {r[3]} | {jms:.1f} | {tokens / jms * 1e3:.0f} | "
                      f"{ms / jms:.2f} | {jpeak / 2**30:.2f} GiB |")
        del model
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
