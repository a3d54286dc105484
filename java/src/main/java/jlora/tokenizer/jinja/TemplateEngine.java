package jlora.tokenizer.jinja;

import jlora.io.PythonJson;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.el.JinjavaProcessors;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.loader.ResourceLocator;
import com.hubspot.jinjava.tree.Node;
import jinjava.javax.el.CompositeELResolver;
import jlora.UserError;

import java.nio.charset.Charset;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Jinjava set up the way transformers renders chat templates (an ImmutableSandboxedEnvironment
 * with trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False) and sandboxed:
 * no template loading (include/import/extends fail), no Java method calls (see
 * {@link PythonResolver}), bounded output, string and list sizes, and a wall-clock deadline
 * checked before every node, so a template that loops for a long time stops within one node.
 */
public final class TemplateEngine {
    /** Limits of one render. The defaults are far above any real chat (a 128k-token prompt is ~0.5 MB). */
    public record Limits(long maxOutputChars, Duration timeout, int maxListSize, int rangeLimit) {
        public static final Limits DEFAULT = new Limits(16L << 20, Duration.ofSeconds(10), 1_000_000, 1_000_000);
    }

    private static final ThreadLocal<Long> DEADLINE = new ThreadLocal<>();
    private static final java.util.regex.Pattern GENERATION_BLOCK = java.util.regex.Pattern.compile("\\{%[-+]?\\s*generation\\s*[-+]?%}");

    private final Jinjava jinjava;
    private final Limits limits;

