package jlora.train.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import jlora.UserError;
import jlora.io.AtomicFiles;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Loss and learning-rate curves of a run as PNGs, drawn from its metrics.jsonl (so a finished
 * or crashed run can be redrawn by {@code jlora report}). Headless: no display is needed.
 */
public final class Plots {
    private Plots() {}

    public static final String DIR = "plots";
    public static final int WIDTH = 900;
    public static final int HEIGHT = 500;

    /**
     * Writes {@code runDir/plots/loss.png} (train and eval loss against step) and, when the
     * run logged a learning rate, {@code lr.png}. Returns the files written.
     */
    public static List<Path> render(Path runDir) {
        Path metrics = runDir.resolve(JsonlMetrics.FILE_NAME);
        if (!Files.isRegularFile(metrics)) {
            throw new UserError("no " + JsonlMetrics.FILE_NAME + " in " + runDir
                    + "; give the run directory a training run wrote (it holds metrics.jsonl)");
        }
        Map<String, TreeMap<Long, Double>> series = read(metrics);
        TreeMap<Long, Double> train = series.getOrDefault(MetricNames.LOSS, new TreeMap<>());
        TreeMap<Long, Double> eval = series.getOrDefault(MetricNames.EVAL_LOSS, new TreeMap<>());
        TreeMap<Long, Double> lr = series.getOrDefault(MetricNames.LR, new TreeMap<>());
        if (train.isEmpty() && eval.isEmpty()) {
            throw new UserError(metrics + " has no " + MetricNames.LOSS + " or " + MetricNames.EVAL_LOSS
                    + " values yet; plots need at least one logged step");
        }
        // AWT reads this once, at its first use; set it before any chart class touches fonts.
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");

        List<Path> written = new ArrayList<>();
        XYChart loss = chart("Loss", "loss");
        if (!train.isEmpty()) add(loss, "train", train);
        if (!eval.isEmpty()) add(loss, "eval", eval);
        written.add(write(loss, runDir.resolve(DIR).resolve("loss.png")));
        if (!lr.isEmpty()) {
            // XChart's tick placement breaks down for axis ranges near 1e-4 (ticks at data
            // values, labels overlapping), so the curve is drawn in units of a power of ten.
            double max = lr.values().stream().mapToDouble(Math::abs).max().orElse(0);
            int exp = max > 0 ? (int) Math.floor(Math.log10(max)) : 0;
            double unit = Math.pow(10, exp);
            TreeMap<Long, Double> scaled = new TreeMap<>();
            lr.forEach((step, v) -> scaled.put(step, v / unit));
            XYChart lrChart = chart("Learning rate", exp == 0 ? "lr" : "lr (x 1e" + exp + ")");
            lrChart.getStyler().setLegendVisible(false);
            add(lrChart, "lr", scaled);
            written.add(write(lrChart, runDir.resolve(DIR).resolve("lr.png")));
        }
        return written;
    }

    /** Per scalar name, value by step; a step logged twice keeps its last value. Strings ("NaN") and torn lines are skipped. */
    static Map<String, TreeMap<Long, Double>> read(Path metrics) {
        Map<String, TreeMap<Long, Double>> series = new TreeMap<>();
        List<String> lines;
        try {
            lines = Files.readAllLines(metrics, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UserError("cannot read " + metrics + ": " + e.getMessage());
        }
        for (String line : lines) {
            JsonNode node = JsonlMetrics.parseOrNull(line);
            if (node == null || !node.path("step").canConvertToLong()) continue;
            long step = node.get("step").asLong();
            for (var f : node.properties()) {
                if (f.getValue().isNumber() && !f.getKey().equals("step") && !f.getKey().equals("time")) {
                    series.computeIfAbsent(f.getKey(), k -> new TreeMap<>()).put(step, f.getValue().asDouble());
                }
            }
        }
        return series;
    }

    private static XYChart chart(String title, String yTitle) {
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT)
                .title(title).xAxisTitle("step").yAxisTitle(yTitle).build();
        chart.getStyler().setXAxisMin(0.0);
        return chart;
    }

    private static void add(XYChart chart, String name, TreeMap<Long, Double> points) {
        double[] x = new double[points.size()];
        double[] y = new double[points.size()];
        int i = 0;
        for (var p : points.entrySet()) {
            x[i] = p.getKey();
            y[i++] = p.getValue();
        }
        // Eval points are sparse: markers make single points visible; dense train curves stay lines.
        chart.addSeries(name, x, y).setMarker(points.size() > 50 ? SeriesMarkers.NONE : SeriesMarkers.CIRCLE);
    }

    private static Path write(XYChart chart, Path png) {
        byte[] bytes;
        try {
            bytes = BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
        } catch (IOException e) {
            throw new UserError("cannot encode " + png + ": " + e.getMessage());
        }
        AtomicFiles.writeBytes(png, bytes);
        return png;
    }
}
