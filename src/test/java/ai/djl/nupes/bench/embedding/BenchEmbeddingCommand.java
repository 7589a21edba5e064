package ai.djl.nupes.bench.embedding;

import ai.djl.nupes.Method;
import ai.djl.nupes.calibrate.FinalRounding;
import ai.djl.nupes.calibrate.GptqTarget;
import ai.djl.nupes.calibrate.LatentStart;
import ai.djl.nupes.calibrate.ReconstructionUnit;
import ai.djl.nupes.bench.ProcessMemory;

import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code bench-embedding}: the {@link EmbeddingBench} from the development command line; prints the
 * rows and the latency as markdown with the process's peak RSS.
 */
public final class BenchEmbeddingCommand {

    /** One line per option, for the CLI's usage text. */
    public static final String USAGE =
            String.join(
                    "\n",
                    "  bench-embedding [--methods uniform,powerquant-layer] [--bits 8,4] [--group-sizes 0]"
                            + " [--embedding-bits 32]",
                    "                  [--seeds 1] [--calibration-sentences 512] [--eval-sentences 2000]"
                            + " [--wordnet-nouns 3000]",
                    "                  [--iterations N] [--latent-start float-weights|gptq-power] [--reconstruction layer|stage]"
                            + " [--final-rounding learned|best-of-learned-and-gptq]",
                    "                  [--gptq-target weights|float-outputs] [--references true] [--latency true]"
                            + " [--out FILE]"
                            + " [--latency-out FILE]",
                    "                                         all-MiniLM-L6-v2 sentence embeddings vs float"
                            + " (+ ONNX Runtime float/int8); merges target/bench/embedding.json");

    private static final Set<String> KEYS =
            Set.of("methods", "bits", "group-sizes", "embedding-bits", "seeds", "calibration-sentences",
                    "eval-sentences", "wordnet-nouns", "iterations", "latent-start", "reconstruction", "final-rounding",
                    "gptq-target", "references", "latency", "out", "latency-out");

    private BenchEmbeddingCommand() {}

    /**
     * Parses the options and runs the bench.
     *
     * @param args the options after the command name
     * @throws Exception on failure
     */
    public static void run(List<String> args) throws Exception {
        EmbeddingBench.Settings s = parse(args);
        long start = System.nanoTime();
        EmbeddingBench.Result result = EmbeddingBench.run(s);
        System.out.println();
        System.out.println(EmbeddingBook.toMarkdown(result.rows()));
        if (!result.latency().isEmpty()) {
            System.out.println(EmbeddingBook.latencyToMarkdown(result.latency()));
        }
        System.out.printf(Locale.ROOT, "peak RSS %.0f MB; %.1f min in all%n", ProcessMemory.peakRssMb(),
                (System.nanoTime() - start) / 6e10);
        System.out.println("rows merged into " + s.out.toAbsolutePath()
                + (result.latency().isEmpty() ? "" : "; latency written to " + s.latencyOut.toAbsolutePath()));
    }

    /**
     * Parses {@code --key value} options.
     *
     * @param args the options
     * @return the settings
     * @throws IllegalArgumentException naming an unknown option, a missing value or a bad number
     */
    public static EmbeddingBench.Settings parse(List<String> args) {
        Map<String, String> o = new LinkedHashMap<>();
        for (int i = 0; i < args.size(); i += 2) {
            String key = args.get(i);
            if (!key.startsWith("--") || !KEYS.contains(key.substring(2))) {
                throw new IllegalArgumentException("bench-embedding: unknown option '" + key + "'\n" + USAGE);
            }
            if (i + 1 >= args.size()) {
                throw new IllegalArgumentException("option " + key + " needs a value");
            }
            o.put(key.substring(2), args.get(i + 1));
        }
        EmbeddingBench.Settings s = new EmbeddingBench.Settings();
        if (o.containsKey("methods")) {
            List<Method> methods = new ArrayList<>();
            for (String m : o.get("methods").split(",")) {
                methods.add(Method.of(m.trim()));
            }
            s.methods(methods);
        }
        if (o.containsKey("bits")) {
            s.bits(ints("bits", o.get("bits")));
        }
        if (o.containsKey("group-sizes")) {
            s.groupSizes(ints("group-sizes", o.get("group-sizes")));
        }
        if (o.containsKey("embedding-bits")) {
            s.embeddingBits(ints("embedding-bits", o.get("embedding-bits")));
        }
        if (o.containsKey("seeds")) {
            s.seeds(ints("seeds", o.get("seeds")).get(0));
        }
        if (o.containsKey("calibration-sentences")) {
            s.calibrationSentences(ints("calibration-sentences", o.get("calibration-sentences")).get(0));
        }
        if (o.containsKey("eval-sentences")) {
            s.evalSentences(ints("eval-sentences", o.get("eval-sentences")).get(0));
        }
        if (o.containsKey("wordnet-nouns")) {
            s.wordNetNouns(ints("wordnet-nouns", o.get("wordnet-nouns")).get(0));
        }
        if (o.containsKey("iterations")) {
            s.iterations(ints("iterations", o.get("iterations")).get(0));
        }
        if (o.containsKey("latent-start")) {
            s.latentStart(latentStart(o.get("latent-start")));
        }
        if (o.containsKey("reconstruction")) {
            try {
                s.reconstruction(ReconstructionUnit.of(o.get("reconstruction")));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--reconstruction expects layer or stage, got '"
                        + o.get("reconstruction") + "'", e);
            }
        }
        if (o.containsKey("final-rounding")) {
            s.finalRounding(FinalRounding.of(o.get("final-rounding")));
        }
        if (o.containsKey("gptq-target")) {
            try {
                s.gptqTarget(GptqTarget.of(o.get("gptq-target")));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--gptq-target expects weights or float-outputs, got '"
                        + o.get("gptq-target") + "'", e);
            }
        }
        if (o.containsKey("references")) {
            s.references(bool("references", o.get("references")));
        }
        if (o.containsKey("latency")) {
            s.latency(bool("latency", o.get("latency")));
        }
        if (o.containsKey("out")) {
            s.out(Paths.get(o.get("out")));
        }
        if (o.containsKey("latency-out")) {
            s.latencyOut(Paths.get(o.get("latency-out")));
        }
        s.specs(); // refuses group sizes and embedding widths not supported yet, before any loading
        return s;
    }

    private static LatentStart latentStart(String value) {
        try {
            return LatentStart.of(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "--latent-start expects float-weights or gptq-power, got '" + value + "'", e);
        }
    }

    private static List<Integer> ints(String key, String value) {
        List<Integer> out = new ArrayList<>();
        for (String v : value.split(",")) {
            try {
                out.add(Integer.parseInt(v.trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--" + key + " expects whole numbers, got '" + value + "'", e);
            }
        }
        return out;
    }

    private static boolean bool(String key, String value) {
        if (!"true".equals(value) && !"false".equals(value)) {
            throw new IllegalArgumentException("--" + key + " expects true or false, got '" + value + "'");
        }
        return Boolean.parseBoolean(value);
    }
}
