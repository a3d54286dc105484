package jlora.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.SequencedSet;
import java.util.stream.Stream;
import jlora.UserError;
import jlora.tensor.Tensor;

/**
 * The safetensors weights of a model or adapter directory, as one name → tensor map over one or
 * more mapped files. Which files, in the order transformers looks: {@code model.safetensors};
 * else {@code model.safetensors.index.json} and the shards its {@code weight_map} names (every
 * shard must exist and hold every tensor mapped to it); else the directory's only
 * {@code *.safetensors} file (e.g. PEFT's {@code adapter_model.safetensors}). A path to a single
 * {@code .safetensors} file also works. For a sharded model the names are the weight_map's: a
 * tensor a shard holds but the index does not map is not visible, as in transformers.
 */
public final class SafetensorsDir implements AutoCloseable {
    static final String SINGLE = "model.safetensors";
    static final String INDEX = "model.safetensors.index.json";
    private static final long MAX_INDEX_BYTES = 100_000_000L;
    private static final int LIST_AT_MOST = 10;

    private final Path dir;
    private final List<SafetensorsFile> shards;
    private final SequencedMap<String, SafetensorsFile> owner;

    private SafetensorsDir(Path dir, List<SafetensorsFile> shards, SequencedMap<String, SafetensorsFile> owner) {
        this.dir = dir;
        this.shards = List.copyOf(shards);
        this.owner = Collections.unmodifiableSequencedMap(owner);
    }

    public static SafetensorsDir open(Path path) {
        if (Files.isRegularFile(path)) return single(path, path);
        if (!Files.isDirectory(path)) throw new UserError(path + ": no such directory");
        Path single = path.resolve(SINGLE);
        if (Files.isRegularFile(single)) return single(path, single);
        Path index = path.resolve(INDEX);
        if (Files.isRegularFile(index)) return sharded(path, index);
        List<Path> found;
        try (Stream<Path> files = Files.list(path)) {
            found = files.filter(p -> p.getFileName().toString().endsWith(".safetensors") && Files.isRegularFile(p))
                    .sorted().toList();
        } catch (IOException e) {
            throw new UserError(path + ": cannot list the directory: " + e.getMessage(), e);
        }
        if (found.size() == 1) return single(path, found.getFirst());
        if (found.isEmpty()) {
            throw new UserError(path + ": no " + SINGLE + ", " + INDEX + " or other .safetensors file;"
                    + " point at a Hugging Face model or adapter directory");
        }
        throw new UserError(path + ": has " + found.size() + " .safetensors files (" + listed(found.stream()
                .map(p -> p.getFileName().toString()).toList()) + ") but no " + INDEX + " saying which tensor is"
                + " where; add the index or keep one file");
    }

    private static SafetensorsDir single(Path dir, Path file) {
        SafetensorsFile f = SafetensorsFile.open(file);
        SequencedMap<String, SafetensorsFile> owner = new LinkedHashMap<>();
        for (String name : f.names()) owner.put(name, f);
        return new SafetensorsDir(dir, List.of(f), owner);
    }

