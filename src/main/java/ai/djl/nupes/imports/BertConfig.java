package ai.djl.nupes.imports;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The architecture of a BERT-family encoder, as read from a model file.
 *
 * @param vocabSize rows of the word embedding
 * @param hiddenSize width of every hidden state
 * @param numLayers encoder layers
 * @param numHeads attention heads per layer ({@code hiddenSize / numHeads} wide each)
 * @param intermediateSize width of the feed-forward layer
 * @param maxPositions rows of the position embedding: the longest input
 * @param typeVocabSize rows of the token type embedding
 * @param layerNormEps the epsilon of every LayerNorm
 * @param attentionMaskBias the score added for a masked key: {@code (1 - mask) · attentionMaskBias}
 *     (e.g. -10000, or the float minimum in newer exports)
 */
public record BertConfig(
        int vocabSize,
        int hiddenSize,
        int numLayers,
        int numHeads,
        int intermediateSize,
        int maxPositions,
        int typeVocabSize,
        float layerNormEps,
        float attentionMaskBias) {

    /** The argument keys, in the order {@link #toArguments} writes them. */
    private static final String[] KEYS = {
        "vocabSize",
        "hiddenSize",
        "numLayers",
        "numHeads",
        "intermediateSize",
        "maxPositions",
        "typeVocabSize",
        "layerNormEps",
        "attentionMaskBias"
    };

    /**
     * Checks the sizes.
     *
     * @throws IllegalArgumentException when a size is not positive or the heads do not divide the
     *     hidden size
     */
    public BertConfig {
        requirePositive("vocabSize", vocabSize);
        requirePositive("hiddenSize", hiddenSize);
        requirePositive("numLayers", numLayers);
        requirePositive("numHeads", numHeads);
        requirePositive("intermediateSize", intermediateSize);
        requirePositive("maxPositions", maxPositions);
        requirePositive("typeVocabSize", typeVocabSize);
        if (hiddenSize % numHeads != 0) {
            throw new IllegalArgumentException(
                    "hiddenSize " + hiddenSize + " is not a multiple of numHeads " + numHeads);
        }
        if (!(layerNormEps > 0) || Float.isInfinite(layerNormEps)) {
            throw new IllegalArgumentException("layerNormEps must be positive: " + layerNormEps);
        }
        if (Float.isNaN(attentionMaskBias) || attentionMaskBias > 0) {
            throw new IllegalArgumentException(
                    "attentionMaskBias must be negative or zero: " + attentionMaskBias);
        }
    }

    /**
     * Width of one attention head.
     *
     * @return {@code hiddenSize / numHeads}
     */
    public int headSize() {
        return hiddenSize / numHeads;
    }

    /**
     * The config as string arguments, for {@code serving.properties} or {@code
     * Criteria.optArgument}; floats are written so that they parse back exactly.
     *
     * @return key to value, in a fixed order
     */
    public Map<String, String> toArguments() {
        Map<String, String> out = new LinkedHashMap<>();
        Object[] values = {
            vocabSize,
            hiddenSize,
            numLayers,
            numHeads,
            intermediateSize,
            maxPositions,
            typeVocabSize,
            layerNormEps,
            attentionMaskBias
        };
        for (int i = 0; i < KEYS.length; i++) {
            out.put(KEYS[i], values[i].toString());
        }
        return out;
    }

    /**
     * Reads a config from arguments (values may be strings or numbers); other keys are ignored.
     *
     * @param arguments the arguments, as {@link #toArguments} writes them
     * @return the config
     * @throws IllegalArgumentException naming the key when one is missing or not a number
     */
    public static BertConfig fromArguments(Map<String, ?> arguments) {
        return new BertConfig(
                intArgument(arguments, "vocabSize"),
                intArgument(arguments, "hiddenSize"),
                intArgument(arguments, "numLayers"),
                intArgument(arguments, "numHeads"),
                intArgument(arguments, "intermediateSize"),
                intArgument(arguments, "maxPositions"),
                intArgument(arguments, "typeVocabSize"),
                floatArgument(arguments, "layerNormEps"),
                floatArgument(arguments, "attentionMaskBias"));
    }

    private static String argument(Map<String, ?> arguments, String key) {
        Object v = arguments.get(key);
        if (v == null) {
            throw new IllegalArgumentException(
                    "BERT encoder argument '"
                            + key
                            + "' is missing (expected all of "
                            + String.join(", ", KEYS)
                            + ')');
        }
        return v.toString().trim();
    }

    private static int intArgument(Map<String, ?> arguments, String key) {
        String v = argument(arguments, key);
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "BERT encoder argument '" + key + "' is not an integer: '" + v + '\'', e);
        }
    }

    private static float floatArgument(Map<String, ?> arguments, String key) {
        String v = argument(arguments, key);
        try {
            return Float.parseFloat(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "BERT encoder argument '" + key + "' is not a number: '" + v + '\'', e);
        }
    }

    private static void requirePositive(String key, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(key + " must be positive: " + value);
        }
    }
}
