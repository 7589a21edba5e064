package ai.djl.nupes.bench;

import ai.djl.ndarray.NDList;
import ai.djl.nn.Block;
import ai.djl.nn.core.Linear;
import ai.djl.nupes.LayerReport;
import ai.djl.nupes.Method;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.util.Pair;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.reflect.TypeToken;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Per-layer weight statistics of a float model's Linear layers (excess kurtosis, max |w| / std),
 * joined with the per-layer reports {@code bench-lm} wrote: the data-free and learned exponents and
 * each grid's and granularity's weight error.
 */
public final class LanguageModelOutliers {

    private static final Gson GSON = new GsonBuilder().serializeSpecialFloatingPointValues().create();

    private LanguageModelOutliers() {}

    /**
     * Moments of one weight tensor.
     *
     * @param path the layer path
     * @param shape {@code out x in}
     * @param kurtosis excess kurtosis (0 for a normal distribution)
     * @param maxOverStd {@code max |w| / std}
     * @param worstChannelMaxOverStd the largest {@code max |w| / std} of any output channel (its own std)
     */
    public record Stats(String path, String shape, double kurtosis, double maxOverStd, double worstChannelMaxOverStd) {}

    /**
     * Statistics of every Linear layer, in network order.
     *
     * @param model the float model
     * @return one entry per layer
     */
    public static List<Stats> stats(ZooModel<NDList, NDList> model) {
        return stats(model.getBlock());
    }

    /**
     * Statistics of every float Linear layer below a block, in network order (call it before
     * quantizing: a wrapped layer is no longer a Linear).
     *
     * @param root the block
     * @return one entry per layer, paths relative to {@code root}
     */
    public static List<Stats> stats(Block root) {
        List<Stats> out = new ArrayList<>();
        walk(root, "", out);
        return out;
    }

    private static void walk(Block block, String prefix, List<Stats> out) {
        for (Pair<String, Block> child : block.getChildren()) {
            String path = prefix.isEmpty() ? child.getKey() : prefix + '/' + child.getKey();
            if (child.getValue() instanceof Linear) {
                var w = child.getValue().getParameters().get("weight").getArray();
                out.add(stats(path, w.toFloatArray(), (int) w.getShape().get(0)));
            } else {
                walk(child.getValue(), path, out);
            }
        }
    }

    /**
     * Moments of a weight tensor.
     *
     * @param path the layer path
     * @param w the weights, row-major {@code out x in}
     * @param rows the output channels
     * @return the statistics
     */
    public static Stats stats(String path, float[] w, int rows) {
        double[] m = moments(w, 0, w.length);
        int in = w.length / rows;
        double worst = 0;
        for (int r = 0; r < rows; r++) {
            double[] c = moments(w, r * in, in);
            worst = Math.max(worst, c[3] / Math.sqrt(c[1]));
        }
        return new Stats(path, rows + "x" + in, m[2] / (m[1] * m[1]) - 3, m[3] / Math.sqrt(m[1]), worst);
    }

    /** mean, variance, 4th central moment, max |w| of w[from, from + n). */
    private static double[] moments(float[] w, int from, int n) {
        double mean = 0;
        for (int i = from; i < from + n; i++) {
            mean += w[i];
        }
        mean /= n;
        double m2 = 0;
        double m4 = 0;
        double max = 0;
        for (int i = from; i < from + n; i++) {
            double d = w[i] - mean;
            m2 += d * d;
            m4 += d * d * d * d;
            max = Math.max(max, Math.abs(w[i]));
        }
        return new double[] {mean, m2 / n, m4 / n, max};
    }

    /**
     * The markdown table: statistics, then for each bit width the exponents and weight errors found
     * in the reports directory (columns without a report are left out).
     *
     * @param stats the layers' statistics
     * @param reports the {@code <frozen>-reports} directory of a {@code bench-lm} run
     * @param bits the bit width to show
     * @return the table
     * @throws IOException when a report cannot be read
     */
    public static String table(List<Stats> stats, Path reports, int bits) throws IOException {
        Map<String, Map<String, LayerReport>> columns = new LinkedHashMap<>();
        String[][] wanted = {
            {"powerquant-layer", "0"}, {"nupes", "0"}, {"nupes", "128"},
            {"uniform", "0"}, {"uniform", "128"}, {"powerquant-layer", "128"}, {"gptq", "0"}, {"gptq", "128"}
        };
        for (String[] c : wanted) {
            Path f = reports.resolve(c[0] + "-w" + bits + "-g" + c[1] + ".json");
            if (Files.isRegularFile(f)) {
                List<LayerReport> layers = GSON.fromJson(Files.readString(f, StandardCharsets.UTF_8),
                        new TypeToken<List<LayerReport>>() {}.getType());
                Map<String, LayerReport> byPath = new HashMap<>();
                layers.forEach(l -> byPath.put(l.path(), l));
                columns.put(c[0] + (c[1].equals("0") ? " ch" : " g" + c[1]), byPath);
            }
        }
        StringBuilder sb = new StringBuilder("| layer | shape | kurtosis | max/std | worst channel max/std |");
        StringBuilder rule = new StringBuilder("|---|---|---|---|---|");
        Map<String, LayerReport> pqc = columns.get("powerquant-layer ch");
        Map<String, LayerReport> nupesCh = columns.get("nupes ch");
        if (pqc != null) {
            sb.append(" a data-free (W").append(bits).append(") |");
            rule.append("---|");
        }
        if (nupesCh != null) {
            sb.append(" a learned (nupes W").append(bits).append(" ch) |");
            rule.append("---|");
        }
        for (String c : columns.keySet()) {
            sb.append(" rel. err ").append(c).append(" |");
            rule.append("---|");
        }
        sb.append('\n').append(rule).append('\n');
        for (Stats s : stats) {
            sb.append(String.format(Locale.ROOT, "| %s | %s | %.2f | %.1f | %.1f |", s.path(), s.shape(),
                    s.kurtosis(), s.maxOverStd(), s.worstChannelMaxOverStd()));
            if (pqc != null) {
                sb.append(cell(pqc.get(s.path()), true));
            }
            if (nupesCh != null) {
                sb.append(cell(nupesCh.get(s.path()), true));
            }
            for (Map<String, LayerReport> c : columns.values()) {
                sb.append(cell(c.get(s.path()), false));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    private static String cell(LayerReport l, boolean exponent) {
        if (l == null) {
            return " – |";
        }
        return exponent
                ? String.format(Locale.ROOT, " %.3f |", l.exponent())
                : String.format(Locale.ROOT, " %.2e |", l.weightError());
    }

    /**
     * The methods whose reports {@link #table} reads.
     *
     * @return method ids
     */
    static List<Method> methods() {
        return List.of(Method.UNIFORM, Method.POWERQUANT_LAYER, Method.NUPES, Method.GPTQ);
    }
}
