package ai.djl.nupes.gptq;

import ai.djl.nupes.quantizer.PowerQuantizer;
import ai.djl.nupes.quantizer.QuantizedWeights;
import ai.djl.nupes.quantizer.QuantizerSpec;

import org.ejml.data.DMatrixRBlock;
import org.ejml.data.DMatrixRMaj;
import org.ejml.data.DSubmatrixD1;
import org.ejml.dense.block.MatrixOps_DDRB;
import org.ejml.dense.block.TriangularSolver_MT_DDRB;
import org.ejml.dense.block.decomposition.chol.CholeskyOuterForm_MT_DDRB;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.CommonOps_MT_DDRM;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * GPTQ on one weight matrix W (output channels × K inputs) and its input Hessian H:
 *
 * <ol>
 *   <li>dead inputs ({@code H_ii = 0}) get {@code H_ii = 1} and a zero weight column;
 *   <li>optionally (act-order) the columns are visited by decreasing {@code H_ii};
 *   <li>{@code H += λ·I} with λ = damping · mean(diag H); when a factorization fails, λ grows tenfold
 *       (logged);
 *   <li>U = the upper Cholesky factor of {@code H⁻¹} ({@code H⁻¹ = UᵀU}), from one factorization;
 *   <li>column by column, in blocks: {@code q = Q(w)}, {@code e = (w - q) / U_ii}, and every later
 *       column j gets {@code w_j -= e·U_ij} (inside the block at once, after it in one product).
 * </ol>
 *
 * <p>Q is the power quantizer's round-to-nearest on the layer's grid and exponent. A scale group's
 * maximum is taken from the group's weights as they stand when its first column is reached (per
 * channel: the original weights), as the reference implementation does.
 */
public final class Gptq {

    private static final Logger logger = LoggerFactory.getLogger(Gptq.class);

    /** Columns quantized between two trailing updates. */
    public static final int DEFAULT_BLOCK_SIZE = 128;
    /** λ as a fraction of the mean diagonal of H. */
    public static final double DEFAULT_DAMPING = 0.01;
    private static final int MAX_DAMPING_RAISES = 8;
    /** The block width of the Cholesky factor and its inverse (fixed: results depend on it). */
    private static final int FACTOR_BLOCK_WIDTH = 64;

    /**
     * GPTQ's settings.
     *
     * @param blockSize columns per block (≥ 1)
     * @param damping λ / mean(diag H) (≥ 0)
     * @param actOrder visit columns by decreasing {@code H_ii}
     */
    public record Options(int blockSize, double damping, boolean actOrder) {

        /** Validates the settings. */
        public Options {
            if (blockSize < 1) {
                throw new IllegalArgumentException("GPTQ block size must be at least 1, got " + blockSize);
            }
            if (!(damping >= 0) || !Double.isFinite(damping)) {
                throw new IllegalArgumentException("GPTQ damping must be finite and ≥ 0, got " + damping);
            }
        }

        /**
         * The reference settings: blocks of 128, 1 % damping, with or without act-order.
         *
         * @param actOrder visit columns by decreasing {@code H_ii}
         * @return the options
         */
        public static Options defaults(boolean actOrder) {
            return new Options(DEFAULT_BLOCK_SIZE, DEFAULT_DAMPING, actOrder);
        }
    }

    /**
     * What GPTQ produced for one layer.
     *
     * @param weights the codes, group maxima and exponents
     * @param damping the damping fraction that factorized (the requested one unless it was raised)
     * @param deadColumns inputs that never carried a signal
     */
    public record Result(QuantizedWeights weights, double damping, int deadColumns) {}

    private Gptq() {}

    /**
     * Quantizes a weight matrix with GPTQ.
     *
     * @param layerName the layer, named in errors and logs
     * @param weights the float weights, row-major, first axis = output channel, the rest flattened
     *     in the order of H's columns
     * @param shape the weight shape
     * @param hessian H (K × K), not modified
     * @param spec bits, grid and group size
     * @param exponents one exponent, or one per output channel
     * @param options block size, damping, act-order
     * @return the quantized weights
     * @throws IllegalArgumentException for a shape mismatch or a non-finite H
     * @throws IllegalStateException when H cannot be factorized even with raised damping
     */
    public static Result quantize(
            String layerName,
            float[] weights,
            long[] shape,
            DMatrixRMaj hessian,
            QuantizerSpec spec,
            float[] exponents,
            Options options) {
        return quantize(layerName, weights, shape, hessian, spec, exponents, null, options);
    }

