package jlora.data;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * A PNG histogram of token lengths (XChart); bins reaching past max_seq_length in a second colour.
 * Bins are equal-width over [0, max(longest, maxSeqLength)], at most {@link #BINS} of them, each
 * labelled by its lower edge; a length equal to a bin's upper edge falls in the next bin.
 */
public final class LengthHistogram {
    public static final int BINS = 40;

    private LengthHistogram() {}

    /** Bin counts and the bin width for these lengths. */
    public static int[] counts(int[] lengths, int maxSeqLength, int[] widthOut) {
        int top = maxSeqLength;
        for (int l : lengths) top = Math.max(top, l);
        int width = Math.max(1, (top + BINS) / BINS);  // ceil((top + 1) / BINS): the last bin holds top
        int bins = top / width + 1;
        int[] counts = new int[bins];
        for (int l : lengths) counts[l / width]++;
        widthOut[0] = width;
        return counts;
    }

    public static byte[] png(int[] lengths, int maxSeqLength, String title) {
        System.setProperty("java.awt.headless", "true");
        int[] width = new int[1];
        int[] counts = counts(lengths, maxSeqLength, width);
        // Two overlapped series on the same categories colour the bins past the cut differently.
        List<Integer> x = new ArrayList<>();
        List<Integer> within = new ArrayList<>();
        List<Integer> over = new ArrayList<>();
        for (int b = 0; b < counts.length; b++) {
            x.add(b * width[0]);
            boolean past = (b + 1) * width[0] - 1 > maxSeqLength;
            within.add(past ? 0 : counts[b]);
            over.add(past ? counts[b] : 0);
        }
        CategoryChart chart = new CategoryChartBuilder().width(900).height(500)
                .title(title + " (max_seq_length " + maxSeqLength + ")")
                .xAxisTitle("tokens (bin start, width " + width[0] + ")").yAxisTitle("examples").build();
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNE);
        chart.getStyler().setXAxisLabelRotation(90);
        chart.getStyler().setOverlapped(true);
        chart.addSeries("fits max_seq_length", x, within);
        chart.addSeries("longer (bin reaches past it)", x, over);
        try {
            return BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
