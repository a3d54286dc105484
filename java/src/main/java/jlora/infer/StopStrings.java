package jlora.infer;

import java.util.List;

/**
 * Finds stop strings in streamed text, wherever the token boundaries fall: text that could
 * still be the start of a stop string is held back until it either completes one or cannot.
 * The stop string itself and everything after it are never released (OpenAI's {@code stop}).
 */
public final class StopStrings {
    private final List<String> stops;
    private final StringBuilder held = new StringBuilder();
    private boolean stopped;

    StopStrings(List<String> stops) {
        this.stops = stops;
    }

    /** Adds decoded text; returns the part that is certainly before any stop string. */
    public String push(String text) {
        if (stopped) return "";
        held.append(text);
        int cut = -1;
        for (String s : stops) {
            int at = held.indexOf(s);
            if (at >= 0 && (cut < 0 || at < cut)) cut = at;
        }
        if (cut >= 0) {
            stopped = true;
            String out = held.substring(0, cut);
            held.setLength(0);
            return out;
        }
        int keep = 0; // longest suffix of held that is a proper prefix of some stop string
        for (String s : stops) {
            for (int k = Math.min(s.length() - 1, held.length()); k > keep; k--) {
                if (held.substring(held.length() - k).equals(s.substring(0, k))) {
                    keep = k;
                    break;
                }
            }
        }
        String out = held.substring(0, held.length() - keep);
        held.delete(0, held.length() - keep);
        return out;
    }

    public boolean stopped() {
        return stopped;
    }

    /** Text held back at the end of the stream (it never completed a stop string). */
    public String flush() {
        String out = stopped ? "" : held.toString();
        held.setLength(0);
        return out;
    }
}
