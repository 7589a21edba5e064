package ai.djl.nupes.bench;

import com.google.gson.annotations.SerializedName;

import java.util.List;
import java.util.Objects;

/**
 * One row of {@code target/bench/accuracy.json}. The language-model fields are null (and absent
 * from the JSON) for the classifiers.
 *
 * @param model test model id
 * @param method method id ({@code float}, {@code uniform}, {@code powerquant-layer}, ...)
 * @param wbits weight bits (32 for float)
 * @param abits activation bits (32 = float activations)
 * @param accuracy top-1 accuracy in [0, 1] (for the {@code lm}: of the next character)
 * @param floatAccuracy the float model's accuracy on the same samples
 * @param evalSamples how many test images (for the {@code lm}: scored characters) were scored
 * @param seconds wall time of the quantization (not of the evaluation)
 * @param groupSize inputs per scale group, 0 for one scale per output channel (null: not recorded)
 * @param perplexity the quantized language model's perplexity
 * @param floatPerplexity the float language model's perplexity on the same text
 * @param klDivergence mean KL(float ‖ quantized) of the next-character distributions, in nats
 * @param top1Agreement fraction of positions whose most likely next character is the float model's
 * @param bitsPerWeight bits per quantized weight of the frozen export: codes, scales, exponents
 * @param calibrationSamples calibration sequences the method saw (0 data-free)
 * @param embeddingBits bits of the weight tables (token embeddings), 32 = float (null: not recorded,
 *     read as 32)
 * @param fileBytes bytes of the frozen export's parameter file (for float: the model's own)
 * @param seeds how many seeds {@link #accuracy} and {@link #seconds} are the mean of (null: one run)
 * @param accuracySd the sample standard deviation of the accuracy over the seeds
 * @param accuracyBySeed the accuracy of each seed, in seed order
 */
public record AccuracyRow(
        String model,
        String method,
        int wbits,
        int abits,
        double accuracy,
        @SerializedName("float_accuracy") double floatAccuracy,
        @SerializedName("eval_samples") long evalSamples,
        double seconds,
        @SerializedName("group_size") Integer groupSize,
        Double perplexity,
        @SerializedName("float_perplexity") Double floatPerplexity,
        @SerializedName("kl_divergence") Double klDivergence,
        @SerializedName("top1_agreement") Double top1Agreement,
        @SerializedName("bits_per_weight") Double bitsPerWeight,
        @SerializedName("calibration_samples") Integer calibrationSamples,
        @SerializedName("embedding_bits") Integer embeddingBits,
        @SerializedName("file_bytes") Long fileBytes,
        Integer seeds,
        @SerializedName("accuracy_sd") Double accuracySd,
        @SerializedName("accuracy_by_seed") List<Double> accuracyBySeed) {

    /**
     * A classifier row (no group size, no language-model fields).
     *
     * @param model test model id
     * @param method method id
     * @param wbits weight bits
     * @param abits activation bits
     * @param accuracy top-1 accuracy
     * @param floatAccuracy the float model's accuracy
     * @param evalSamples test images scored
     * @param seconds quantization wall time
     */
    public AccuracyRow(
            String model,
            String method,
            int wbits,
            int abits,
            double accuracy,
            double floatAccuracy,
            long evalSamples,
            double seconds) {
        this(model, method, wbits, abits, accuracy, floatAccuracy, evalSamples, seconds,
                null, null, null, null, null, null, null, null, null, null, null, null);
    }

    /**
     * One row for the same measurement repeated over seeds: the mean accuracy and time, the
     * standard deviation and every seed's accuracy.
     *
     * @param runs the rows of each seed, in seed order, all with the same key
     * @return the combined row (the single row itself for one run)
     * @throws IllegalArgumentException for no run or runs of different measurements
     */
    public static AccuracyRow overSeeds(List<AccuracyRow> runs) {
        if (runs.isEmpty()) {
            throw new IllegalArgumentException("no run to combine");
        }
        AccuracyRow first = runs.get(0);
        if (runs.size() == 1) {
            return first;
        }
        for (AccuracyRow r : runs) {
            if (!first.sameKey(r)) {
                throw new IllegalArgumentException("runs of different measurements: " + first + " and " + r);
            }
        }
        List<Double> accuracies = runs.stream().map(AccuracyRow::accuracy).toList();
        double mean = accuracies.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        double squares = accuracies.stream().mapToDouble(a -> (a - mean) * (a - mean)).sum();
        double sd = Math.sqrt(squares / (runs.size() - 1));
        double seconds = runs.stream().mapToDouble(AccuracyRow::seconds).average().orElseThrow();
        return new AccuracyRow(first.model, first.method, first.wbits, first.abits, mean, first.floatAccuracy,
                first.evalSamples, seconds, first.groupSize, first.perplexity, first.floatPerplexity,
                first.klDivergence, first.top1Agreement, first.bitsPerWeight, first.calibrationSamples,
                first.embeddingBits, first.fileBytes, runs.size(), sd, accuracies);
    }

    /**
     * Whether two rows describe the same measurement (and the newer replaces the older).
     *
     * @param other the other row
     * @return true for the same model, method, wbits, abits, group size and embedding bits
     */
    public boolean sameKey(AccuracyRow other) {
        return model.equals(other.model)
                && method.equals(other.method)
                && wbits == other.wbits
                && abits == other.abits
                && Objects.equals(groupSize, other.groupSize)
                && tableBits() == other.tableBits();
    }

    /**
     * The weight tables' bits, a row that did not record them read as float.
     *
     * @return {@link #embeddingBits}, or 32 when it is null
     */
    public int tableBits() {
        return embeddingBits == null ? 32 : embeddingBits;
    }
}