    private static SafetensorsDir sharded(Path dir, Path index) {
        SequencedMap<String, String> weightMap = readWeightMap(index);
        String where = index.toString();
        List<String> shardNames = weightMap.values().stream().distinct().toList();
        List<String> missing = shardNames.stream().filter(s -> !Files.isRegularFile(dir.resolve(s))).toList();
        if (!missing.isEmpty()) {
            throw new UserError(where + ": " + missing.size() + " of " + shardNames.size() + " shards are missing: "
                    + listed(missing) + "; download them again");
        }
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
            for (String s : shardNames) {
                SafetensorsFile f = SafetensorsFile.open(dir.resolve(s));
                opened.add(f);
                byName.put(s, f);
            }
            SequencedMap<String, SafetensorsFile> owner = new LinkedHashMap<>();
            List<String> absent = new ArrayList<>();
            weightMap.forEach((tensor, shard) -> {
                SafetensorsFile f = byName.get(shard);
                if (f.contains(tensor)) owner.put(tensor, f);
                else absent.add(SafetensorsHeader.quote(tensor) + " (in " + shard + ")");
            });
            if (!absent.isEmpty()) {
                throw new UserError(where + ": " + absent.size() + " tensors are not in the shard the index names: "
                        + listed(absent) + "; the index and shards come from different saves, download them again");
            }
            return new SafetensorsDir(dir, opened, owner);
        } catch (RuntimeException e) {
            opened.forEach(SafetensorsFile::close);
            throw e;
        }
    }

    /** weight_map in file order; shard names must be plain file names in the same directory. */
    private static SequencedMap<String, String> readWeightMap(Path index) {
        String where = index.toString();
        JsonNode root;
        try {
            if (Files.size(index) > MAX_INDEX_BYTES) {
                throw new UserError(where + ": larger than " + MAX_INDEX_BYTES + " bytes; not a safetensors index");
            }
            JsonMapper mapper = JsonMapper.builder()
                    .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                    .disable(JsonReadFeature.ALLOW_TRAILING_COMMA)
                    .build();
            mapper.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build());
            root = mapper.readTree(index.toFile());
        } catch (JacksonException e) {
            throw new UserError(where + ": not valid JSON: " + e.getOriginalMessage().lines().findFirst().orElse(""), e);
        } catch (IOException e) {
            throw new UserError(where + ": cannot be read: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject() || !root.path("weight_map").isObject()) {
            throw new UserError(where + ": has no \"weight_map\" object; not a safetensors index");
        }
        SequencedMap<String, String> map = new LinkedHashMap<>();
        for (var e : root.get("weight_map").properties()) {
            String shard = e.getValue().isTextual() ? e.getValue().textValue() : null;
            if (shard == null || shard.isEmpty() || shard.contains("/") || shard.contains("\\")
                    || shard.equals(".") || shard.equals("..")) {
                throw new UserError(where + ": weight_map entry " + SafetensorsHeader.quote(e.getKey())
                        + " must name a shard file in the same directory, not " + e.getValue());
            }
            map.put(e.getKey(), shard);
        }
        return map;
    }

    private static String listed(List<String> items) {
        String head = String.join(", ", items.subList(0, Math.min(LIST_AT_MOST, items.size())));
        return items.size() > LIST_AT_MOST ? head + " and " + (items.size() - LIST_AT_MOST) + " more" : head;
    }

    /** The directory (or the single file) this was opened from. */
    public Path path() {
        return dir;
    }

    /** All tensor names: header order for one file, weight_map order for a sharded model. */
    public SequencedSet<String> names() {
        return owner.sequencedKeySet();
    }

    public boolean contains(String name) {
        return owner.containsKey(name);
    }

    public TensorInfo info(String name) {
        return file(name).info(name);
    }

    /** A zero-copy view, valid until {@link #close()}. */
    public Tensor tensor(String name) {
        return file(name).tensor(name);
    }

    /** The file that holds {@code name}. */
    public SafetensorsFile file(String name) {
        SafetensorsFile f = owner.get(name);
        if (f == null) throw new UserError(dir + ": has no tensor named " + SafetensorsHeader.quote(name));
        return f;
    }

    public List<SafetensorsFile> shards() {
        return shards;
    }

    /** Bytes of all tensors this directory exposes (the index's metadata.total_size). */
    public long totalBytes() {
        long sum = 0;
        for (String name : owner.keySet()) sum += info(name).byteSize();
        return sum;
    }

    @Override
    public void close() {
        shards.forEach(SafetensorsFile::close);
    }

    @Override
    public String toString() {
        return "SafetensorsDir[" + dir + ", " + shards.size() + " files, " + owner.size() + " tensors]";
    }
}