    /**
     * GPTQ on a given grid: as {@link #quantize(String, float[], long[], DMatrixRMaj, QuantizerSpec,
     * float[], Options)}, but every scale group's maximum is fixed beforehand (a learned grid)
     * instead of taken from the weights as the columns are reached.
     *
     * @param layerName the layer, named in errors and logs
     * @param weights the float weights, row-major, first axis = output channel
     * @param shape the weight shape
     * @param hessian H (K × K), not modified
     * @param spec bits, grid and group size
     * @param exponents one exponent, or one per output channel
     * @param maxima one maximum per output channel and scale group, channel-major
     * @param options block size, damping, act-order
     * @return the quantized weights, with {@code maxima} as their maxima
     * @throws IllegalArgumentException for a shape mismatch or a negative or non-finite maximum
     */
    public static Result quantizeOnGrid(
            String layerName,
            float[] weights,
            long[] shape,
            DMatrixRMaj hessian,
            QuantizerSpec spec,
            float[] exponents,
            float[] maxima,
            Options options) {
        int channels = PowerQuantizer.checkShape(layerName, weights, shape);
        int groups = spec.groupsPerChannel(weights.length / channels);
        if (maxima.length != channels * groups) {
            throw new IllegalArgumentException(
                    "layer '" + layerName + "': " + maxima.length + " maxima for " + channels + " channels x "
                            + groups + " scale groups");
        }
        for (int slot = 0; slot < maxima.length; slot++) {
            if (!(maxima[slot] >= 0) || !Float.isFinite(maxima[slot])) {
                throw new IllegalArgumentException(
                        "layer '" + layerName + "': channel " + slot / groups + " group " + slot % groups
                                + " has the maximum " + maxima[slot]);
            }
        }
        return quantize(layerName, weights, shape, hessian, spec, exponents, maxima, options);
    }

    private static Result quantize(
            String layerName,
            float[] weights,
            long[] shape,
            DMatrixRMaj hessian,
            QuantizerSpec spec,
            float[] exponents,
            float[] givenMaxima,
            Options options) {
        int channels = PowerQuantizer.checkShape(layerName, weights, shape);
        PowerQuantizer.checkFinite(layerName, weights);
        int k = weights.length / channels;
        if (hessian.numRows != k || hessian.numCols != k) {
            throw new IllegalArgumentException(
                    "layer '" + layerName + "': the Hessian is " + hessian.numRows + "x" + hessian.numCols
                            + ", the layer has " + k + " inputs per output channel");
        }
        if (exponents.length != 1 && exponents.length != channels) {
            throw new IllegalArgumentException(
                    "layer '" + layerName + "': " + exponents.length + " exponents for " + channels
                            + " channels");
        }
        for (double v : hessian.getData()) {
            if (!Double.isFinite(v)) {
                throw new IllegalArgumentException("layer '" + layerName + "': the Hessian holds " + v);
            }
        }
        DMatrixRMaj h = hessian.copy();
        DMatrixRMaj w = new DMatrixRMaj(channels, k);
        for (int i = 0; i < weights.length; i++) {
            w.data[i] = weights[i];
        }
        int dead = 0;
        for (int j = 0; j < k; j++) {
            if (h.get(j, j) == 0) {
                h.set(j, j, 1);
                for (int c = 0; c < channels; c++) {
                    w.set(c, j, 0);
                }
                dead++;
            }
        }
        // order[i] = the original column visited i-th
        int[] order = IntStream.range(0, k).toArray();
        if (options.actOrder()) {
            final DMatrixRMaj hd = h;
            order = IntStream.range(0, k)
                    .boxed()
                    .sorted(Comparator.comparingDouble((Integer j) -> -hd.get(j, j)).thenComparingInt(j -> j))
                    .mapToInt(Integer::intValue)
                    .toArray();
            w = permuteColumns(w, order);
            h = permuteSymmetric(h, order);
        }
        Factor factor = upperInverseFactor(layerName, h, options.damping());
        DMatrixRMaj u = factor.upper();

        int[] position = new int[k];
        for (int i = 0; i < k; i++) {
            position[order[i]] = i;
        }
        int g = spec.groupLength(k);
        int groups = spec.groupsPerChannel(k);
        float[] maxima = new float[channels * groups];
        float[][] levels = new float[channels * groups][];
        if (givenMaxima != null) {
            for (int slot = 0; slot < maxima.length; slot++) {
                maxima[slot] = givenMaxima[slot];
                levels[slot] = PowerQuantizer.levels(maxima[slot], exponentOf(exponents, slot / groups), spec);
            }
        }
        int minCode = spec.minCode();
        byte[] codes = new byte[weights.length];
        int block = options.blockSize();
        for (int i1 = 0; i1 < k; i1 += block) {
            int i2 = Math.min(i1 + block, k);
            DMatrixRMaj err = new DMatrixRMaj(channels, i2 - i1);
            for (int i = i1; i < i2; i++) {
                int original = order[i];
                int group = original / g;
                // channel 0's slot of a group is set once the group's scales are
                if (levels[group] == null) {
                    setGroupScales(
                            w, err, u, i1, i, i2, position, group, g, channels, groups, spec, exponents, maxima,
                            levels);
                }
                double d = u.get(i, i);
                for (int c = 0; c < channels; c++) {
                    int slot = c * groups + group;
                    double value = w.get(c, i);
                    int code = PowerQuantizer.encode((float) value, maxima[slot], exponentOf(exponents, c), spec);
                    codes[c * k + original] = (byte) code;
                    double e = (value - levels[slot][code - minCode]) / d;
                    err.set(c, i - i1, e);
                    for (int j = i + 1; j < i2; j++) {
                        w.set(c, j, w.get(c, j) - e * u.get(i, j));
                    }
                }
            }
            if (i2 < k) {
                // W[:, i2:] -= E · U[i1:i2, i2:]
                DMatrixRMaj uTail = CommonOps_DDRM.extract(u, i1, i2, i2, k);
                DMatrixRMaj update = new DMatrixRMaj(channels, k - i2);
                CommonOps_MT_DDRM.mult(err, uTail, update);
                for (int c = 0; c < channels; c++) {
                    for (int j = i2; j < k; j++) {
                        w.set(c, j, w.get(c, j) - update.get(c, j - i2));
                    }
                }
            }
        }
        if (factor.damping() != options.damping()) {
            logger.warn(
                    "{}: the Hessian factorized only with damping raised from {} to {}",
                    layerName,
                    options.damping(),
                    factor.damping());
        }
        return new Result(
                QuantizedWeights.of(layerName, shape, spec, codes, maxima, exponents), factor.damping(), dead);
    }

