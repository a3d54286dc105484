package jlora.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import jlora.autograd.Tape;
import jlora.backend.LossSum;
import jlora.backend.cpu.CpuBackend;

/**
 * One peer-oracle fixture (tools/golden/*_reference.py): a model dir and a PEFT adapter written by
 * Python, token ids and labels, and the peer's fp32 logits, mean loss and LoRA gradients of the
 * mean loss. {@link #check} runs jlora on the same files and compares: logits by max |diff| /
 * max |ref| below 1e-4, each gradient tensor by max |diff| / max |ref| below 1e-3. The loss runs
 * over vocabulary chunks of 16 so the fused head sees several chunks and a ragged last one.
 */
record GoldenModelCase(Path dir, JsonNode manifest) {
    static List<GoldenModelCase> under(Path root) throws IOException {
        List<GoldenModelCase> out = new ArrayList<>();
        if (!Files.isDirectory(root)) return out;
        try (Stream<Path> s = Files.list(root)) {
            for (Path d : s.sorted().toList()) {
                Path m = d.resolve("manifest.json");
                if (Files.isRegularFile(m)) out.add(new GoldenModelCase(d, new ObjectMapper().readTree(m.toFile())));
            }
        }
        return out;
    }

    static Path resource(String name) {
        var url = GoldenModelCase.class.getResource("/golden/" + name);
        try {
            return url == null ? null : Path.of(url.toURI());
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    String name() {
        return dir.getFileName() + " (" + manifest.path("oracle").asText() + ")";
    }

    static int[] ints(JsonNode a) {
        int[] v = new int[a.size()];
        for (int i = 0; i < v.length; i++) v[i] = a.get(i).asInt();
        return v;
    }

    float[] bin(String file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(dir.resolve(file))).order(ByteOrder.LITTLE_ENDIAN);
        float[] v = new float[b.remaining() / 4];
        b.asFloatBuffer().get(v);
        return v;
    }

    static void assertRel(float[] ref, float[] got, double tol, String what) {
        assertEquals(ref.length, got.length, what + ": element count");
        double maxRef = 0, worst = -1;
        int at = 0;
        for (int i = 0; i < ref.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(ref[i]));
            double d = Math.abs((double) ref[i] - got[i]);
            if (Double.isNaN(d)) d = Double.POSITIVE_INFINITY;
            if (d > worst) { worst = d; at = i; }
        }
        double rel = worst / maxRef;
        assertTrue(rel < tol, what + ": relative error " + rel + " (tolerance " + tol + ") at " + at + ": peer "
                + ref[at] + ", jlora " + got[at]);
    }

    void check() throws IOException {
        CpuBackend cpu = new CpuBackend();
        int[] ids = ints(manifest.get("ids")), pos = ints(manifest.get("positions")), labels = ints(manifest.get("labels"));
        try (CausalLM m = CausalLM.load(dir.resolve("model"), cpu, LoadOptions.DEFAULT.withAdapter(dir.resolve("adapter")).withVocabChunk(16))) {
            assertRel(bin(manifest.at("/logits/file").asText()), m.forward(ids, pos, true), 1e-4, name() + " logits");
            m.zeroGradients();
            try (Tape tape = new Tape(cpu)) {
                LossSum l = m.loss(ids, pos, labels, tape);
                assertEquals(manifest.get("counted").asLong(), l.count(), name() + " counted tokens");
                double ref = manifest.get("loss").asDouble();
                assertEquals(ref, l.sum() / l.count(), 1e-5 * Math.abs(ref), name() + " mean loss");
                tape.backward(1f / l.count());
            }
            var grads = manifest.get("grads");
            assertEquals(m.gradients().size(), grads.size(), name() + ": gradient tensors (peer has " + grads + ")");
            for (var it = grads.fields(); it.hasNext(); ) {
                var e = it.next();
                var mine = m.gradients().get(e.getKey());
                assertTrue(mine != null, name() + ": jlora has no gradient for " + e.getKey());
                assertRel(bin(e.getValue().get("file").asText()), mine.toFloatArray(), 1e-3, name() + " d/d " + e.getKey());
            }
        }
    }
}
