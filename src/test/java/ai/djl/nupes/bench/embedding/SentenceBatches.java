package ai.djl.nupes.bench.embedding;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * Sentences tokenized once (plain Java arrays) and cut into padded {@code NDList(input_ids,
 * attention_mask, token_type_ids)} INT64 (N, T) batches: right padding with the tokenizer's pad
 * id and pad type id, mask 1 on real tokens and 0 on padding, at most {@value #MAX_LENGTH} tokens
 * ({@code [CLS]} and {@code [SEP]} included; longer sentences are truncated).
 *
 * <p>Two layouts: {@link Padding#LONGEST_IN_BATCH} pads each batch to its own longest sentence
 * (evaluation; with {@code sortByLength} the sentences are batched shortest first so padding is
 * small, and {@link Batch#sentences()} says where each row came from); {@link
 * Padding#LONGEST_IN_SET} pads every batch to the longest sentence of the whole set, because
 * {@code NupesConfig.optCalibrationData(Iterable)} concatenates its batches along the first axis
 * and so needs one T (calibration; kept in the given order).
 *
 * <p>{@link #inputs(NDManager)} is the {@code Iterable<NDList>} for {@code optCalibrationData}:
 * each iteration creates its arrays in the given manager, which the caller closes.
 */
public final class SentenceBatches {

    /** The longest input, in tokens. */
    public static final int MAX_LENGTH = 128;

    /** The input names, in the encoder's order. */
    public static final List<String> INPUT_NAMES =
            List.of("input_ids", "attention_mask", "token_type_ids");

    /** How batches are padded. */
    public enum Padding {
        /** Each batch to its own longest sentence. */
        LONGEST_IN_BATCH,
        /** Every batch to the longest sentence of the set. */
        LONGEST_IN_SET
    }

    /**
     * The padding token of a tokenizer.json.
     *
     * @param id the pad token id
     * @param typeId the pad token type id
     */
    public record PadToken(long id, long typeId) {}

    private final List<String> texts;
    private final long[][] ids;
    private final long[][] types;
    private final PadToken pad;
    private final List<int[]> batches;
    private final int[] tokens;

    private SentenceBatches(
            List<String> texts, long[][] ids, long[][] types, PadToken pad, List<int[]> batches, Padding padding) {
        this.texts = texts;
        this.ids = ids;
        this.types = types;
        this.pad = pad;
        this.batches = batches;
        this.tokens = new int[batches.size()];
        int longest = 0;
        for (long[] s : ids) {
            longest = Math.max(longest, s.length);
        }
        for (int b = 0; b < batches.size(); b++) {
            int t = 0;
            for (int s : batches.get(b)) {
                t = Math.max(t, ids[s].length);
            }
            tokens[b] = padding == Padding.LONGEST_IN_SET ? longest : t;
        }
    }

    /**
     * A tokenizer that truncates to {@value #MAX_LENGTH} tokens, adds {@code [CLS]}/{@code [SEP]}
     * and does not pad (padding is done here, with {@link #padToken}); offline.
     *
     * @param tokenizerJson a Hugging Face tokenizer.json
     * @return the tokenizer; the caller closes it
     * @throws IOException when the file cannot be read
     */
    public static HuggingFaceTokenizer tokenizer(Path tokenizerJson) throws IOException {
        return HuggingFaceTokenizer.newInstance(
                tokenizerJson,
                Map.of(
                        "padding", "false",
                        "truncation", "true",
                        "maxLength", Integer.toString(MAX_LENGTH),
                        "addSpecialTokens", "true"));
    }

    /**
     * Reads the pad token of a tokenizer.json: its {@code padding.pad_id}/{@code pad_type_id}, else
     * the added token {@code [PAD]} (type 0).
     *
     * @param tokenizerJson the file
     * @return the pad token
     * @throws IOException when the file cannot be read or names no pad token
     */
    public static PadToken padToken(Path tokenizerJson) throws IOException {
        JsonObject root =
                JsonParser.parseString(Files.readString(tokenizerJson, StandardCharsets.UTF_8))
                        .getAsJsonObject();
        JsonElement padding = root.get("padding");
        if (padding != null && padding.isJsonObject() && padding.getAsJsonObject().has("pad_id")) {
            JsonObject p = padding.getAsJsonObject();
            long typeId = p.has("pad_type_id") ? p.get("pad_type_id").getAsLong() : 0;
            return new PadToken(p.get("pad_id").getAsLong(), typeId);
        }
        JsonElement added = root.get("added_tokens");
        if (added != null && added.isJsonArray()) {
            for (JsonElement e : added.getAsJsonArray()) {
                JsonObject t = e.getAsJsonObject();
                if ("[PAD]".equals(t.get("content").getAsString())) {
                    return new PadToken(t.get("id").getAsLong(), 0);
                }
            }
        }
        throw new IOException(tokenizerJson + " names no pad token (padding.pad_id or [PAD])");
    }

    /**
     * Tokenizes sentences and cuts them into batches.
     *
     * @param tokenizer a tokenizer from {@link #tokenizer} (no padding)
     * @param pad the pad token
     * @param texts the sentences
     * @param batchSize sentences per batch (the last batch may be smaller)
     * @param sortByLength batch shortest first (the original index of each row is kept)
     * @param padding the layout
     * @return the batches
     */
    public static SentenceBatches of(
            HuggingFaceTokenizer tokenizer,
            PadToken pad,
            List<String> texts,
            int batchSize,
            boolean sortByLength,
            Padding padding) {
        if (texts.isEmpty()) {
            throw new IllegalArgumentException("no sentences to batch");
        }
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        }
        long[][] ids = new long[texts.size()][];
        long[][] types = new long[texts.size()][];
        int chunk = 256;
        for (int from = 0; from < texts.size(); from += chunk) {
            List<String> part = texts.subList(from, Math.min(texts.size(), from + chunk));
            Encoding[] enc = tokenizer.batchEncode(part);
            for (int i = 0; i < enc.length; i++) {
                long[] mask = enc[i].getAttentionMask();
                for (long m : mask) {
                    if (m != 1) {
                        throw new IllegalStateException("the tokenizer pads; build it with tokenizer(path)");
                    }
                }
                ids[from + i] = enc[i].getIds();
                types[from + i] = enc[i].getTypeIds();
            }
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            order.add(i);
        }
        if (sortByLength) {
            order.sort(Comparator.comparingInt((Integer i) -> ids[i].length).thenComparingInt(i -> i));
        }
        List<int[]> batches = new ArrayList<>();
        for (int from = 0; from < order.size(); from += batchSize) {
            List<Integer> part = order.subList(from, Math.min(order.size(), from + batchSize));
            batches.add(part.stream().mapToInt(Integer::intValue).toArray());
        }
        return new SentenceBatches(List.copyOf(texts), ids, types, pad, Collections.unmodifiableList(batches), padding);
    }

    /**
     * Returns the sentence count.
     *
     * @return sentences
     */
    public int size() {
        return texts.size();
    }

    /**
     * Returns the sentences, in the given order.
     *
     * @return the texts
     */
    public List<String> texts() {
        return texts;
    }

    /**
     * Returns the batch count.
     *
     * @return batches
     */
    public int batchCount() {
        return batches.size();
    }

    /**
     * Returns the real token count of a sentence (special tokens included).
     *
     * @param sentence index in the given order
     * @return tokens
     */
    public int length(int sentence) {
        return ids[sentence].length;
    }

    /**
     * Returns the pad token.
     *
     * @return the pad token
     */
    public PadToken padToken() {
        return pad;
    }

    /**
     * Builds one padded batch as plain arrays.
     *
     * @param b the batch index
     * @return the batch
     */
    public Batch batch(int b) {
        int[] rows = batches.get(b);
        int t = tokens[b];
        long[] id = new long[rows.length * t];
        long[] mask = new long[rows.length * t];
        long[] type = new long[rows.length * t];
        for (int r = 0; r < rows.length; r++) {
            long[] s = ids[rows[r]];
            long[] y = types[rows[r]];
            for (int k = 0; k < t; k++) {
                int at = r * t + k;
                if (k < s.length) {
                    id[at] = s[k];
                    mask[at] = 1;
                    type[at] = y[k];
                } else {
                    id[at] = pad.id();
                    type[at] = pad.typeId();
                }
            }
        }
        return new Batch(rows.clone(), t, id, mask, type);
    }

    /**
     * The batches as model inputs {@code NDList(input_ids, attention_mask, token_type_ids)},
     * created in {@code manager} as they are iterated (for {@code optCalibrationData}).
     *
     * @param manager where the arrays live; the caller closes it
     * @return the batches
     */
    public Iterable<NDList> inputs(NDManager manager) {
        return () ->
                new Iterator<>() {
                    private int next;

                    @Override
                    public boolean hasNext() {
                        return next < batches.size();
                    }

                    @Override
                    public NDList next() {
                        if (!hasNext()) {
                            throw new NoSuchElementException();
                        }
                        return batch(next++).toNDList(manager);
                    }
                };
    }

    /**
     * One padded batch, row-major (N, T).
     *
     * @param sentences the index (in the given order) of the sentence of each row
     * @param tokens T
     * @param ids input ids
     * @param mask attention mask
     * @param types token type ids
     */
    public record Batch(int[] sentences, int tokens, long[] ids, long[] mask, long[] types) {

        /**
         * Returns N.
         *
         * @return rows
         */
        public int size() {
            return sentences.length;
        }

        /**
         * Returns the real tokens of a row: the sum of its mask.
         *
         * @param row the row
         * @return tokens
         */
        public int length(int row) {
            int n = 0;
            for (int k = 0; k < tokens; k++) {
                n += (int) mask[row * tokens + k];
            }
            return n;
        }

        /**
         * The encoder's inputs, unnamed, in its order.
         *
         * @param manager where the arrays live
         * @return {@code NDList(input_ids, attention_mask, token_type_ids)}
         */
        public NDList toNDList(NDManager manager) {
            Shape shape = new Shape(size(), tokens);
            return new NDList(
                    manager.create(ids, shape), manager.create(mask, shape), manager.create(types, shape));
        }

        /**
         * Named inputs in the order a graph lists them (e.g. an ONNX session's input names).
         *
         * @param manager where the arrays live
         * @param names a subset of {@link #INPUT_NAMES}, in the graph's order
         * @return the arrays, named
         */
        public NDList toNDList(NDManager manager, List<String> names) {
            Shape shape = new Shape(size(), tokens);
            NDList out = new NDList(names.size());
            for (String name : names) {
                long[] data;
                switch (name) {
                    case "input_ids":
                        data = ids;
                        break;
                    case "attention_mask":
                        data = mask;
                        break;
                    case "token_type_ids":
                        data = types;
                        break;
                    default:
                        throw new IllegalArgumentException(
                                "unknown encoder input '" + name + "'; expected " + INPUT_NAMES);
                }
                NDArray a = manager.create(data, shape);
                a.setName(name);
                out.add(a);
            }
            return out;
        }
    }
}
