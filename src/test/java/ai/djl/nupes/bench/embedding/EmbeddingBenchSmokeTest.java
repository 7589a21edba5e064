package ai.djl.nupes.bench.embedding;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.nupes.Method;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The bench end to end on a small slice, and its option checks. */
class EmbeddingBenchSmokeTest {

    private static final List<String> FIELDS =
            List.of("model", "method", "wbits", "group_size", "embedding_bits", "seeds", "cos_mean", "cos_p5",
                    "overlap10", "mrr", "float_mrr", "bits_per_weight", "file_bytes", "seconds");

    @TempDir Path tmp;

    @Test
    void uniformW8On32VersesAnd100NounsKeepsTheFloatEmbeddingsAndWritesEveryField() throws Exception {
        Path out = tmp.resolve("embedding.json");
        EmbeddingBench.Settings s = new EmbeddingBench.Settings()
                .methods(List.of(Method.UNIFORM))
                .bits(List.of(8))
                .evalSentences(32)
                .wordNetNouns(100)
                .references(false)
                .latency(false)
                .out(out)
                .workDir(tmp.resolve("work"));
        EmbeddingBench.Result result = EmbeddingBench.run(s);
        System.out.println(EmbeddingBook.toMarkdown(result.rows()));
        assertEquals(2, result.rows().size(), "float + uniform W8");
        EmbeddingRow q = result.rows().get(1);
        assertEquals("uniform", q.method());
        assertTrue(q.cosMean() > 0.99, "cos_mean " + q.cosMean());
        assertTrue(q.criteriaCosMin() > 0.9999, "frozen reload agrees with memory: " + q.criteriaCosMin());
        assertTrue(q.bitsPerWeight() > 8 && q.bitsPerWeight() < 8.2, "bits/weight " + q.bitsPerWeight());
        assertTrue(result.latency().isEmpty());

        JsonObject row = null;
        for (JsonElement e : JsonParser.parseString(Files.readString(out, StandardCharsets.UTF_8)).getAsJsonArray()) {
            if (e.getAsJsonObject().get("method").getAsString().equals("uniform")) {
                row = e.getAsJsonObject();
            }
        }
        assertNotNull(row, "the uniform row is in the file");
        for (String f : FIELDS) {
            assertTrue(row.has(f) && !row.get(f).isJsonNull(), "field " + f + " in " + row);
        }
        assertEquals("all-minilm-l6-v2", row.get("model").getAsString());
        assertEquals(8, row.get("wbits").getAsInt());
        assertEquals(0, row.get("group_size").getAsInt());
        assertEquals(32, row.get("embedding_bits").getAsInt());
        assertEquals(1, row.get("seeds").getAsInt());
        assertTrue(row.get("file_bytes").getAsLong() > 0);
        assertEquals(q.floatMrr(), result.rows().get(0).mrr(), 0);

        // merging again replaces the rows with the same key instead of adding to them
        EmbeddingBook.merge(out, result.rows());
        assertEquals(2, EmbeddingBook.read(out).size());
    }

    @Test
    void groupSizesAndEmbeddingBitsTheBenchDoesNotRunAreRefusedBeforeLoading() {
        IllegalArgumentException g = assertThrows(IllegalArgumentException.class,
                () -> BenchEmbeddingCommand.parse(List.of("--group-sizes", "0,48")));
        assertTrue(g.getMessage().contains("group_size 48 is not one the bench runs"), g.getMessage());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BenchEmbeddingCommand.parse(List.of("--embedding-bits", "16")));
        assertTrue(e.getMessage().contains("embedding_bits 16 is not one the bench runs"), e.getMessage());
        IllegalArgumentException u = assertThrows(IllegalArgumentException.class,
                () -> BenchEmbeddingCommand.parse(List.of("--bogus", "1")));
        assertTrue(u.getMessage().contains("unknown option '--bogus'"), u.getMessage());
        EmbeddingBench.Settings s = BenchEmbeddingCommand.parse(
                List.of("--methods", "uniform,powerquant-layer", "--bits", "8,4", "--seeds", "3"));
        assertEquals(4, s.specs().size());
        assertEquals("powerquant-layer-w4", s.specs().get(3).variant());
    }
}
