package jlora.train.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import jlora.UserError;
import jlora.cli.ReportCommand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Oracle: javax.imageio decodes the PNGs (a valid file), at the size Plots promises, and the
 * picture is not blank (luminance variance > 0, i.e. something was drawn).
 */
class PlotsTest {
    @TempDir
    Path dir;

    private void writeRun(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        try (JsonlMetrics m = JsonlMetrics.open(dir)) {
            for (int step = 1; step <= 120; step++) {
                double lr = 2e-4 * Math.min(1, step / 10.0) * (1 + Math.cos(Math.PI * step / 120)) / 2;
                m.log(step, Map.of(MetricNames.LOSS, 3.0 * Math.exp(-step / 40.0) + 0.1 * rnd.nextDouble(),
                        MetricNames.LR, lr, MetricNames.EPOCH, step / 40.0));
                if (step % 40 == 0) m.log(step, Map.of(MetricNames.EVAL_LOSS, 3.0 * Math.exp(-step / 45.0)));
            }
        }
    }

    private static void assertDrawn(Path png) throws IOException {
        BufferedImage img = ImageIO.read(png.toFile());
        assertTrue(img != null, png + " does not decode as an image");
        assertEquals(Plots.WIDTH, img.getWidth(), png.toString());
        assertEquals(Plots.HEIGHT, img.getHeight(), png.toString());
        double sum = 0, sumSq = 0;
        int n = img.getWidth() * img.getHeight();
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y);
                double lum = 0.299 * (rgb >> 16 & 0xFF) + 0.587 * (rgb >> 8 & 0xFF) + 0.114 * (rgb & 0xFF);
                sum += lum;
                sumSq += lum * lum;
            }
        }
        double variance = sumSq / n - (sum / n) * (sum / n);
        assertTrue(variance > 0, png + " is blank (luminance variance " + variance + ")");
    }

    @Test
    void lossAndLrPngsDecodeAtTheirSizeAndAreNotBlank() throws IOException {
        long seed = System.nanoTime();
        writeRun(seed);
        List<Path> pngs = Plots.render(dir);
        assertEquals(List.of(dir.resolve("plots/loss.png"), dir.resolve("plots/lr.png")), pngs, "seed " + seed);
        for (Path png : pngs) assertDrawn(png);
    }

    @Test
    void reportCommandRedrawsAndSaysWhere() throws IOException {
        writeRun(1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CommandLine cl = new CommandLine(new ReportCommand());
        cl.setOut(new PrintWriter(out, true));
        assertEquals(0, cl.execute(dir.toString()));
        assertEquals("wrote " + dir.resolve("plots/loss.png") + "\nwrote " + dir.resolve("plots/lr.png"),
                out.toString().strip());
        java.nio.file.Files.createDirectories(dir.resolve(TensorBoardEvents.DIR));
        out.reset();
        assertEquals(0, cl.execute(dir.toString()));
        assertTrue(out.toString().contains("tensorboard --logdir " + dir.resolve(TensorBoardEvents.DIR)), out.toString());
        assertDrawn(dir.resolve("plots/loss.png"));
    }

    @Test
    void aDirectoryWithoutMetricsIsAUserError() {
        UserError e = assertThrows(UserError.class, () -> Plots.render(dir));
        assertTrue(e.getMessage().contains("metrics.jsonl"), e.getMessage());
    }
}
