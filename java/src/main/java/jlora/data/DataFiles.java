package jlora.data;

import jlora.UserError;

import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The {@code data_files} filter: picks files from a directory by glob patterns matched
 * against their path relative to the directory (e.g. {@code kowiki_qa_data.jsonl},
 * {@code *.jsonl}, {@code ko/**.csv}). Without patterns every data file (.jsonl .ndjson .json
 * .csv .tsv .xlsx) under the directory is taken. Results are sorted, so mixes are reproducible.
 */
public final class DataFiles {
    private static final Set<String> DATA_EXTENSIONS = Set.of("jsonl", "ndjson", "json", "csv", "tsv", "tab", "xlsx");

    private DataFiles() {}

    public static List<Path> select(Path dir, List<String> patterns) {
        if (Files.isRegularFile(dir)) return List.of(dir);
        if (!Files.isDirectory(dir)) throw new UserError(dir + ": no such data file or directory; check the path");
        List<Path> all;
        try (Stream<Path> walk = Files.walk(dir)) {
            all = walk.filter(Files::isRegularFile).filter(p -> !isHidden(dir.relativize(p))).sorted().toList();
        } catch (IOException e) {
            throw new UserError(dir + ": cannot list (" + e.getMessage() + ")", e);
        }
        if (patterns == null || patterns.isEmpty()) {
            List<Path> data = all.stream().filter(DataFiles::isDataFile).toList();
            if (data.isEmpty()) throw new UserError(dir + ": holds no data files (.jsonl, .json, .csv, .tsv, .xlsx)");
            return data;
        }
        FileSystem fs = dir.getFileSystem();
        List<Path> out = new ArrayList<>();
        for (String pattern : patterns) {
            PathMatcher m = fs.getPathMatcher("glob:" + pattern);
            List<Path> hits = all.stream().filter(p -> m.matches(dir.relativize(p))).toList();
            if (hits.isEmpty()) {
                throw new UserError("data_files: \"" + pattern + "\" matches nothing in " + dir + "; files there: "
                        + all.stream().limit(10).map(p -> dir.relativize(p).toString()).toList());
            }
            for (Path p : hits) if (!out.contains(p)) out.add(p);
        }
        return out.stream().sorted().toList();
    }

    private static boolean isHidden(Path rel) {
        for (Path part : rel) if (part.toString().startsWith(".")) return true;
        return false;
    }

    private static boolean isDataFile(Path p) {
        String name = p.getFileName().toString().toLowerCase(Locale.ROOT);
        int dot = name.lastIndexOf('.');
        return dot > 0 && DATA_EXTENSIONS.contains(name.substring(dot + 1));
    }
}
