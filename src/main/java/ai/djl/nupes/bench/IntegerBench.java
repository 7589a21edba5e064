package ai.djl.nupes.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nupes.integer.IntegerKernels;
import ai.djl.nupes.integer.PowerProductTable;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Throughput of the pure-Java integer reference kernels against DJL's float path (decoded
 * weights, then {@code Linear.linear} / {@code Conv2d.conv2d} in the engine) on the CNN's layer
 * shapes, W4A8 codes. Median of 9 timed runs after 2 warm-ups. The integer kernels are scalar
 * Java loops written for correctness: the table says how far they are from the engine.
 */
public final class IntegerBench {

    private IntegerBench() {}

    /**
     * One measured shape.
     *
     * @param layer the layer shape
     * @param batch batch size
     * @param integerMs integer kernel, ms per call
     * @param floatMs DJL float path, ms per call
     * @param macs multiply-accumulates per call
     */
    public record Row(String layer, int batch, double integerMs, double floatMs, long macs) {}

    /**
     * Measures the CNN's second convolution and first Linear at batch 1 and 16.
     *
     * @return the rows
     */
    public static List<Row> run() {
        List<Row> rows = new ArrayList<>();
        Random r = new Random(1);
        PowerProductTable table = new PowerProductTable(7, 255, 0.7f);
        try (NDManager manager = NDManager.newBaseManager()) {
            for (int batch : new int[] {1, 16}) {
                // Linear 3136 -> 128
                int in = 3136;
                int out = 128;
                int[] wc = codes(r, out * in, 7, true);
                int[] xc = codes(r, batch * in, 255, false);
                float[] ws = new float[out];
                Arrays.fill(ws, 0.1f);
                NDArray w = manager.randomNormal(new Shape(out, in));
                NDArray x = manager.randomNormal(new Shape(batch, in));
                double intMs = time(() -> IntegerKernels.linear(wc, ws, xc, 1f, table, null, batch));
                double floatMs = time(() -> Linear.linear(x, w).head().toFloatArray());
                rows.add(new Row("Linear 3136→128", batch, intMs, floatMs, (long) batch * in * out));
                // Conv2d 32 -> 64, 3x3, padding 1, on 14x14
                int[] shape = {batch, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1};
                int[] cwc = codes(r, 64 * 32 * 9, 7, true);
                int[] cxc = codes(r, batch * 32 * 14 * 14, 255, false);
                float[] cws = new float[64];
                Arrays.fill(cws, 0.1f);
                NDArray cw = manager.randomNormal(new Shape(64, 32, 3, 3));
                NDArray cx = manager.randomNormal(new Shape(batch, 32, 14, 14));
                double cIntMs = time(() -> IntegerKernels.conv2d(cwc, cws, cxc, 1f, table, null, shape));
                double cFloatMs =
                        time(() -> Conv2d.conv2d(cx, cw, null, new Shape(1, 1), new Shape(1, 1), new Shape(1, 1), 1)
                                .head().toFloatArray());
                rows.add(new Row("Conv2d 32→64 3x3 on 14x14", batch, cIntMs, cFloatMs, (long) batch * 64 * 32 * 9 * 196));
            }
        }
        return rows;
    }

    /**
     * Formats rows as markdown.
     *
     * @param rows the rows
     * @return the table
     */
    public static String toMarkdown(List<Row> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append("| layer | batch | integer ms | float ms | integer GMAC/s | float GMAC/s | integer / float |\n");
        sb.append("|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            sb.append(String.format(Locale.ROOT, "| %s | %d | %.2f | %.3f | %.2f | %.2f | %.1fx slower |%n",
                    r.layer(), r.batch(), r.integerMs(), r.floatMs(), r.macs() / r.integerMs() / 1e6,
                    r.macs() / r.floatMs() / 1e6, r.integerMs() / r.floatMs()));
        }
        return sb.toString();
    }

    private static int[] codes(Random r, int n, int max, boolean signed) {
        int[] c = new int[n];
        for (int i = 0; i < n; i++) {
            c[i] = signed ? r.nextInt(2 * max + 1) - max : r.nextInt(max + 1);
        }
        return c;
    }

    private static double time(Runnable op) {
        double[] t = new double[9];
        for (int i = -2; i < t.length; i++) {
            long start = System.nanoTime();
            op.run();
            if (i >= 0) {
                t[i] = (System.nanoTime() - start) / 1e6;
            }
        }
        Arrays.sort(t);
        return t[t.length / 2];
    }
}
