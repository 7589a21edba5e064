package ai.djl.nupes.imports;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.ModelException;
import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.nupes.transform.BlockTransformer;
import ai.djl.nupes.transform.LayerSelector;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.ParameterStore;
import ai.djl.translate.TranslateException;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * all-MiniLM-L6-v2 imported from LangChain4j's Maven jar against the same ONNX file run by ONNX
 * Runtime, on 100 KJV verses.
 */
class BertImporterTest {

    private static final int VERSES = 100;
    private static final int BATCH = 25;
    private static final int HIDDEN = 384;

    @TempDir static Path tmp;

    private static Path jar;
    private static Model imported;
    private static ZooModel<NDList, NDList> onnxRuntime;
    private static HuggingFaceTokenizer tokenizer;
    private static NDManager manager;
    private static List<Batch> batches;

    /** ONNX Runtime's last_hidden_state per batch. */
    private static List<float[]> reference;

    private static Path written;

    @BeforeAll
    static void load() throws IOException, ModelException, TranslateException {
        jar = MiniLm.jar(MiniLm.ONNX);
        Path onnxFile = MiniLm.extract(MiniLm.ONNX, Files.createDirectories(tmp.resolve("ort")));
        Path tokenizerFile = MiniLm.extract(MiniLm.TOKENIZER, tmp);
        imported = BertImporter.load(jar);
        onnxRuntime =
                Criteria.builder()
                        .setTypes(NDList.class, NDList.class)
                        .optModelPath(onnxFile)
                        .optEngine("OnnxRuntime")
                        .build()
                        .loadModel();
        tokenizer = HuggingFaceTokenizer.newInstance(tokenizerFile, Map.of());
        manager = NDManager.newBaseManager("PyTorch");
        List<String> verses = MiniLm.verses(VERSES);
        batches = new ArrayList<>();
        reference = new ArrayList<>();
        for (int i = 0; i < VERSES; i += BATCH) {
            Batch b = Batch.of(tokenizer, verses.subList(i, i + BATCH));
            batches.add(b);
            reference.add(onnxRuntimeHidden(b));
        }
    }

