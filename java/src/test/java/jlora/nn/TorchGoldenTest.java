package jlora.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * jlora against peer fixtures (see {@link GoldenModelCase}): the committed torch reference
 * (tools/golden/torch_reference.py, torch only) always; the transformers + PEFT reference
 * (tools/golden/transformers_peft_reference.py, run where those packages are) when its fixtures
 * are present under golden/transformers.
 */
class TorchGoldenTest {
    @Test
    void matchesIndependentTorchReference() throws Exception {
        Path root = GoldenModelCase.resource("torch");
        List<GoldenModelCase> cases = GoldenModelCase.under(root);
        assertEquals(List.of("llama", "llama-packed", "qwen2"), cases.stream().map(c -> c.dir().getFileName().toString()).toList(),
                "committed fixtures under golden/torch");
        for (GoldenModelCase c : cases) c.check();
    }

    @Test
    void matchesTransformersAndPeft() throws Exception {
        Path root = GoldenModelCase.resource("transformers");
        List<GoldenModelCase> cases = root == null ? List.of() : GoldenModelCase.under(root);
        Assumptions.assumeFalse(cases.isEmpty(), "no transformers + PEFT fixtures under java/src/test/resources/golden/"
                + "transformers: run tools/golden/transformers_peft_reference.py where torch, transformers and peft are installed");
        for (GoldenModelCase c : cases) c.check();
    }
}
