package ai.djl.nupes.bench.embedding;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nupes.text.TextSlices;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@link SentenceBatches} on a handful of real KJV verses and the model's own tokenizer.json. */
class SentenceBatchesTest {

    @TempDir static Path tmp;

    private static Path tokenizerFile;
    private static HuggingFaceTokenizer tokenizer;
    private static SentenceBatches.PadToken pad;
    private static List<String> verses;

    @BeforeAll
    static void setUp() throws IOException {
        tokenizerFile = MiniLmArtifacts.extract(MiniLmArtifacts.TOKENIZER, tmp.resolve("tokenizer.json"));
        tokenizer = SentenceBatches.tokenizer(tokenizerFile);
        pad = SentenceBatches.padToken(tokenizerFile);
        verses = new ArrayList<>(TextSlices.kjvEvaluation().subList(0, 7));
        verses.add("Jesus wept.");
    }

    @AfterAll
    static void tearDown() {
        tokenizer.close();
    }

    /** Token counts from a fresh encode of each verse on its own, unpadded. */
    private static long[][] alone(List<String> texts) {
        long[][] ids = new long[texts.size()][];
        for (int i = 0; i < texts.size(); i++) {
            ids[i] = tokenizer.encode(texts.get(i)).getIds();
        }
        return ids;
    }

    @Test
    void thePadTokenIsTheTokenizersOwn() {
        assertEquals(new SentenceBatches.PadToken(0, 0), pad);
        assertEquals("[PAD]", tokenizer.decode(new long[] {pad.id()}, false));
    }

    @Test
    void eachBatchIsPaddedToItsLongestWithTheMaskSummingToTheTokenCounts() {
        SentenceBatches b = SentenceBatches.of(tokenizer, pad, verses, 3, false, SentenceBatches.Padding.LONGEST_IN_BATCH);
        long[][] alone = alone(verses);
        assertEquals(3, b.batchCount());
        Set<Integer> seen = new HashSet<>();
        int padded = 0;
        for (int bi = 0; bi < b.batchCount(); bi++) {
            SentenceBatches.Batch batch = b.batch(bi);
            int longest = 0;
            for (int s : batch.sentences()) {
                longest = Math.max(longest, alone[s].length);
            }
            assertEquals(longest, batch.tokens(), "batch " + bi + " is padded to its longest verse");
            for (int r = 0; r < batch.size(); r++) {
                int s = batch.sentences()[r];
                assertTrue(seen.add(s));
                assertEquals(alone[s].length, batch.length(r), "mask sum = token count of verse " + s);
                assertEquals(alone[s].length, b.length(s));
                for (int k = 0; k < batch.tokens(); k++) {
                    int at = r * batch.tokens() + k;
                    if (k < alone[s].length) {
                        assertEquals(alone[s][k], batch.ids()[at]);
                        assertEquals(1, batch.mask()[at]);
                        assertEquals(0, batch.types()[at]);
                    } else {
                        padded++;
                        assertEquals(pad.id(), batch.ids()[at], "padding id");
                        assertEquals(pad.typeId(), batch.types()[at], "padding type id");
                        assertEquals(0, batch.mask()[at], "padding is masked");
                    }
                }
                assertEquals(101, batch.ids()[r * batch.tokens()], "[CLS] first");
                assertEquals(102, batch.ids()[r * batch.tokens() + alone[s].length - 1], "[SEP] last");
            }
        }
        assertEquals(verses.size(), seen.size());
        assertTrue(padded > 0, "some rows are padded");
    }

    @Test
    void ourPaddingMatchesTheTokenizersOwnPadding() throws IOException {
        try (HuggingFaceTokenizer padding =
                HuggingFaceTokenizer.newInstance(tokenizerFile, Map.of("padding", "longest", "maxLength", "128"))) {
            Encoding[] enc = padding.batchEncode(verses);
            SentenceBatches b = SentenceBatches.of(tokenizer, pad, verses, verses.size(), false,
                    SentenceBatches.Padding.LONGEST_IN_BATCH);
            SentenceBatches.Batch batch = b.batch(0);
            assertEquals(enc[0].getIds().length, batch.tokens());
            for (int r = 0; r < verses.size(); r++) {
                int t = batch.tokens();
                assertArrayEquals(enc[r].getIds(), Arrays.copyOfRange(batch.ids(), r * t, (r + 1) * t));
                assertArrayEquals(enc[r].getAttentionMask(), Arrays.copyOfRange(batch.mask(), r * t, (r + 1) * t));
                assertArrayEquals(enc[r].getTypeIds(), Arrays.copyOfRange(batch.types(), r * t, (r + 1) * t));
            }
        }
    }

    @Test
    void sortedBatchesRunShortestFirstAndKeepWhereEachRowCameFrom() {
        SentenceBatches b = SentenceBatches.of(tokenizer, pad, verses, 3, true, SentenceBatches.Padding.LONGEST_IN_BATCH);
        int previous = 0;
        int[] order = new int[verses.size()];
        int at = 0;
        for (int bi = 0; bi < b.batchCount(); bi++) {
            SentenceBatches.Batch batch = b.batch(bi);
            for (int r = 0; r < batch.size(); r++) {
                assertTrue(batch.length(r) >= previous);
                previous = batch.length(r);
                order[at++] = batch.sentences()[r];
            }
        }
        int[] sorted = order.clone();
        Arrays.sort(sorted);
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7}, sorted);
        assertEquals(7, order[0], "'Jesus wept.' is the shortest");
    }

    @Test
    void calibrationLayoutPadsEveryBatchToOneLengthAndIteratesInt64Arrays() {
        SentenceBatches b = SentenceBatches.of(tokenizer, pad, verses, 3, false, SentenceBatches.Padding.LONGEST_IN_SET);
        int longest = Arrays.stream(alone(verses)).mapToInt(a -> a.length).max().orElseThrow();
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            int batches = 0;
            long rows = 0;
            for (NDList in : b.inputs(m)) {
                assertEquals(3, in.size());
                for (NDArray a : in) {
                    assertEquals(DataType.INT64, a.getDataType());
                    assertEquals(longest, a.getShape().get(1));
                }
                SentenceBatches.Batch batch = b.batch(batches);
                assertEquals(new Shape(batch.size(), longest), in.get(0).getShape());
                assertArrayEquals(batch.ids(), in.get(0).toLongArray());
                assertArrayEquals(batch.mask(), in.get(1).toLongArray());
                assertArrayEquals(batch.types(), in.get(2).toLongArray());
                rows += in.get(0).getShape().get(0);
                batches++;
            }
            assertEquals(3, batches);
            assertEquals(verses.size(), rows);
        }
    }

    @Test
    void longSentencesAreTruncatedTo128TokensEndingWithSep() {
        String verse = String.join(" ", java.util.Collections.nCopies(200, "word"));
        SentenceBatches b = SentenceBatches.of(tokenizer, pad, List.of(verse, "Jesus wept."), 2, false,
                SentenceBatches.Padding.LONGEST_IN_BATCH);
        SentenceBatches.Batch batch = b.batch(0);
        assertEquals(SentenceBatches.MAX_LENGTH, batch.tokens());
        assertEquals(SentenceBatches.MAX_LENGTH, batch.length(0));
        assertEquals(102, batch.ids()[SentenceBatches.MAX_LENGTH - 1]);
        NDList named;
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            named = batch.toNDList(m, List.of("input_ids", "attention_mask"));
            assertEquals(2, named.size());
            assertEquals("attention_mask", named.get(1).getName());
            assertArrayEquals(batch.mask(), named.get(1).toLongArray());
        }
    }
}
