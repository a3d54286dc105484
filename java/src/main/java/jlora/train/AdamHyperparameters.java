package jlora.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Adam's constants. Defaults are torch.optim.AdamW's (betas (0.9, 0.999), eps 1e-8, weight decay
 * 0.01); Hugging Face's TrainingArguments default weight decay is 0.0, so the trainer passes its own.
 */
public record AdamHyperparameters(double beta1, double beta2, double eps, double weightDecay) {
    public AdamHyperparameters {
        // the same checks torch.optim.AdamW and bitsandbytes make
        if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("Invalid beta parameter at index 0: " + beta1);
        if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("Invalid beta parameter at index 1: " + beta2);
        if (!(eps >= 0)) throw new IllegalArgumentException("Invalid epsilon value: " + eps);
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("Invalid weight_decay value: " + weightDecay);
    }

    public static AdamHyperparameters defaults() {
        return new AdamHyperparameters(0.9, 0.999, 1e-8, 0.01);
    }

    /** Written with the state so a resume can tell the user when the constants changed. */
    Map<String, String> asScalars() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("beta1", Double.toString(beta1));
        m.put("beta2", Double.toString(beta2));
        m.put("eps", Double.toString(eps));
        m.put("weight_decay", Double.toString(weightDecay));
        return m;
    }
}