    /**
     * The GPTQ objective of quantized weights: {@code Σ_c (w_c - ŵ_c) H (w_c - ŵ_c)ᵀ / channels},
     * the mean over channels of the output's squared error (times 2) on the calibration inputs.
     *
     * @param weights the float weights
     * @param decoded the decoded weights
     * @param hessian H
     * @return the objective
     */
    public static double objective(float[] weights, float[] decoded, DMatrixRMaj hessian) {
        int k = hessian.numRows;
        int channels = weights.length / k;
        DMatrixRMaj e = new DMatrixRMaj(channels, k);
        for (int i = 0; i < weights.length; i++) {
            e.data[i] = (double) weights[i] - decoded[i];
        }
        DMatrixRMaj eh = new DMatrixRMaj(channels, k);
        CommonOps_MT_DDRM.mult(e, hessian, eh);
        double sum = 0;
        for (int i = 0; i < e.data.length; i++) {
            sum += e.data[i] * eh.data[i];
        }
        return sum / channels;
    }

    /**
     * Fixes one scale group's maxima and level tables from the weights as they stand now: columns
     * after the block still owe the block's errors so far ({@code Σ_t e_t·U_tj, i1 ≤ t < i}), which
     * are added here so the scales do not depend on the block size.
     */
    private static void setGroupScales(
            DMatrixRMaj w,
            DMatrixRMaj err,
            DMatrixRMaj u,
            int i1,
            int i,
            int i2,
            int[] position,
            int group,
            int g,
            int channels,
            int groups,
            QuantizerSpec spec,
            float[] exponents,
            float[] maxima,
            float[][] levels) {
        int k = w.numCols;
        int from = group * g;
        int to = Math.min(k, from + g);
        for (int c = 0; c < channels; c++) {
            float max = 0f;
            for (int j = from; j < to; j++) {
                int p = position[j];
                double value = w.get(c, p);
                if (p >= i2) {
                    for (int t = i1; t < i; t++) {
                        value -= err.get(c, t - i1) * u.get(t, p);
                    }
                }
                max = Math.max(max, Math.abs((float) value));
            }
            int slot = c * groups + group;
            maxima[slot] = max;
            levels[slot] = PowerQuantizer.levels(max, exponentOf(exponents, c), spec);
        }
    }

