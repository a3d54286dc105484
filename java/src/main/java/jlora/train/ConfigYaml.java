package jlora.train;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * Writes a config as YAML with every key, in schema order, enums by their YAML names. Numbers
 * are written by Java's shortest round-trip form (2.0E-4), which {@link ConfigValues} reads
 * back to the same double, so the file loads to an equal config.
 */
final class ConfigYaml {
    private ConfigYaml() {
    }

    static String write(TrainConfig c) {
        DumperOptions opts = new DumperOptions();
        opts.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
        opts.setIndent(2);
        opts.setIndicatorIndent(2);
        opts.setIndentWithIndicator(true);
        opts.setAllowUnicode(true);
        // One line per value: folding long strings is legal YAML but easy to break by hand-editing.
        opts.setSplitLines(false);
        String body = new Yaml(opts).dump(plain(ConfigTree.toTree(c)));
        return "# jlora train config, fully resolved (defaults <- recipe <- your YAML <- command line).\n"
                + "# Every key is written; loading this file alone gives the same config.\n" + body;
    }

    /** Enums to their YAML names; everything else as is. */
    private static Object plain(Object v) {
        if (v instanceof Enum<?> e) return ConfigSchema.enumName(e);
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (var e : m.entrySet()) out.put((String) e.getKey(), plain(e.getValue()));
            return out;
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            for (Object o : l) out.add(plain(o));
            return out;
        }
        return v;
    }
}
