package jlora.data;

import jlora.UserError;

import java.nio.file.Path;

/**
 * One file in a mix. {@code weight} scales how often its examples appear: 1 as they are,
 * 2.5 = every example twice plus a seeded half of them once more, 0.3 = a seeded 30%.
 */
public record DataSource(Path file, double weight, ReaderOptions options) {
    public DataSource {
        if (!(weight >= 0) || Double.isInfinite(weight)) {
            throw new UserError(file + ": weight " + weight + " is not a finite number >= 0");
        }
        if (options == null) options = ReaderOptions.DEFAULTS;
    }

    public static DataSource of(Path file) { return new DataSource(file, 1.0, ReaderOptions.DEFAULTS); }
}
