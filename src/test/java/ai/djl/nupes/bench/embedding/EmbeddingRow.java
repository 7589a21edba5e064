package ai.djl.nupes.bench.embedding;

import com.google.gson.annotations.SerializedName;

/**
 * One row of {@code target/bench/embedding.json}: one quantized (or reference) variant of the
 * encoder scored against the float DJL model.
 *
 * @param model {@value MiniLmArtifacts#MODEL}
 * @param method {@code float}, a {@code Method} id, {@code float-onnx} or {@code int8-artifact}
 * @param engine the engine the embeddings came from ({@code PyTorch} or {@code OnnxRuntime})
 * @param wbits weight bits of the quantized layers (32 for float)
 * @param groupSize weights per scale along a channel; 0 = one scale per output channel
 * @param embeddingBits bits of the token/position embeddings (32 = float)
 * @param seeds how many seeds the metrics are averaged over
 * @param cosMean mean cosine to the float embedding over the evaluation verses
 * @param cosP5 5th percentile of that cosine
 * @param overlap10 mean |top-10 neighbours ∩ float top-10 neighbours| / 10 over the verses
 * @param mrr WordNet gloss → lemma mean reciprocal rank
 * @param floatMrr the float model's MRR on the same nouns
 * @param mrrDrop {@code floatMrr - mrr}
 * @param bitsPerWeight stored bits per quantized weight: (bytes of the frozen layers' codes,
 *     scales and exponents) · 8 / their weight count; for ONNX artifacts file bits / every
 *     parameter of the float model; 32 for the float model
 * @param fileBytes size of the frozen parameter file (the .onnx for ONNX artifacts)
 * @param fileBitsPerParam {@code fileBytes · 8} / every parameter of the float model (embeddings,
 *     LayerNorms and biases included), comparable across all rows
 * @param seconds quantization wall time, mean over seeds (0 for references)
 * @param cosMeanSpread max − min of cosMean over seeds (null for one seed)
 * @param cosP5Spread max − min of cosP5 over seeds
 * @param overlap10Spread max − min of overlap10 over seeds
 * @param mrrSpread max − min of mrr over seeds
 * @param criteriaCosMin min cosine, on the first 16 verses, between the variant loaded through
 *     {@code Criteria<String, float[]>} (DJL's TextEmbeddingTranslator: the float model directory,
 *     the frozen export reloaded, or the .onnx) and the bench's own batched embeddings of the same
 *     in-memory model (null when not loaded)
 * @param evalSentences evaluation verses scored
 * @param wordNetNouns WordNet nouns retrieved
 * @param calibrationSentences calibration verses (0 for data-free methods and references)
 * @param peakRssMb the process's VmHWM after the row (it only grows)
 */
public record EmbeddingRow(
        String model,
        String method,
        String engine,
        int wbits,
        @SerializedName("group_size") int groupSize,
        @SerializedName("embedding_bits") int embeddingBits,
        int seeds,
        @SerializedName("cos_mean") double cosMean,
        @SerializedName("cos_p5") double cosP5,
        double overlap10,
        double mrr,
        @SerializedName("float_mrr") double floatMrr,
        @SerializedName("mrr_drop") double mrrDrop,
        @SerializedName("bits_per_weight") double bitsPerWeight,
        @SerializedName("file_bytes") long fileBytes,
        @SerializedName("file_bits_per_param") double fileBitsPerParam,
        double seconds,
        @SerializedName("cos_mean_spread") Double cosMeanSpread,
        @SerializedName("cos_p5_spread") Double cosP5Spread,
        @SerializedName("overlap10_spread") Double overlap10Spread,
        @SerializedName("mrr_spread") Double mrrSpread,
        @SerializedName("criteria_cos_min") Double criteriaCosMin,
        @SerializedName("eval_sentences") int evalSentences,
        @SerializedName("wordnet_nouns") int wordNetNouns,
        @SerializedName("calibration_sentences") int calibrationSentences,
        @SerializedName("peak_rss_mb") double peakRssMb) {

    /**
     * Whether two rows measure the same thing (the newer replaces the older when merged).
     *
     * @param o the other row
     * @return same model, method, wbits, group size, embedding bits and data sizes
     */
    public boolean sameKey(EmbeddingRow o) {
        return model.equals(o.model)
                && method.equals(o.method)
                && wbits == o.wbits
                && groupSize == o.groupSize
                && embeddingBits == o.embeddingBits
                && evalSentences == o.evalSentences
                && wordNetNouns == o.wordNetNouns;
    }
}
