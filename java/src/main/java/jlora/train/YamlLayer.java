package jlora.train;

import java.io.StringReader;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jlora.UserError;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * One YAML source read against the schema into a partial, typed tree. SnakeYAML only composes
 * the node graph (no object construction, so no types can be instantiated from the file); the
 * schema types every value, and each node's start mark gives the line for errors.
 *
 * @param tree the keys this source sets
 * @param origins dotted key path to "SOURCE line N", for messages about values after merging
 */
record YamlLayer(Map<String, Object> tree, Map<String, String> origins) {

    static YamlLayer parse(String text, String source) {
        Node root;
        try {
            root = new Yaml(new SafeConstructor(new LoaderOptions())).compose(new StringReader(text));
        } catch (MarkedYAMLException e) {
            int line = e.getProblemMark() != null ? e.getProblemMark().getLine() + 1 : 0;
            throw new UserError(source + " line " + line + ": not valid YAML: " + e.getProblem()
                    + "; fix the syntax there (indent with spaces, 'key: value')");
        } catch (YAMLException e) {
            throw new UserError(source + ": not valid YAML: " + e.getMessage());
        }
        Reader r = new Reader(source);
        if (root == null || (root instanceof ScalarNode s && s.getTag().equals(Tag.NULL))) {
            return new YamlLayer(new LinkedHashMap<>(), r.origins);
        }
        Object tree = r.read(root, TrainConfig.class, false, "");
        return new YamlLayer(ConfigTree.cast(tree), r.origins);
    }

    private static final class Reader {
        final String source;
        final Map<String, String> origins = new LinkedHashMap<>();

        Reader(String source) {
            this.source = source;
        }

        Object read(Node node, Type type, boolean nullable, String path) {
            origins.put(path, where(node));
            if (node instanceof ScalarNode s && s.getTag().equals(Tag.NULL)) {
                if (!nullable) throw error(node, "'" + path + "' needs a value: "
                        + ConfigSchema.describe(type));
                return null;
            }
            if (ConfigSchema.isRecord(type)) {
                if (type == DataFile.class && node instanceof ScalarNode s) return ConfigTree.toTree(DataFile.of(s.getValue()));
                if (!(node instanceof MappingNode m)) throw mismatch(node, type, path);
                return mapping(m, (Class<?>) type, path);
            }
            if (ConfigSchema.isList(type)) {
                Type element = ConfigSchema.elementType(type);
                if (node instanceof SequenceNode seq) {
                    List<Object> out = new ArrayList<>();
                    for (int i = 0; i < seq.getValue().size(); i++) {
                        Node item = seq.getValue().get(i);
                        if (item instanceof ScalarNode s && s.getTag().equals(Tag.NULL)) {
                            throw error(item, "'" + path + "' entry " + i + " is empty; give "
                                    + ConfigSchema.describe(element) + " or remove the line");
                        }
                        out.add(read(item, element, false, path + "." + i));
                    }
                    origins.put(path, where(node));
                    return out;
                }
                // A scalar where a list goes is a comma list: "q_proj,v_proj", "all-linear", "a.jsonl".
                if (node instanceof ScalarNode s && (!ConfigSchema.isRecord(element) || element == DataFile.class)) {
                    return value(s, type, path);
                }
                throw mismatch(node, type, path);
            }
            if (ConfigSchema.isStringMap(type)) {
                if (!(node instanceof MappingNode m)) throw mismatch(node, type, path);
                Map<String, Object> out = new LinkedHashMap<>();
                for (NodeTuple t : m.getValue()) {
                    String k = key(t.getKeyNode(), path);
                    if (!(t.getValueNode() instanceof ScalarNode v) || v.getTag().equals(Tag.NULL)) {
                        throw mismatch(t.getValueNode(), String.class, path + "." + k);
                    }
                    out.put(k, v.getValue());
                }
                return out;
            }
            if (!(node instanceof ScalarNode s)) throw mismatch(node, type, path);
            return value(s, type, path);
        }

        private Map<String, Object> mapping(MappingNode m, Class<?> type, String path) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (NodeTuple t : m.getValue()) {
                String k = key(t.getKeyNode(), path);
                String child = path.isEmpty() ? k : path + "." + k;
                Type ct = ConfigSchema.typeOf(type, k);
                if (ct == null) {
                    throw error(t.getKeyNode(), "unknown key '" + child + "'" + KeySuggestion.hint(type, path, k));
                }
                if (out.containsKey(k)) {
                    throw error(t.getKeyNode(), "key '" + child + "' appears twice in this mapping; keep one");
                }
                out.put(k, read(t.getValueNode(), ct, ConfigSchema.nullable(type, k), child));
            }
            return out;
        }

        private String key(Node keyNode, String path) {
            if (keyNode instanceof ScalarNode s && !s.getTag().equals(Tag.NULL)) return s.getValue();
            throw error(keyNode, "keys under '" + (path.isEmpty() ? "the top level" : path) + "' must be plain names");
        }

        private Object value(ScalarNode s, Type type, String path) {
            try {
                return ConfigValues.scalar(s.getValue(), type);
            } catch (ConfigValues.BadValue e) {
                throw error(s, "'" + path + "' " + e.getMessage());
            }
        }

        private UserError mismatch(Node node, Type type, String path) {
            String got = switch (node) {
                case MappingNode ignored -> "a mapping";
                case SequenceNode ignored -> "a list";
                case ScalarNode s -> s.getTag().equals(Tag.NULL) ? "nothing" : "'" + s.getValue() + "'";
                default -> "something else";
            };
            return error(node, "'" + path + "' expected " + ConfigSchema.describe(type) + ", got " + got);
        }

        private UserError error(Node node, String message) {
            return new UserError(where(node) + ": " + message);
        }

        private String where(Node node) {
            return source + " line " + (node.getStartMark().getLine() + 1);
        }
    }
}
