package jlora.model;

import java.net.URISyntaxException;
import java.nio.file.Path;

/** The published Hugging Face config.json files kept as test resources. */
final class Configs {
    private Configs() {
    }

    static Path path(String name) {
        try {
            return Path.of(Configs.class.getResource("configs/" + name + ".json").toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("test resource configs/" + name + ".json is missing", e);
        }
    }

    static ModelConfig load(String name) {
        return ModelConfig.load(path(name));
    }
}
