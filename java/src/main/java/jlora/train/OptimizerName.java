package jlora.train;

import java.util.List;

/**
 * The optimizers jlora offers, under the names Hugging Face's {@code TrainingArguments.optim}
 * uses, and what each one is: torch's AdamW, or bitsandbytes' AdamW with 8-bit or 32-bit state,
 * resident or paged. The trainer's config picks one by name.
 */
public enum OptimizerName {
    ADAMW_TORCH("adamw_torch", false, false),
    /** Same numerics here as adamw_torch (torch's fused CPU kernel orders the operations its own way). */
    ADAMW_TORCH_FUSED("adamw_torch_fused", false, false),
    ADAMW_BNB_8BIT("adamw_bnb_8bit", true, false),
    ADAMW_8BIT("adamw_8bit", true, false),
    PAGED_ADAMW_8BIT("paged_adamw_8bit", true, true),
    PAGED_ADAMW_32BIT("paged_adamw_32bit", true, true);

    public final String hfName;
    /** True for bitsandbytes' AdamW (8-bit state unless named 32bit). */
    public final boolean bitsandbytes;
    public final boolean paged;

    OptimizerName(String hfName, boolean bitsandbytes, boolean paged) {
        this.hfName = hfName;
        this.bitsandbytes = bitsandbytes;
        this.paged = paged;
    }

    /** The optimizer named {@code name} as transformers spells it (or jlora's short {@code adamw}), or null. */
    public static OptimizerName byName(String name) {
        if ("adamw".equals(name)) return ADAMW_TORCH;
        for (OptimizerName n : values()) if (n.hfName.equals(name)) return n;
        return null;
    }

    /** A new optimizer of this kind over {@code params}; its state lives in a new host store. */
    public Optimizer create(List<Param> params, AdamHyperparameters hp) {
        StateStore store = paged ? StateStore.hostPaged(StateStore.DEFAULT_CHUNK) : StateStore.host();
        if (!bitsandbytes) return new AdamW(params, hp, store);
        // paged_adamw_32bit is bnb.optim.AdamW(optim_bits=32): bnb's 32-bit kernel for every tensor
        long min8bit = this == PAGED_ADAMW_32BIT ? Long.MAX_VALUE : AdamW8bit.MIN_8BIT_SIZE;
        return new AdamW8bit(params, hp, store, min8bit);
    }
}
