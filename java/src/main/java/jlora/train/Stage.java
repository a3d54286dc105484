package jlora.train;

import java.util.Map;

/**
 * One stage of a multi-stage recipe: a name, where its weights start, and the keys it changes
 * relative to the top-level config. In YAML the overrides sit beside name and start_from:
 * <pre>
 * stages:
 *   - name: reasoning
 *   - name: korean
 *     start_from: merged
 *     data: {files: [ko.jsonl]}
 * </pre>
 *
 * @param name names the stage's sub-directory of the run dir
 * @param startFrom {@code base}: the base model with a fresh adapter (the first stage);
 *     {@code adapter}: continue training the previous stage's adapter on the same base;
 *     {@code merged}: merge the previous stage's adapter into the base, then start a fresh
 *     adapter on the merged weights (the R1 seed's "save and merge after each stage")
 * @param overrides a partial config tree (section name to keys), checked against the schema
 *     when loaded; values are the typed values of the schema (Integer, Double, enums ...)
 */
public record Stage(String name, StartFrom startFrom, Map<String, Object> overrides) {

    /** What a stage's trainable state starts from. */
    public enum StartFrom { BASE, ADAPTER, MERGED }

    public Stage {
        overrides = overrides == null ? Map.of() : ConfigTree.frozen(overrides);
    }

    static Stage defaults() {
        return new Stage(null, null, Map.of());
    }
}