    public TemplateEngine(Limits limits) {
        this.limits = limits;
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonResolver());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        JinjavaConfig config = JinjavaConfig.newBuilder()
                // Python Jinja2 semantics where Jinjava kept its own for compatibility: {{- -}}
                // trimming, operator precedence, backslash escapes only inside quotes, dict
                // literal keys evaluated, loops over dicts yielding keys.
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withUseNaturalOperatorPrecedence(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withHandleBackslashInQuotesOnly(true)
                        .withEvaluateMapKeys(true)
                        .withIterateOverMapKeys(true)
                        .withKeepNullableLoopValues(true)
                        .build())
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withKeepTrailingNewline(true)  // Jinjava's false trims output; TemplateRewriter trims the source as Jinja2 does
                .withNestedInterpretationEnabled(false)
                .withFailOnUnknownTokens(false)
                .withEnableRecursiveMacroCalls(false)
                .withMaxOutputSize(limits.maxOutputChars())
                .withMaxStringLength(limits.maxOutputChars())
                .withMaxListSize(limits.maxListSize())
                .withMaxMapSize(limits.maxListSize())
                .withRangeLimit(limits.rangeLimit())
                .withElResolver(resolver)
                .withProcessors(JinjavaProcessors.newBuilder().withNodePreProcessor(TemplateEngine::checkDeadline).build())
                .build();
        jinjava = new Jinjava(config);
        jinjava.setResourceLocator(new NoTemplateLoading());
        var globals = jinjava.getGlobalContext();
        globals.registerFunction(new ELFunctionDefinition("", "py_slice", TemplateFunctions.class, "pySlice",
                Object.class, Object.class, Object.class));
        globals.registerFunction(new ELFunctionDefinition("", "raise_exception", TemplateFunctions.class,
                "raiseException", Object.class));
        globals.registerFunction(new ELFunctionDefinition("", "strftime_now", TemplateFunctions.class,
                "strftimeNow", Object.class));
        globals.registerFilter(new ToJson());
        globals.registerFunction(new ELFunctionDefinition("", "py_str", TemplateFunctions.class, "pyStr", Object.class));
        globals.registerTag(new GenerationTag());
        PythonTests.all().forEach(globals::registerExpTest);
    }

    /** A parsed template: parse once, render many times (a conversation's spans take 2n+1 renders). */
    public static final class Compiled {
        private final Node root;
        private final String origin;

        private final boolean generationBlocks;

        private Compiled(Node root, String origin, boolean generationBlocks) {
            this.root = root;
            this.origin = origin;
            this.generationBlocks = generationBlocks;
        }

        public boolean hasGenerationBlocks() { return generationBlocks; }
    }

    /**
     * Parses a {@link TemplateRewriter rewritten} template; a syntax error is a UserError now,
     * not at the first render. {@code origin} names the template's file for messages.
     */
    public Compiled compile(String template, String origin) {
        JinjavaInterpreter interpreter = jinjava.newInterpreter();
        JinjavaInterpreter.pushCurrent(interpreter);
        Node root;
        try {
            root = interpreter.parse(template);
        } catch (RuntimeException e) {
            throw toUserError(origin, -1, e.getMessage(), e);
        } finally {
            JinjavaInterpreter.popCurrent();
        }
        throwIfFailed(interpreter.getErrorsCopy(), origin);
        return new Compiled(root, origin, GENERATION_BLOCK.matcher(template).find());
    }

    /** Parses and renders once: for tests and one-off templates. */
    public String render(String template, Map<String, Object> context, String origin) {
        return render(compile(template, origin), context);
    }

    public String render(Compiled template, Map<String, Object> context) {
        JinjavaConfig config = jinjava.getGlobalConfig();
        Context scope = new Context(jinjava.getGlobalContext(), context, config.getDisabled());
        JinjavaInterpreter interpreter = config.getInterpreterFactory().newInstance(jinjava, scope, config);
        DEADLINE.set(System.nanoTime() + limits.timeout().toNanos());
        JinjavaInterpreter.pushCurrent(interpreter);
        String output = null;
        RuntimeException thrown = null;
        try {
            output = interpreter.render(template.root, true);
        } catch (RuntimeException e) {
            thrown = e;  // often a wrapper; the recorded errors name the cause
        } finally {
            JinjavaInterpreter.popCurrent();
            DEADLINE.remove();
            LoopItems.clear();
        }
        if (thrown != null && rank(thrown) == 0) throw toUserError(template.origin, -1, thrown.getMessage(), thrown);
        throwIfFailed(interpreter.getErrorsCopy(), template.origin);
        if (thrown != null) throw toUserError(template.origin, -1, thrown.getMessage(), thrown);
        return output;
    }

    private void throwIfFailed(List<TemplateError> errors, String origin) {
        // Jinjava lists the enclosing tags' wrapper errors before the cause; report the cause.
        TemplateError worst = null;
        int worstRank = Integer.MAX_VALUE;
        for (TemplateError error : errors) {
            if (!isFatal(error)) continue;
            int rank = rank(error);
            if (rank < worstRank) { worst = error; worstRank = rank; }
        }
        if (worst != null) throw toUserError(origin, worst.getLineno(), worst.getMessage(), worst.getException());
    }

    /**
     * Jinjava goes on after most errors; Python raises. A missing attribute stays benign (it is
     * Jinja's Undefined), but an exception, a macro cycle or a size limit stops the render.
     */
    private static boolean isFatal(TemplateError error) {
        return error.getSeverity() == TemplateError.ErrorType.FATAL
                || error.getReason() == TemplateError.ErrorReason.EXCEPTION
                || error.getReason() == TemplateError.ErrorReason.OUTPUT_TOO_BIG
                || error.getReason() == TemplateError.ErrorReason.COLLECTION_TOO_BIG;
    }

    /** Which error explains the failure: the template's own raise, then limits, then others. */
    private static int rank(TemplateError error) {
        if (error.getReason() == TemplateError.ErrorReason.OUTPUT_TOO_BIG) return 1;
        return rank(error.getException());
    }

    private static int rank(Throwable exception) {
        for (Throwable t = exception; t != null; t = t.getCause()) {
            if (t instanceof TemplateRaised) return 0;
            if (t instanceof RenderTimeout) return 2;
            if (t instanceof RenderAborted) return 9;
        }
        return 3;
    }

    private UserError toUserError(String origin, int line, String message, Throwable cause) {
        String where = origin + (line > 0 ? " line " + line : "");
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof TemplateRaised raised) {
                return new UserError("chat template (" + where + ") rejected the conversation: " + raised.getMessage(), raised);
            }
            if (t instanceof RenderTimeout) {
                return new UserError("chat template (" + where + ") ran longer than " + limits.timeout().toMillis()
                        + " ms and was stopped; check it for runaway loops", t);
            }
        }
        if (message != null && message.contains("OutputTooBig")) {
            return new UserError("chat template (" + where + ") produced more than " + limits.maxOutputChars()
                    + " characters and was stopped; check it for runaway loops");
        }
        return new UserError("chat template (" + where + ") failed: " + message, cause);
    }

    private static void checkDeadline(Node node, JinjavaInterpreter interpreter) {
        Long deadline = DEADLINE.get();
        if (deadline != null && System.nanoTime() > deadline) throw new RenderTimeout();
        // Jinjava records an error and renders on; once one is fatal, skip the rest of the work.
        for (TemplateError error : interpreter.getErrors()) {
            if (isFatal(error)) throw new RenderAborted();
        }
        LoopItems.beforeNode(node, interpreter);
    }

    private static final class RenderTimeout extends RuntimeException {
        RenderTimeout() { super("chat template render timed out"); }
    }

    private static final class RenderAborted extends RuntimeException {
        RenderAborted() { super("render stopped after an earlier error"); }
    }

    private static final class NoTemplateLoading implements ResourceLocator {
        @Override
        public String getString(String fullName, Charset encoding, JinjavaInterpreter interpreter) {
            throw new UserError("chat templates may not load other templates (tried \"" + fullName + "\")");
        }
    }

    /** HF's tojson: {@code tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)}. */
    private static final class ToJson implements Filter {
        @Override public String getName() { return "tojson"; }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, args, Map.of());
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.getOrDefault("indent", args.length > 0 ? args[0] : null);
            Object sort = kwargs.get("sort_keys");
            Integer n = indent == null ? null : Integer.valueOf(indent.toString().trim());
            return PythonJson.dumps(var, n, sort != null && Boolean.parseBoolean(sort.toString()), false);
        }
    }
}