    @AfterAll
    static void close() {
        for (AutoCloseable c : new AutoCloseable[] {imported, onnxRuntime, tokenizer, manager}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    @Test
    void importedEncoderMatchesOnnxRuntime() {
        double maxDiff = 0;
        double minCosine = 1;
        Set<Integer> lengths = new HashSet<>();
        int padded = 0;
        for (int bi = 0; bi < batches.size(); bi++) {
            Batch b = batches.get(bi);
            float[] ours = hidden(b);
            float[] theirs = reference.get(bi);
            for (int s = 0; s < b.size(); s++) {
                lengths.add(b.length(s));
                padded += b.length(s) < b.tokens() ? 1 : 0;
                for (int t = 0; t < b.length(s); t++) {
                    for (int h = 0; h < HIDDEN; h++) {
                        int k = (s * b.tokens() + t) * HIDDEN + h;
                        maxDiff = Math.max(maxDiff, Math.abs(ours[k] - theirs[k]));
                    }
                }
                minCosine =
                        Math.min(minCosine, cosine(b.embedding(ours, s), b.embedding(theirs, s)));
            }
        }
        System.out.printf(
                "imported vs ONNX Runtime over %d verses (%d distinct token lengths, %d padded):"
                        + " max |Δ last_hidden_state| = %.3g, min embedding cosine = 1 - %.2g%n",
                VERSES, lengths.size(), padded, maxDiff, 1 - minCosine);
        assertTrue(lengths.size() >= 30, "verses of varied lengths: " + lengths);
        assertTrue(padded >= 80, "most verses are padded in their batch: " + padded);
        assertTrue(maxDiff <= 1e-4, "max |Δ| " + maxDiff);
        assertTrue(minCosine >= 0.99999, "min cosine " + minCosine);
    }

    @Test
    void aPaddedBatchGivesEachSentenceTheSameEmbeddingAsAlone() {
        Batch b = batches.get(0);
        float[] together = hidden(b);
        double maxDiff = 0;
        double minCosine = 1;
        for (int s = 0; s < b.size(); s++) {
            Batch alone = Batch.of(tokenizer, List.of(b.texts().get(s)));
            assertEquals(b.length(s), alone.tokens());
            float[] single = hidden(alone);
            for (int t = 0; t < alone.tokens(); t++) {
                for (int h = 0; h < HIDDEN; h++) {
                    float x = together[(s * b.tokens() + t) * HIDDEN + h];
                    maxDiff = Math.max(maxDiff, Math.abs(x - single[t * HIDDEN + h]));
                }
            }
            minCosine =
                    Math.min(
                            minCosine,
                            cosine(b.embedding(together, s), alone.embedding(single, 0)));
        }
        System.out.printf(
                "padded batch of %d (%d tokens) vs alone: max |Δ| = %.3g, min cosine = 1 - %.2g%n",
                b.size(), b.tokens(), maxDiff, 1 - minCosine);
        assertTrue(maxDiff <= 1e-5, "max |Δ| " + maxDiff);
        assertTrue(minCosine >= 0.99999, "min cosine " + minCosine);
    }

    @Test
    void criteriaStringToFloatsOnTheWrittenModelDirectoryReturnsTheOnnxRuntimeEmbedding()
            throws IOException, ModelException, TranslateException {
        Path dir = writtenDirectory();
        Criteria<String, float[]> criteria = BertImporter.embeddingCriteria(dir);
        double minCosine = 1;
        double maxNormError = 0;
        try (ZooModel<String, float[]> model = criteria.loadModel();
                Predictor<String, float[]> predictor = model.newPredictor()) {
            assertEquals("PyTorch", model.getNDManager().getEngine().getEngineName());
            for (int bi = 0; bi < batches.size(); bi++) {
                Batch b = batches.get(bi);
                for (int s = 0; s < b.size(); s++) {
                    float[] e = predictor.predict(b.texts().get(s));
                    assertEquals(HIDDEN, e.length);
                    maxNormError = Math.max(maxNormError, Math.abs(norm(e) - 1));
                    minCosine = Math.min(minCosine, cosine(e, b.embedding(reference.get(bi), s)));
                }
            }
        }
        System.out.printf(
                "Criteria<String, float[]> on %s vs ONNX Runtime: min cosine = 1 - %.2g, max |‖e‖ - 1|"
                    + " = %.2g%n",
                dir.getFileName(), 1 - minCosine, maxNormError);
        assertTrue(minCosine >= 0.99999, "min cosine " + minCosine);
        assertTrue(maxNormError <= 1e-5, "embeddings are normalized: " + maxNormError);
    }

    @Test
    void criteriaNdListOnTheWrittenModelDirectoryReturnsTheRawHiddenState()
            throws IOException, ModelException, TranslateException {
        Path dir = writtenDirectory();
        Batch b = batches.get(1);
        Criteria<NDList, NDList> criteria =
                Criteria.builder().setTypes(NDList.class, NDList.class).optModelPath(dir).build();
        try (ZooModel<NDList, NDList> model = criteria.loadModel();
                Predictor<NDList, NDList> predictor = model.newPredictor();
                NDManager m = manager.newSubManager()) {
            assertInstanceOf(BertEncoder.class, model.getBlock());
            NDArray out = predictor.predict(b.inputs(m, false)).head();
            assertEquals(BertEncoder.OUTPUT_NAME, out.getName());
            assertEquals(new Shape(b.size(), b.tokens(), HIDDEN), out.getShape());
            float[] loaded = out.toFloatArray();
            float[] direct = hidden(b);
            double maxDiff = 0;
            for (int i = 0; i < loaded.length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs(loaded[i] - direct[i]));
            }
            assertEquals(0, maxDiff, "the reloaded parameters are the imported ones");
        }
    }

    @Test
    void theWrittenDirectoryRebuildsTheArchitectureFromItsServingProperties()
            throws IOException, ModelException {
        Path dir = writtenDirectory();
        Set<String> files = new HashSet<>();
        try (var list = Files.list(dir)) {
            list.forEach(p -> files.add(p.getFileName().toString()));
        }
        assertEquals(
                Set.of("serving.properties", "all-minilm-l6-v2-0000.params", "tokenizer.json"),
                files);
        java.util.Properties p = new java.util.Properties();
        try (var in = Files.newBufferedReader(dir.resolve("serving.properties"))) {
            p.load(in);
        }
        assertEquals(BertBlockFactory.class.getName(), p.getProperty("blockFactory"));
        assertEquals("PyTorch", p.getProperty("engine"));
        assertEquals(
                "ai.djl.huggingface.translator.TextEmbeddingTranslatorFactory",
                p.getProperty("translatorFactory"));
        assertEquals("mean", p.getProperty("pooling"));
        assertEquals("true", p.getProperty("normalize"));
        assertEquals("true", p.getProperty("includeTokenTypes"));
        BertConfig config = ((BertEncoder) imported.getBlock()).getConfig();
        Map<String, String> arguments = new java.util.HashMap<>();
        p.stringPropertyNames().forEach(k -> arguments.put(k, p.getProperty(k)));
        assertEquals(config, BertConfig.fromArguments(arguments));
        assertEquals(config.toArguments().get("numHeads"), imported.getProperty("numHeads"));
        FileAlreadyExistsException e =
                assertThrows(
                        FileAlreadyExistsException.class,
                        () -> BertImporter.writeModelDirectory(jar, dir, "again"));
        assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
    }

    @Test
    void theQuantizerFindsThe36LinearLayersInForwardOrder() {
        List<LayerSelector.LayerCandidate> layers =
                BlockTransformer.candidates(imported.getBlock());
        List<String> paths = layers.stream().map(LayerSelector.LayerCandidate::path).toList();
        System.out.println("Linear layers: " + paths.subList(0, 6) + " … " + paths.get(35));
        assertEquals(36, layers.size());
        assertEquals(
                List.of(
                        "02layer0/01query",
                        "02layer0/02key",
                        "02layer0/03value",
                        "02layer0/04attentionOutput",
                        "02layer0/06intermediate",
                        "02layer0/07output"),
                paths.subList(0, 6));
        assertEquals("07layer5/07output", paths.get(35));
        for (LayerSelector.LayerCandidate c : layers) {
            assertEquals(Linear.class, c.block().getClass(), c.path());
        }
    }

    @Test
    void aJarWithoutOrWithTwoOnnxEntriesIsRefusedNamingIt() throws IOException {
        Path none = zip(tmp.resolve("none.jar"), "README", "x/tokenizer.json");
        IOException e1 = assertThrows(IOException.class, () -> BertImporter.load(none));
        assertTrue(
                e1.getMessage().contains("jar " + none + " holds no *.onnx entry"),
                e1.getMessage());

        Path two = zip(tmp.resolve("two.jar"), "a.onnx", "models/b.onnx");
        IOException e2 = assertThrows(IOException.class, () -> BertImporter.load(two));
        assertTrue(
                e2.getMessage().contains("jar " + two + " holds 2 *.onnx entries"),
                e2.getMessage());
        assertTrue(e2.getMessage().contains("models/b.onnx"), e2.getMessage());

        Path broken = zip(tmp.resolve("broken.jar"), "broken.onnx");
        MalformedModelException e3 =
                assertThrows(MalformedModelException.class, () -> BertImporter.load(broken));
        assertTrue(e3.getMessage().contains("broken.onnx"), e3.getMessage());
    }

    @Test
    void aMissingOrUnreadableSourceIsRefusedNamingIt() throws IOException {
        Path missing = tmp.resolve("absent.onnx");
        NoSuchFileException e1 =
                assertThrows(NoSuchFileException.class, () -> BertImporter.load(missing));
        assertTrue(e1.getMessage().contains(missing.toString()), e1.getMessage());

        Path garbage =
                Files.write(tmp.resolve("garbage.onnx"), new byte[] {0x0A, (byte) 0xFF, 0x01});
        MalformedModelException e2 =
                assertThrows(MalformedModelException.class, () -> BertImporter.load(garbage));
        assertTrue(e2.getMessage().contains(garbage.toString()), e2.getMessage());
        assertTrue(e2.getMessage().contains("byte offset"), e2.getMessage());

        Path empty = Files.createDirectories(tmp.resolve("empty-dir"));
        IOException e3 = assertThrows(IOException.class, () -> BertImporter.load(empty));
        assertTrue(e3.getMessage().contains(empty.toString()), e3.getMessage());

        Path noTokenizer = Files.createDirectories(tmp.resolve("no-tokenizer"));
        Path onnx = MiniLm.extract(MiniLm.ONNX, noTokenizer);
        IOException e4 =
                assertThrows(
                        IOException.class,
                        () -> BertImporter.writeModelDirectory(onnx, tmp.resolve("never"), "x"));
        assertTrue(e4.getMessage().contains("no tokenizer beside " + onnx), e4.getMessage());
        assertTrue(Files.notExists(tmp.resolve("never")));
    }

    // ---------------------------------------------------------------- helpers

    private static synchronized Path writtenDirectory()
            throws IOException, MalformedModelException {
        if (written == null) {
            written =
                    BertImporter.writeModelDirectory(
                            jar, tmp.resolve("minilm"), "all-minilm-l6-v2");
        }
        return written;
    }

    private static float[] hidden(Batch b) {
        try (NDManager m = manager.newSubManager()) {
            NDList out =
                    imported.getBlock()
                            .forward(new ParameterStore(m, false), b.inputs(m, false), false);
            assertEquals(BertEncoder.OUTPUT_NAME, out.head().getName());
            return out.head().toFloatArray();
        }
    }

    private static float[] onnxRuntimeHidden(Batch b) throws TranslateException {
        try (NDManager m = manager.newSubManager();
                Predictor<NDList, NDList> p = onnxRuntime.newPredictor()) {
            return p.predict(b.inputs(m, true)).head().toFloatArray();
        }
    }

    private static Path zip(Path file, String... entries) throws IOException {
        try (OutputStream out = Files.newOutputStream(file);
                ZipOutputStream zip = new ZipOutputStream(out)) {
            for (String e : entries) {
                zip.putNextEntry(new ZipEntry(e));
                zip.write(new byte[] {0x0A, 0x05, 0x01});
                zip.closeEntry();
            }
        }
        return file;
    }

    private static double cosine(float[] a, float[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }

    private static double norm(float[] a) {
        double s = 0;
        for (float v : a) {
            s += (double) v * v;
        }
        return Math.sqrt(s);
    }

    /** A tokenized, padded batch: row-major (N, T) ids, mask and token types. */
    private record Batch(List<String> texts, long[] ids, long[] mask, long[] types, int tokens) {

        static Batch of(HuggingFaceTokenizer tokenizer, List<String> texts) {
            Encoding[] enc = tokenizer.batchEncode(texts);
            int n = enc.length;
            int t = enc[0].getIds().length;
            long[] ids = new long[n * t];
            long[] mask = new long[n * t];
            long[] types = new long[n * t];
            for (int i = 0; i < n; i++) {
                System.arraycopy(enc[i].getIds(), 0, ids, i * t, t);
                System.arraycopy(enc[i].getAttentionMask(), 0, mask, i * t, t);
                System.arraycopy(enc[i].getTypeIds(), 0, types, i * t, t);
            }
            return new Batch(List.copyOf(texts), ids, mask, types, t);
        }

        int size() {
            return texts.size();
        }

        /** Real (unpadded) tokens of sentence s. */
        int length(int s) {
            int n = 0;
            for (int t = 0; t < tokens; t++) {
                n += (int) mask[s * tokens + t];
            }
            return n;
        }

        /**
         * Inputs in the graph's order (input_ids, attention_mask, token_type_ids); named for ONNX
         * Runtime.
         */
        NDList inputs(NDManager m, boolean named) {
            Shape shape = new Shape(size(), tokens);
            NDArray i = m.create(ids, shape);
            NDArray a = m.create(mask, shape);
            NDArray y = m.create(types, shape);
            if (named) {
                i.setName("input_ids");
                a.setName("attention_mask");
                y.setName("token_type_ids");
            }
            return new NDList(i, a, y);
        }

        /** Mean over the real tokens, L2-normalized (sentence-transformers pooling). */
        float[] embedding(float[] hidden, int s) {
            double[] sum = new double[HIDDEN];
            int n = length(s);
            for (int t = 0; t < n; t++) {
                for (int h = 0; h < HIDDEN; h++) {
                    sum[h] += hidden[(s * tokens + t) * HIDDEN + h];
                }
            }
            double norm = 0;
            for (double v : sum) {
                norm += (v / n) * (v / n);
            }
            norm = Math.sqrt(norm);
            float[] out = new float[HIDDEN];
            for (int h = 0; h < HIDDEN; h++) {
                out[h] = (float) (sum[h] / n / norm);
            }
            return out;
        }
    }
}
