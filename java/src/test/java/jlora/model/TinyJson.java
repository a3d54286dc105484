package jlora.model;

/** Small hand-written config.json texts for tests; {@code extra} is appended inside the object. */
final class TinyJson {
    private TinyJson() {
    }

    static String qwen2(String extra) {
        return "{\"model_type\": \"qwen2\", \"hidden_size\": 64, \"intermediate_size\": 128,"
                + " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 2,"
                + " \"vocab_size\": 100" + extra + "}";
    }

    static String llama(String extra) {
        return "{\"model_type\": \"llama\", \"hidden_size\": 64, \"intermediate_size\": 128,"
                + " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"vocab_size\": 100" + extra + "}";
    }
}
