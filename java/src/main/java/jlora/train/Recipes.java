package jlora.train;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The built-in recipes: one YAML per seed project under {@code jlora/recipes/}, plus
 * {@code tiny}, the embedded default that {@code ./jlora train} runs with no arguments.
 */
public final class Recipes {
    /** The recipe `jlora train` runs when given none. */
    public static final String DEFAULT = "tiny";

    private static final List<String> NAMES = List.of("tiny", "qwen2.5-14b-ko-chat", "qwen2.5-1.5b-tool-calling",
            "generic-lora", "generic-qlora", "llama2-7b-korquad-qlora", "r1-distill-qwen-32b-reasoning");

    /** A recipe's name and its one-line description. */
    public record Entry(String name, String description) {
    }

    private Recipes() {
    }

    public static List<String> names() {
        return NAMES;
    }

    /** Every recipe with the description its YAML carries, in the order `jlora train --help` lists them. */
    public static List<Entry> list() {
        return NAMES.stream().map(n -> new Entry(n, load(n).description())).toList();
    }

    /** The recipe alone over the defaults, validated. */
    public static TrainConfig load(String name) {
        return ConfigLoader.load(name, null, List.of());
    }

    static String resourceName(String name) {
        return "recipes/" + name + ".yaml";
    }

    static String text(String name) {
        try (InputStream in = Recipes.class.getResourceAsStream("/jlora/" + resourceName(name))) {
            if (in == null) throw new IllegalStateException("recipe resource missing from the jar: " + resourceName(name));
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read recipe " + name, e);
        }
    }
}
