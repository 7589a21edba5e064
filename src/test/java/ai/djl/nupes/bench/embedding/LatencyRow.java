package ai.djl.nupes.bench.embedding;

import com.google.gson.annotations.SerializedName;

/**
 * One row of {@code target/bench/embedding-latency.json}: {@code Predictor<String, float[]>}
 * latency (tokenization, forward, mean pooling and normalization) of one variant.
 *
 * @param model {@value MiniLmArtifacts#MODEL}
 * @param variant {@code float}, {@code <method>-w<bits>[-g<group>]} (frozen, reloaded through
 *     Criteria), {@code float-onnx} or {@code int8-artifact}
 * @param engine {@code PyTorch} or {@code OnnxRuntime}
 * @param b1Ms median of {@code predict(one verse)}
 * @param b32Ms median of {@code batchPredict(32 verses)}
 * @param b1Runs timed single-sentence runs (after warm-up)
 * @param b32Runs timed batch runs (after warm-up)
 * @param b1Tokens tokens of the single verse ([CLS] and [SEP] included)
 * @param b32Tokens the longest verse of the batch, in tokens (the batch is padded to it)
 */
public record LatencyRow(
        String model,
        String variant,
        String engine,
        @SerializedName("b1_ms") double b1Ms,
        @SerializedName("b32_ms") double b32Ms,
        @SerializedName("b1_runs") int b1Runs,
        @SerializedName("b32_runs") int b32Runs,
        @SerializedName("b1_tokens") int b1Tokens,
        @SerializedName("b32_tokens") int b32Tokens) {}
