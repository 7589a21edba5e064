package ai.djl.nupes.imports;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.inference.Predictor;
import ai.djl.nupes.format.Manifest;
import ai.djl.repository.zoo.ZooModel;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * all-MiniLM-L6-v2 quantized with group-wise scales and a quantized word table, exported frozen and
 * served as text embeddings through {@code Criteria<String, float[]>} ({@link
 * MiniLm#frozenW4G128()}: uniform W4 g128, W4 tables).
 */
class QuantizedMiniLmServingTest {

    private static List<String> sentences;
    private static float[][] inMemory;
    private static Path frozen;

    @BeforeAll
    static void quantizeAndExport() {
        MiniLm.Frozen export = MiniLm.frozenW4G128();
        sentences = export.sentences();
        inMemory = export.inMemory();
        frozen = export.dir();
    }

    @Test
    void theFrozenModelServesTheInMemoryQuantizedVectorsBitForBit() throws Exception {
        Manifest manifest = Manifest.read(frozen.resolve(Manifest.FILE));
        assertEquals(36 + 3, manifest.layers().size(), "36 Linear layers and the word, type and position tables");
        manifest.layers().forEach(l -> assertEquals(128, l.groupSize(), l.path()));
        assertTrue(manifest.files().containsKey(BertImporter.TOKENIZER_FILE));
        try (ZooModel<String, float[]> model = BertImporter.embeddingCriteria(frozen).loadModel();
                Predictor<String, float[]> p = model.newPredictor()) {
            List<float[]> served = p.batchPredict(sentences);
            for (int i = 0; i < sentences.size(); i++) {
                assertArrayEquals(inMemory[i], served.get(i), 0f, sentences.get(i));
                assertArrayEquals(inMemory[i], p.predict(sentences.get(i)), 1e-6f, "alone: " + sentences.get(i));
            }
        }
    }

    @Test
    void eightThreadsSharingOneModelGetTheSameVectors() throws Exception {
        try (ZooModel<String, float[]> model = BertImporter.embeddingCriteria(frozen).loadModel()) {
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<List<float[]>>> results = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    results.add(pool.submit(() -> {
                        List<float[]> out = new ArrayList<>();
                        try (Predictor<String, float[]> p = model.newPredictor()) {
                            for (int round = 0; round < 3; round++) {
                                out.addAll(p.batchPredict(sentences));
                            }
                        }
                        return out;
                    }));
                }
                for (Future<List<float[]>> f : results) {
                    List<float[]> out = f.get();
                    for (int i = 0; i < out.size(); i++) {
                        assertArrayEquals(inMemory[i % sentences.size()], out.get(i), 0f);
                    }
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }
}
