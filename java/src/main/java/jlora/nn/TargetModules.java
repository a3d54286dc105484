package jlora.nn;

import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import jlora.UserError;

/**
 * Which linear layers get a LoRA adapter, with PEFT's matching rules (peft.tuners.tuners_utils
 * check_target_module_exists). A module is named by its path in the Hugging Face model, e.g.
 * {@code model.layers.3.self_attn.q_proj}.
 */
public sealed interface TargetModules {
    /** PEFT's shorthand for every linear layer except the output head. */
    String ALL_LINEAR = "all-linear";

    boolean matches(String modulePath);

    /**
     * A list of names: a module matches when its path equals a name or ends with "." + name, so
     * {@code q_proj}, {@code self_attn.q_proj} and a full path all work.
     */
    record Names(List<String> names) implements TargetModules {
        public Names {
            names = List.copyOf(names);
        }

        @Override
        public boolean matches(String modulePath) {
            return names.stream().anyMatch(n -> matchesName(modulePath, n));
        }

        static boolean matchesName(String modulePath, String name) {
            return modulePath.equals(name) || modulePath.endsWith("." + name);
        }
    }

    /**
     * A string other than "all-linear": PEFT full-matches it as a regular expression against the
     * module path (re.fullmatch). Java and Python agree on the common syntax; Python's named groups
     * {@code (?P<x>...)} are not Java's and are refused when compiled.
     */
    record Regex(String pattern) implements TargetModules {
        public Regex {
            try {
                Pattern.compile(pattern);
            } catch (PatternSyntaxException e) {
                throw new UserError("LoRA config: field 'target_modules' is the regular expression " + quote(pattern)
                        + ", which does not compile (" + e.getDescription() + " at index " + e.getIndex()
                        + "); give a list of module names such as [\"q_proj\", \"v_proj\"] instead");
            }
        }

        @Override
        public boolean matches(String modulePath) {
            return Pattern.compile(pattern).matcher(modulePath).matches();
        }
    }

    /** Every linear layer except lm_head (PEFT expands it at model-wrap time). */
    record AllLinear() implements TargetModules {
        @Override
        public boolean matches(String modulePath) {
            return true;
        }
    }

    /** A list of names, or the string form: "all-linear" (any case, as PEFT lowercases it) or a regex. */
    static TargetModules of(List<String> names) {
        return new Names(names);
    }

    static TargetModules of(String text) {
        return text.toLowerCase(Locale.ROOT).equals(ALL_LINEAR) ? new AllLinear() : new Regex(text);
    }

    private static String quote(String s) {
        return "'" + s + "'";
    }
}
