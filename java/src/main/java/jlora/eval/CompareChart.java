package jlora.eval;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

/**
 * The before/after bar chart: one group per score metric (the [0, 1] rates, which share an
 * axis), a base bar and a tuned bar in each. Loss, latency and memory have other scales and
 * stay in the table. A metric either model could not measure is left out.
 */
public final class CompareChart {
    private CompareChart() {}

    /** The metrics the chart shows for this pair, in table order. */
    public static List<String> charted(EvalReport base, EvalReport tuned) {
        List<String> names = new ArrayList<>();
        for (EvalReport.Metric m : EvalReport.METRICS) {
            if (m.score() && base.metric(m.name()) != null && tuned.metric(m.name()) != null) names.add(m.name());
        }
        return names;
    }

    public static byte[] png(EvalReport base, EvalReport tuned) {
        System.setProperty("java.awt.headless", "true");
        List<String> names = charted(base, tuned);
        CategoryChart chart = new CategoryChartBuilder().width(900).height(500)
                .title("base vs tuned").xAxisTitle("metric").yAxisTitle("score").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        chart.getStyler().setXAxisLabelRotation(30);
        chart.getStyler().setYAxisMin(0.0);
        chart.getStyler().setYAxisMax(1.0);
        if (names.isEmpty()) {
            // XChart cannot draw an empty category series; a placeholder says why the chart is blank.
            names = List.of("no score metric measured");
            chart.addSeries("base", names, List.of(0.0));
            chart.addSeries("tuned", names, List.of(0.0));
        } else {
            chart.addSeries("base", names, names.stream().map(base::metric).toList());
            chart.addSeries("tuned", names, names.stream().map(tuned::metric).toList());
        }
        try {
            return BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
