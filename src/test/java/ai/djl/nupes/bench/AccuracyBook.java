package ai.djl.nupes.bench;

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
 * Reads, merges and writes {@code target/bench/accuracy.json} (a JSON list of {@link
 * AccuracyRow}), and prints rows as markdown. A new row replaces an old one with the same model,
 * method and bits; every other row is kept, so each bench run adds to the file.
 */
public final class AccuracyBook {

    /** The file later bench runs add to. */
    public static final Path DEFAULT_FILE = Paths.get("target", "bench", "accuracy.json");

    private static final Gson GSON =
            new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    private AccuracyBook() {}

    /**
     * Reads the rows of a file; an absent file has none.
     *
     * @param file the file
     * @return the rows
     * @throws IOException when the file exists but is not a list of rows (the message names it)
     */
    public static List<AccuracyRow> read(Path file) throws IOException {
        if (!Files.exists(file)) {
            return new ArrayList<>();
        }
        try {
            List<AccuracyRow> rows =
                    GSON.fromJson(
                            Files.readString(file, StandardCharsets.UTF_8),
                            new TypeToken<List<AccuracyRow>>() {}.getType());
            return rows == null ? new ArrayList<>() : new ArrayList<>(rows);
        } catch (JsonParseException e) {
            throw new IOException(file + " is not a JSON list of accuracy rows: " + e.getMessage(), e);
        }
    }

    /**
     * Merges rows into a file, atomically (write a temporary file, then rename).
     *
     * @param file the file
     * @param fresh the new rows
     * @return every row now in the file
     * @throws IOException on read or write failure
     */
    public static List<AccuracyRow> merge(Path file, List<AccuracyRow> fresh) throws IOException {
        List<AccuracyRow> rows = read(file);
        rows.removeIf(old -> fresh.stream().anyMatch(old::sameKey));
        rows.addAll(fresh);
        rows.sort(
                Comparator.comparing(AccuracyRow::model)
                        .thenComparing(AccuracyRow::abits, Comparator.reverseOrder())
                        .thenComparing(AccuracyRow::wbits, Comparator.reverseOrder())
                        .thenComparing(AccuracyRow::method)
                        .thenComparing(AccuracyRow::groupSize, Comparator.nullsFirst(Comparator.naturalOrder())));
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "accuracy", ".json.tmp");
        Files.writeString(tmp, GSON.toJson(rows) + '\n', StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return rows;
    }

    /**
     * Formats rows as a markdown table.
     *
     * @param rows the rows
     * @return the table
     */
    public static String toMarkdown(List<AccuracyRow> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append("| model | method | W | A | accuracy % | float % | drop pt | samples | quant s |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|\n");
        for (AccuracyRow r : rows) {
            sb.append(
                    String.format(
                            Locale.ROOT,
                            "| %s | %s | %d | %d | %s | %.2f | %.2f | %d | %.2f |%n",
                            r.model(),
                            r.method(),
                            r.wbits(),
                            r.abits(),
                            accuracyCell(r),
                            100 * r.floatAccuracy(),
                            100 * (r.floatAccuracy() - r.accuracy()),
                            r.evalSamples(),
                            r.seconds()));
        }
        return sb.toString();
    }

    /**
     * A row's accuracy in percent; over several seeds the mean ± standard deviation and each seed's.
     *
     * @param r the row
     * @return e.g. {@code 91.95} or {@code 91.95 ± 0.17 (91.80, 91.90, 92.15)}
     */
    static String accuracyCell(AccuracyRow r) {
        String mean = String.format(Locale.ROOT, "%.2f", 100 * r.accuracy());
        if (r.seeds() == null || r.seeds() < 2) {
            return mean;
        }
        StringBuilder cell = new StringBuilder(mean)
                .append(String.format(Locale.ROOT, " ± %.2f (", 100 * r.accuracySd()));
        for (int i = 0; i < r.accuracyBySeed().size(); i++) {
            cell.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.2f", 100 * r.accuracyBySeed().get(i)));
        }
        return cell.append(')').toString();
    }

    /**
     * Formats language-model rows (those with a perplexity) as a markdown table.
     *
     * @param rows the rows; rows without a perplexity are skipped
     * @return the table
     */
    public static String toLanguageMarkdown(List<AccuracyRow> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append("| model | method | W | group | table bits | perplexity | float ppl | ppl +% | KL nats | top-1 agree % |"
                + " next-char acc % | bits/weight | file KB | calib seqs | quant s |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (AccuracyRow r : rows) {
            if (r.perplexity() == null) {
                continue;
            }
            sb.append(
                    String.format(
                            Locale.ROOT,
                            "| %s | %s | %d | %s | %d | %.4f | %.4f | %.2f | %.5f | %.2f | %.2f | %s | %s | %d | %.1f |%n",
                            r.model(),
                            r.method(),
                            r.wbits(),
                            r.groupSize() == null ? "–" : r.groupSize() == 0 ? "channel" : "g" + r.groupSize(),
                            r.tableBits(),
                            r.perplexity(),
                            r.floatPerplexity(),
                            100 * (r.perplexity() / r.floatPerplexity() - 1),
                            r.klDivergence(),
                            100 * r.top1Agreement(),
                            100 * r.accuracy(),
                            r.bitsPerWeight() == null ? "–" : String.format(Locale.ROOT, "%.3f", r.bitsPerWeight()),
                            r.fileBytes() == null ? "–" : String.format(Locale.ROOT, "%.1f", r.fileBytes() / 1024.0),
                            r.calibrationSamples() == null ? 0 : r.calibrationSamples(),
                            r.seconds()));
        }
        return sb.toString();
    }
}
