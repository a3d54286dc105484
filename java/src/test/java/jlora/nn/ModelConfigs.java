package jlora.nn;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import jlora.model.ModelConfig;
import jlora.model.TinyModelSpec;

/** Model configs for LoRA tests: the published config.json files kept under jlora/model/configs. */
public final class ModelConfigs {
    private ModelConfigs() {}

    public static ModelConfig published(String name) {
        try {
            var url = ModelConfigs.class.getResource("/jlora/model/configs/" + name + ".json");
            if (url == null) throw new IllegalStateException("test resource jlora/model/configs/" + name + ".json is missing");
            return ModelConfig.load(Path.of(url.toURI()));
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The built-in tiny Qwen2 (2 layers, hidden 64, GQA 4:2, MLP 128). */
    public static ModelConfig tiny() {
        return new TinyModelSpec(256, null, List.of(1)).modelConfig();
    }
}
