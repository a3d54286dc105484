package jlora.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import jlora.UserError;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What validation found over all files: rows read, rows kept, and per problem kind the count
 * and the first {@code keepPerKind} problems (as {@code file:line: reason}). Reading never
 * stops at a bad row; this report is how the user learns about them afterwards.
 */
public final class ValidationReport {
    public static final int DEFAULT_KEEP_PER_KIND = 5;

    private final int keepPerKind;
    private long rows;
    private long valid;
    private final Map<Problem.Kind, Long> counts = new EnumMap<>(Problem.Kind.class);
    private final Map<Problem.Kind, List<Problem>> firsts = new EnumMap<>(Problem.Kind.class);
    private final Map<String, Long> validPerFile = new LinkedHashMap<>();

    public ValidationReport() { this(DEFAULT_KEEP_PER_KIND); }

    public ValidationReport(int keepPerKind) {
        if (keepPerKind < 0) throw new IllegalArgumentException("keepPerKind < 0");
        this.keepPerKind = keepPerKind;
    }

    public synchronized void accepted(Example e) {
        rows++;
        valid++;
        validPerFile.merge(e.file(), 1L, Long::sum);
    }

    public synchronized void rejected(Problem p) {
        rows++;
        counts.merge(p.kind(), 1L, Long::sum);
        List<Problem> list = firsts.computeIfAbsent(p.kind(), k -> new ArrayList<>());
        if (list.size() < keepPerKind) list.add(p);
    }

    /**
     * Moves an already accepted example to the rejected side: for checks (like the length
     * check) that run after the reader counted the row as valid.
     */
    public synchronized void rejectedAfterAccept(Problem p) {
        valid--;
        validPerFile.merge(p.file(), -1L, Long::sum);
        rows--;
        rejected(p);
    }

    public synchronized long rows() { return rows; }
    public synchronized long valid() { return valid; }
    public synchronized long invalid() { return rows - valid; }
    public synchronized long count(Problem.Kind kind) { return counts.getOrDefault(kind, 0L); }
    public synchronized Map<Problem.Kind, Long> counts() { return Map.copyOf(counts); }
    public synchronized List<Problem> firstProblems(Problem.Kind kind) { return List.copyOf(firsts.getOrDefault(kind, List.of())); }
    public synchronized boolean clean() { return counts.isEmpty(); }

    /** The report as a JSON-ready tree: {@code rows, valid, invalid, valid_per_file, problems{kind: {count, label, first[]}}}. */
    public synchronized Map<String, Object> toJson() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("rows", rows);
        out.put("valid", valid);
        out.put("invalid", rows - valid);
        out.put("valid_per_file", new LinkedHashMap<>(validPerFile));
        Map<String, Object> problems = new LinkedHashMap<>();
        for (var e : counts.entrySet()) {
            Map<String, Object> kind = new LinkedHashMap<>();
            kind.put("label", e.getKey().label());
            kind.put("count", e.getValue());
            kind.put("first", firsts.getOrDefault(e.getKey(), List.of()).stream().map(Problem::toString).toList());
            problems.put(e.getKey().name().toLowerCase(java.util.Locale.ROOT), kind);
        }
        out.put("problems", problems);
        return out;
    }

    /** Writes {@link #toJson()} to {@code file} through a temp file and a rename, so no half-written report is left. */
    public void writeJson(Path file) {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) Files.createDirectories(parent);
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(tmp.toFile(), toJson());
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            try { Files.deleteIfExists(tmp); } catch (IOException ignored) { /* the original error matters more */ }
            throw new UserError("cannot write validation report " + file + ": " + e.getMessage() + "; check the directory is writable", e);
        }
    }

    /** A few lines for the terminal: totals, then each kind with its count and first locations. */
    public synchronized String summary() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("rows: %d  valid: %d  invalid: %d%n", rows, valid, rows - valid));
        for (var e : counts.entrySet()) {
            sb.append(String.format("  %-40s %d%n", e.getKey().label(), e.getValue()));
            for (Problem p : firsts.getOrDefault(e.getKey(), List.of())) sb.append("      ").append(p).append('\n');
            long more = e.getValue() - firsts.getOrDefault(e.getKey(), List.of()).size();
            if (more > 0) sb.append("      ... and ").append(more).append(" more\n");
        }
        return sb.toString();
    }
}
