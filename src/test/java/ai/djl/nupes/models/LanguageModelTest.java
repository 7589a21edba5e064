package ai.djl.nupes.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nupes.Method;
import ai.djl.nupes.Nupes;
import ai.djl.nupes.NupesConfig;
import ai.djl.nupes.QuantizedModel;
import ai.djl.nupes.SeededArrays;
import ai.djl.nupes.format.Checksums;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.ParameterStore;

import com.google.gson.JsonObject;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

class LanguageModelTest {

    private static final int T = 16;

    /** A tiny seeded model: width 32, 2 layers, 4 heads. */
    private static Block tiny(NDManager manager) {
        Block block = new CharLanguageModel(TestModel.LM_VOCAB, T, 32, 2, 4, 64);
        block.initialize(manager, DataType.FLOAT32, new Shape(2, T));
        SeededArrays.reinitialize(block, 7);
        return block;
    }

    private static long[] randomIds(long seed, int n) {
        Random r = new Random(seed);
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = 32 + r.nextInt(95);
        }
        return ids;
    }

    private static float[] logits(Block block, NDManager manager, long[] ids, int tokens) {
        NDArray x = manager.create(ids, new Shape(ids.length / tokens, tokens));
        return block.forward(new ParameterStore(manager, false), new NDList(x), false).head().toFloatArray();
    }

    /** Changing token k changes no logit at a position before k, and does change position k's. */
    private static void assertCausal(Block block, NDManager manager, int tokens, int vocab) {
        long[] ids = randomIds(3, tokens);
        float[] before = logits(block, manager, ids, tokens);
        for (int k : new int[] {1, tokens / 2, tokens - 1}) {
            long[] changed = ids.clone();
            for (int j = k; j < tokens; j++) {
                changed[j] = changed[j] == 'e' ? 'q' : 'e';
            }
            float[] after = logits(block, manager, changed, tokens);
            assertArrayEquals(
                    Arrays.copyOf(before, k * vocab), Arrays.copyOf(after, k * vocab),
                    "a position before " + k + " saw a later token");
            assertFalse(
                    Arrays.equals(
                            Arrays.copyOfRange(before, k * vocab, (k + 1) * vocab),
                            Arrays.copyOfRange(after, k * vocab, (k + 1) * vocab)),
                    "position " + k + " ignores its own token");
        }
    }

    @Test
    void theCausalMaskHoldsOnASeededModel() {
        try (NDManager manager = NDManager.newBaseManager()) {
            assertCausal(tiny(manager), manager, T, TestModel.LM_VOCAB);
        }
    }

    @Test
    void theCausalMaskHoldsOnTheShippedModel() throws Exception {
        try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.LM);
                NDManager manager = model.getNDManager().newSubManager()) {
            assertCausal(model.getBlock(), manager, TestModel.LM_CONTEXT, TestModel.LM_VOCAB);
        }
    }

    @Test
    void theMaskHidesOnlyLaterKeys() {
        try (NDManager manager = NDManager.newBaseManager()) {
            float[] m = CharLanguageModel.causalMask(manager, 3).toFloatArray();
            float x = CharLanguageModel.MASKED;
            assertArrayEquals(new float[] {0, x, x, 0, 0, x, 0, 0, 0}, m);
        }
    }

    @Test
    void perplexityIsTheDirectLogSoftmaxSum() {
        try (NDManager manager = NDManager.newBaseManager()) {
            Block block = tiny(manager);
            int[] ids = Arrays.stream(randomIds(11, 2 * T + 5)).mapToInt(v -> (int) v).toArray();
            LanguageModelEvaluation.Predictions p = LanguageModelEvaluation.predict(block, ids, T, manager);
            assertEquals(2 * T, p.positions(), "two whole windows, the tail unscored");
            double nll = 0;
            for (int w = 0; w < 2; w++) {
                long[] in = new long[T];
                for (int t = 0; t < T; t++) {
                    in[t] = ids[w * T + t];
                }
                float[] z = logits(block, manager, in, T);
                for (int t = 0; t < T; t++) {
                    double max = Double.NEGATIVE_INFINITY;
                    for (int v = 0; v < TestModel.LM_VOCAB; v++) {
                        max = Math.max(max, z[t * TestModel.LM_VOCAB + v]);
                    }
                    double sum = 0;
                    for (int v = 0; v < TestModel.LM_VOCAB; v++) {
                        sum += Math.exp(z[t * TestModel.LM_VOCAB + v] - max);
                    }
                    int target = ids[w * T + t + 1];
                    nll -= z[t * TestModel.LM_VOCAB + target] - max - Math.log(sum);
                }
            }
            assertEquals(nll, p.nll(), 1e-4 * nll);
            assertEquals(Math.exp(nll / (2 * T)), p.perplexity(), 1e-5 * p.perplexity());
            assertEquals(nll / (2 * T) / Math.log(2), p.bitsPerCharacter(), 1e-5);
        }
    }

    @Test
    void aShorterSequenceTakesTheFirstPositions() {
        try (NDManager manager = NDManager.newBaseManager()) {
            Block block = tiny(manager);
            long[] ids = randomIds(5, T);
            float[] full = logits(block, manager, ids, T);
            float[] half = logits(block, manager, Arrays.copyOf(ids, T / 2), T / 2);
            float[] fullHead = Arrays.copyOf(full, half.length);
            for (int i = 0; i < half.length; i++) {
                assertEquals(fullHead[i], half[i], 1e-5f);
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> logits(block, manager, randomIds(5, T + 1), T + 1));
            assertTrue(e.getMessage().contains("context " + T), e.getMessage());
        }
    }

    @Test
    void klIsZeroAgainstItselfAndAgreementCountsArgMaxes() {
        float ln = (float) Math.log(0.5);
        float lq = (float) Math.log(0.25);
        float lr = (float) Math.log(0.75);
        LanguageModelEvaluation.Predictions p =
                new LanguageModelEvaluation.Predictions(new float[] {ln, ln, lq, lr}, new int[] {0, 1}, 2);
        LanguageModelEvaluation.Predictions q =
                new LanguageModelEvaluation.Predictions(new float[] {lr, lq, lr, lq}, new int[] {0, 1}, 2);
        assertEquals(0, p.klFrom(p), 1e-12);
        // position 0: KL((.5,.5) || (.75,.25)); position 1: KL((.25,.75) || (.75,.25))
        double kl0 = 0.5 * Math.log(0.5 / 0.75) + 0.5 * Math.log(0.5 / 0.25);
        double kl1 = 0.25 * Math.log(0.25 / 0.75) + 0.75 * Math.log(0.75 / 0.25);
        assertEquals((kl0 + kl1) / 2, q.klFrom(p), 1e-6);
        assertEquals(0.5, q.top1Agreement(p), 1e-12, "position 0: id 0 in both (p ties, lowest id wins); position 1: id 1 in p, id 0 in q");
        assertEquals(1.0, p.accuracy(), 1e-12);
        assertEquals(0.5, q.accuracy(), 1e-12);
    }

    @Test
    void theShippedModelMatchesItsProvenance() throws Exception {
        JsonObject provenance = LanguageModelSlices.provenance(TestModel.LM.directory());
        assertEquals(provenance.get("params_sha256").getAsString(),
                Checksums.sha256(TestModel.LM.directory().resolve(provenance.get("params_file").getAsString())));
        assertTrue(provenance.get("parameters").getAsLong() >= 1_000_000, "at least 1 M parameters");
        JsonObject results = provenance.getAsJsonObject("results");
        double ppl = results.get("test_perplexity").getAsDouble();
        assertTrue(ppl < results.get("bigram_test_perplexity").getAsDouble(), "beats the bigram");
        assertTrue(results.get("bigram_test_perplexity").getAsDouble()
                < results.get("unigram_test_perplexity").getAsDouble());
        JsonObject evaluation = provenance.getAsJsonObject("slices").getAsJsonObject("evaluation");
        int windows = evaluation.get("smoke_windows").getAsInt();
        int[] ids = LanguageModelSlices.evaluation(TestModel.LM.directory());
        try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.LM);
                NDManager manager = model.getNDManager().newSubManager()) {
            long parameters = model.getBlock().getParameters().stream()
                    .mapToLong(p -> p.getValue().getArray().size()).sum();
            assertEquals(provenance.get("parameters").getAsLong(), parameters);
            LanguageModelEvaluation.Predictions p = LanguageModelEvaluation.predict(
                    model.getBlock(), Arrays.copyOf(ids, windows * TestModel.LM_CONTEXT + 1),
                    TestModel.LM_CONTEXT, manager);
            assertEquals(evaluation.get("smoke_float_perplexity").getAsDouble(), p.perplexity(), 1e-4);
        }
    }

    @Test
    void theLibraryWrapsEveryLinearOfTheLanguageModelAndItsTable() throws Exception {
        try (ZooModel<NDList, NDList> model = TestModels.load(TestModel.LM);
                NDManager manager = model.getNDManager().newSubManager()) {
            int[] ids = Arrays.copyOf(LanguageModelSlices.evaluation(TestModel.LM.directory()), 4 * TestModel.LM_CONTEXT + 1);
            double before = LanguageModelEvaluation.predict(model.getBlock(), ids, TestModel.LM_CONTEXT, manager).perplexity();
            QuantizedModel q = Nupes.quantize(model,
                    NupesConfig.builder().optMethod(Method.UNIFORM).setBits(8).optGroupSize(64).optEmbeddingBits(8).build());
            try {
                // per layer: key, query, value, result projections, up, down; then the head; then the table
                assertEquals(3 * 6 + 1 + 1, q.getLayers().size(), q.getReport().toMarkdown());
                double after = LanguageModelEvaluation.predict(model.getBlock(), ids, TestModel.LM_CONTEXT, manager).perplexity();
                assertEquals(before, after, 0.02 * before, "W8 stays within 2 % of float");
            } finally {
                q.restoreFloat();
            }
            double restored = LanguageModelEvaluation.predict(model.getBlock(), ids, TestModel.LM_CONTEXT, manager).perplexity();
            assertEquals(before, restored, 1e-9);
        }
    }

    @Test
    void calibrationWindowsAreModelInputs() throws Exception {
        try (NDManager manager = NDManager.newBaseManager()) {
            var batches = LanguageModelSlices.calibration(TestModel.LM.directory(), manager, 40, 16);
            assertEquals(3, batches.size());
            assertEquals(new Shape(16, TestModel.LM_CONTEXT), batches.get(0).head().getShape());
            assertEquals(new Shape(8, TestModel.LM_CONTEXT), batches.get(2).head().getShape());
            assertEquals(DataType.INT64, batches.get(0).head().getDataType());
            assertTrue(batches.get(0).head().get(new NDIndex("0, :")).max().getLong() < TestModel.LM_VOCAB);
        }
    }
}
