package ai.djl.nupes.bench.embedding;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import com.google.gson.reflect.TypeToken;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Reads, merges and writes {@code target/bench/embedding.json} (a JSON list of {@link
 * EmbeddingRow}; a new row replaces the one with the same {@link EmbeddingRow#sameKey key}, every
 * other row is kept), writes {@code target/bench/embedding-latency.json} (the latest run's rows),
 * and prints both as markdown.
 */
public final class EmbeddingBook {

    /** The rows file. */
    public static final Path DEFAULT_FILE = Paths.get("target", "bench", "embedding.json");

    /** The latency file. */
    public static final Path DEFAULT_LATENCY_FILE = Paths.get("target", "bench", "embedding-latency.json");

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    private EmbeddingBook() {}

    /**
     * Reads the rows of a file; an absent file has none.
     *
     * @param file the file
     * @return the rows
     * @throws IOException when the file exists but is not a list of rows (the message names it)
     */
    public static List<EmbeddingRow> read(Path file) throws IOException {
        if (!Files.exists(file)) {
            return new ArrayList<>();
        }
        try {
            List<EmbeddingRow> rows =
                    GSON.fromJson(
                            Files.readString(file, StandardCharsets.UTF_8),
                            new TypeToken<List<EmbeddingRow>>() {}.getType());
            return rows == null ? new ArrayList<>() : new ArrayList<>(rows);
        } catch (JsonParseException e) {
            throw new IOException(file + " is not a JSON list of embedding rows: " + e.getMessage(), e);
        }
    }

    /**
     * Merges rows into a file, atomically (temporary file, then rename).
     *
     * @param file the file
     * @param fresh the new rows
     * @return every row now in the file
     * @throws IOException on read or write failure
     */
    public static List<EmbeddingRow> merge(Path file, List<EmbeddingRow> fresh) throws IOException {
        List<EmbeddingRow> rows = read(file);
        rows.removeIf(old -> fresh.stream().anyMatch(old::sameKey));
        rows.addAll(fresh);
        rows.sort(
                Comparator.comparing(EmbeddingRow::model)
                        .thenComparing(EmbeddingRow::evalSentences, Comparator.reverseOrder())
                        .thenComparing(EmbeddingRow::wbits, Comparator.reverseOrder())
                        .thenComparing(EmbeddingRow::method)
                        .thenComparing(EmbeddingRow::groupSize)
                        .thenComparing(EmbeddingRow::embeddingBits, Comparator.reverseOrder()));
        writeAtomically(file, GSON.toJson(rows));
        return rows;
    }

    /**
     * Replaces the latency file with a run's rows.
     *
     * @param file the file
     * @param rows the rows
     * @throws IOException on write failure
     */
    public static void writeLatency(Path file, List<LatencyRow> rows) throws IOException {
        writeAtomically(file, GSON.toJson(rows));
    }

    /**
     * Formats rows as a markdown table.
     *
     * @param rows the rows
     * @return the table
     */
    public static String toMarkdown(List<EmbeddingRow> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append("| method | engine | W | group | emb bits | seeds | cos mean | cos p5 | overlap@10 | MRR |"
                + " MRR drop | bits/weight | file MB | file bits/param | quant s | peak RSS MB |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (EmbeddingRow r : rows) {
            sb.append(String.format(Locale.ROOT,
                    "| %s | %s | %d | %d | %d | %d | %s | %s | %s | %s | %.4f | %.3f | %.1f | %.2f | %.1f | %.0f |%n",
                    r.method(), r.engine(), r.wbits(), r.groupSize(), r.embeddingBits(), r.seeds(),
                    withSpread(r.cosMean(), r.cosMeanSpread()), withSpread(r.cosP5(), r.cosP5Spread()),
                    withSpread(r.overlap10(), r.overlap10Spread()), withSpread(r.mrr(), r.mrrSpread()), r.mrrDrop(), r.bitsPerWeight(),
                    r.fileBytes() / 1e6, r.fileBitsPerParam(), r.seconds(), r.peakRssMb()));
        }
        return sb.toString();
    }

    /**
     * Formats latency rows as a markdown table.
     *
     * @param rows the rows
     * @return the table
     */
    public static String latencyToMarkdown(List<LatencyRow> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append("| variant | engine | batch 1 ms | batch 32 ms | runs (1 / 32) | tokens (1 / 32 longest) |\n");
        sb.append("|---|---|---|---|---|---|\n");
        for (LatencyRow r : rows) {
            sb.append(String.format(Locale.ROOT, "| %s | %s | %.1f | %.0f | %d / %d | %d / %d |%n",
                    r.variant(), r.engine(), r.b1Ms(), r.b32Ms(), r.b1Runs(), r.b32Runs(), r.b1Tokens(),
                    r.b32Tokens()));
        }
        return sb.toString();
    }

    private static String withSpread(double v, Double spread) {
        return spread == null
                ? String.format(Locale.ROOT, "%.4f", v)
                : String.format(Locale.ROOT, "%.4f (spread %.4f)", v, spread);
    }

    private static void writeAtomically(Path file, String json) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
        Files.writeString(tmp, json + '\n', StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
