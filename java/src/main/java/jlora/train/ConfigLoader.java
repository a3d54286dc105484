package jlora.train;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jlora.UserError;

/**
 * Layers, later wins: built-in defaults, then the recipe (a built-in name or a YAML path), then
 * the user's YAML, then command-line overrides. Mappings merge key by key; lists replace. The
 * result is bound to records and validated, each stage too.
 */
final class ConfigLoader {
    private ConfigLoader() {
    }

    static TrainConfig load(String recipe, Path userYaml, List<String> overrideArgs) {
        Map<String, Object> tree = new LinkedHashMap<>();
        Map<String, String> origins = new LinkedHashMap<>();
        if (recipe != null) {
            YamlLayer layer = recipeLayer(recipe);
            tree = ConfigTree.merge(TrainConfig.class, tree, layer.tree());
            origins.putAll(layer.origins());
        }
        if (userYaml != null) {
            YamlLayer layer = YamlLayer.parse(readFile(userYaml), userYaml.toString());
            tree = ConfigTree.merge(TrainConfig.class, tree, layer.tree());
            origins.putAll(layer.origins());
        }
        CliOverrides.apply(overrideArgs == null ? List.of() : overrideArgs, tree, origins);
        TrainConfig config = ConfigTree.fromTree(TrainConfig.class, tree, TrainConfig.defaults());
        ConfigValidator.validate(config, origins);
        return config;
    }

    /** Parses YAML text as one layer over the defaults alone (recipes, tests). */
    static TrainConfig fromYaml(String text, String source) {
        YamlLayer layer = YamlLayer.parse(text, source);
        TrainConfig config = ConfigTree.fromTree(TrainConfig.class, layer.tree(), TrainConfig.defaults());
        ConfigValidator.validate(config, layer.origins());
        return config;
    }

    private static YamlLayer recipeLayer(String recipe) {
        if (Recipes.names().contains(recipe)) {
            return YamlLayer.parse(Recipes.text(recipe), Recipes.resourceName(recipe));
        }
        Path p = Path.of(recipe);
        if (recipe.endsWith(".yaml") || recipe.endsWith(".yml") || Files.isRegularFile(p)) {
            return YamlLayer.parse(readFile(p), recipe);
        }
        String near = null;
        int best = Integer.MAX_VALUE;
        for (String n : Recipes.names()) {
            int d = KeySuggestion.distance(recipe, n);
            if (d < best) {
                best = d;
                near = n;
            }
        }
        String hint = best <= Math.max(3, recipe.length() / 3) ? "did you mean '" + near + "'? " : "";
        throw new UserError("unknown recipe '" + recipe + "': " + hint + "built-in recipes are "
                + String.join(", ", Recipes.names()) + "; or give the path of a YAML file");
    }

    private static String readFile(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new UserError(p + ": no such config file; check the path");
        } catch (IOException e) {
            throw new UserError(p + ": cannot read the config file (" + e.getMessage() + ")");
        }
    }
}