    /**
     * Factorizes {@code H + λI} and returns the upper Cholesky factor of its inverse, raising λ
     * tenfold (from 1 % when it was 0) until both factorizations succeed.
     */
    private static Factor upperInverseFactor(String layerName, DMatrixRMaj h, double requestedDamping) {
        int k = h.numRows;
        double meanDiagonal = CommonOps_DDRM.trace(h) / k;
        double fraction = requestedDamping;
        for (int attempt = 0; attempt <= MAX_DAMPING_RAISES; attempt++) {
            DMatrixRMaj damped = h.copy();
            for (int j = 0; j < k; j++) {
                damped.add(j, j, fraction * meanDiagonal);
            }
            DMatrixRMaj u = tryUpperInverseFactor(damped);
            if (u != null) {
                return new Factor(u, fraction);
            }
            double raised = fraction == 0 ? DEFAULT_DAMPING : fraction * 10;
            logger.info(
                    "{}: H + {}·mean(diag H)·I is not positive definite; raising the damping to {}",
                    layerName,
                    fraction,
                    raised);
            fraction = raised;
        }
        throw new IllegalStateException(
                "layer '" + layerName + "': its input Hessian is not positive definite even with damping "
                        + fraction + "; check its calibration inputs");
    }

    /** Channel c's exponent: one for the layer, or one per channel. */
    private static float exponentOf(float[] exponents, int c) {
        return exponents.length == 1 ? exponents[0] : exponents[c];
    }

    /** U with {@code (H + λ·mean(diag H)·I)⁻¹ = UᵀU}, and the damping fraction λ that factorized. */
    private record Factor(DMatrixRMaj upper, double damping) {}

    /**
     * The upper factor U of {@code H⁻¹ = UᵀU} from one Cholesky factorization: with J the reversal
     * permutation and {@code JHJ = L Lᵀ}, {@code H⁻¹ = (J L⁻¹ J)ᵀ (J L⁻¹ J)} and {@code J L⁻¹ J} is
     * upper triangular with a positive diagonal, so it is U (no explicit inverse of H). Both the
     * factorization and {@code L⁻¹} are EJML's blocked, multi-threaded forms: their results do not
     * depend on the thread count, only on the block width.
     */
    private static DMatrixRMaj tryUpperInverseFactor(DMatrixRMaj damped) {
        int k = damped.numRows;
        DMatrixRMaj reversed = new DMatrixRMaj(k, k);
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < k; j++) {
                reversed.data[i * k + j] = damped.data[(k - 1 - i) * k + (k - 1 - j)];
            }
        }
        DMatrixRBlock l = MatrixOps_DDRB.convert(reversed, FACTOR_BLOCK_WIDTH);
        if (!new CholeskyOuterForm_MT_DDRB(true).decompose(l)) {
            return null;
        }
        for (int j = 0; j < k; j++) {
            double d = l.get(j, j);
            if (!(d > 0) || !Double.isFinite(d)) {
                return null;
            }
        }
        DMatrixRBlock inverse = new DMatrixRBlock(k, k, FACTOR_BLOCK_WIDTH);
        TriangularSolver_MT_DDRB.invert(
                FACTOR_BLOCK_WIDTH, false, new DSubmatrixD1(l), new DSubmatrixD1(inverse), null);
        DMatrixRMaj lowerInverse = MatrixOps_DDRB.convert(inverse, (DMatrixRMaj) null);
        DMatrixRMaj u = new DMatrixRMaj(k, k);
        for (int i = 0; i < k; i++) {
            for (int j = i; j < k; j++) {
                double v = lowerInverse.data[(k - 1 - i) * k + (k - 1 - j)];
                if (!Double.isFinite(v)) {
                    return null;
                }
                u.data[i * k + j] = v;
            }
        }
        return u;
    }

    private static DMatrixRMaj permuteColumns(DMatrixRMaj m, int[] order) {
        DMatrixRMaj out = new DMatrixRMaj(m.numRows, m.numCols);
        for (int r = 0; r < m.numRows; r++) {
            for (int i = 0; i < order.length; i++) {
                out.set(r, i, m.get(r, order[i]));
            }
        }
        return out;
    }

    private static DMatrixRMaj permuteSymmetric(DMatrixRMaj m, int[] order) {
        DMatrixRMaj out = new DMatrixRMaj(m.numRows, m.numCols);
        for (int i = 0; i < order.length; i++) {
            for (int j = 0; j < order.length; j++) {
                out.set(i, j, m.get(order[i], order[j]));
            }
        }
        return out;
    }
}
