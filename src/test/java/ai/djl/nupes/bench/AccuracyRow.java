package ai.djl.nupes.bench;

import com.google.gson.annotations.SerializedName;

/**
 * One row of {@code target/bench/accuracy.json}.
 *
 * @param model test model id
 * @param method method id ({@code float}, {@code uniform}, {@code powerquant-layer}, ...)
 * @param wbits weight bits (32 for float)
 * @param abits activation bits (32 = float activations)
 * @param accuracy top-1 accuracy in [0, 1]
 * @param floatAccuracy the float model's accuracy on the same samples
 * @param evalSamples how many test images were scored
 * @param seconds wall time of the quantization (not of the evaluation)
 */
public record AccuracyRow(
        String model,
        String method,
        int wbits,
        int abits,
        double accuracy,
        @SerializedName("float_accuracy") double floatAccuracy,
        @SerializedName("eval_samples") long evalSamples,
        double seconds) {

    /**
     * Whether two rows describe the same measurement (and the newer replaces the older).
     *
     * @param other the other row
     * @return true for the same model, method, wbits and abits
     */
    public boolean sameKey(AccuracyRow other) {
        return model.equals(other.model)
                && method.equals(other.method)
                && wbits == other.wbits
                && abits == other.abits;
    }
}
