package ai.djl.nupes.gptq;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.nupes.quantizer.PowerQuantizer;
import ai.djl.nupes.quantizer.QuantizedWeights;
import ai.djl.nupes.quantizer.QuantizerSpec;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.junit.jupiter.api.Test;

import java.util.Random;

class GptqTest {

    private static final int CHANNELS = 6;
    private static final int INPUTS = 24;

    /** Laplace-distributed weights, channels × inputs. */
    private static float[] laplaceWeights(long seed, int channels, int inputs) {
        Random random = new Random(seed);
        float[] w = new float[channels * inputs];
        for (int i = 0; i < w.length; i++) {
            double u = random.nextDouble() - 0.5;
            w[i] = (float) (-Math.signum(u) * Math.log(1 - 2 * Math.abs(u)) * 0.1);
        }
        return w;
    }

    /** H = 2/n XᵀX for correlated inputs x = z·M (z Gaussian), optionally with one dead column. */
    private static DMatrixRMaj correlatedHessian(long seed, int inputs, int rows, int deadColumn) {
        Random random = new Random(seed);
        DMatrixRMaj mix = new DMatrixRMaj(inputs, inputs);
        for (int i = 0; i < mix.data.length; i++) {
            mix.data[i] = random.nextGaussian();
        }
        HessianAccumulator h = new HessianAccumulator("test", inputs);
        float[] x = new float[rows * inputs];
        for (int r = 0; r < rows; r++) {
            double[] z = new double[inputs];
            for (int i = 0; i < inputs; i++) {
                z[i] = random.nextGaussian();
            }
            for (int j = 0; j < inputs; j++) {
                double s = 0;
                for (int i = 0; i < inputs; i++) {
                    s += z[i] * mix.get(i, j);
                }
                x[r * inputs + j] = j == deadColumn ? 0f : (float) s;
            }
        }
        h.add(x, rows);
        return h.hessian();
    }

    private static long[] shape() {
        return new long[] {CHANNELS, INPUTS};
    }

    @Test
    void withAnIdentityHessianGptqIsRoundToNearestOnTheSameGrid() {
        float[] w = laplaceWeights(1, CHANNELS, INPUTS);
        DMatrixRMaj identity = CommonOps_DDRM.identity(INPUTS);
        for (int bits : new int[] {2, 3, 4}) {
            for (int group : new int[] {0, 8}) {
                for (float a : new float[] {1f, 0.6f}) {
                    QuantizerSpec spec = QuantizerSpec.of(bits).withGroupSize(group);
                    float[] exponents = {a};
                    QuantizedWeights rtn = PowerQuantizer.quantize("fc", w, shape(), spec, exponents);
                    for (boolean actOrder : new boolean[] {false, true}) {
                        QuantizedWeights gptq =
                                Gptq.quantize("fc", w, shape(), identity, spec, exponents, Gptq.Options.defaults(actOrder))
                                        .weights();
                        String where = "W" + bits + " g" + group + " a " + a + " act-order " + actOrder;
                        assertArrayEquals(rtn.getCodes(), gptq.getCodes(), where);
                        assertArrayEquals(rtn.getMaxima(), gptq.getMaxima(), where);
                    }
                }
            }
        }
    }

    @Test
    void onTheGridGptqPicksItselfQuantizeOnGridGivesTheSameCodes() {
        float[] w = laplaceWeights(4, CHANNELS, INPUTS);
        DMatrixRMaj h = correlatedHessian(5, INPUTS, 200, -1);
        for (int group : new int[] {0, 8}) {
            QuantizerSpec spec = QuantizerSpec.of(3).withGroupSize(group);
            float[] exponents = {0.7f};
            QuantizedWeights own = Gptq.quantize("fc", w, shape(), h, spec, exponents, Gptq.Options.defaults(true))
                    .weights();
            QuantizedWeights onGrid = Gptq.quantizeOnGrid(
                            "fc", w, shape(), h, spec, exponents, own.getMaxima(), Gptq.Options.defaults(true))
                    .weights();
            assertArrayEquals(own.getCodes(), onGrid.getCodes(), "g" + group);
            assertArrayEquals(own.getMaxima(), onGrid.getMaxima(), 0f, "g" + group);
            // a narrower grid clips and changes codes: the given maxima are used, not recomputed
            float[] narrower = own.getMaxima().clone();
            for (int i = 0; i < narrower.length; i++) {
                narrower[i] *= 0.5f;
            }
            QuantizedWeights clipped = Gptq.quantizeOnGrid(
                            "fc", w, shape(), h, spec, exponents, narrower, Gptq.Options.defaults(true))
                    .weights();
            assertArrayEquals(narrower, clipped.getMaxima(), 0f);
            assertTrue(!java.util.Arrays.equals(own.getCodes(), clipped.getCodes()), "g" + group);
        }
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Gptq.quantizeOnGrid("enc.3.ffn", w, shape(), h, QuantizerSpec.of(3), new float[] {1f},
                        new float[CHANNELS - 1], Gptq.Options.defaults(true)));
        assertEquals("layer 'enc.3.ffn': 5 maxima for 6 channels x 1 scale groups", e.getMessage());
    }

    @Test
    void blockedUpdatesEqualTheDirectCubicAlgorithm() {
        float[] w = laplaceWeights(2, CHANNELS, INPUTS);
        DMatrixRMaj h = correlatedHessian(3, INPUTS, 200, -1);
        for (int group : new int[] {0, 8}) {
            for (float a : new float[] {1f, 0.7f}) {
                QuantizerSpec spec = QuantizerSpec.of(3).withGroupSize(group);
                byte[] direct = DirectGptq.codes(w, CHANNELS, h, spec, a, Gptq.DEFAULT_DAMPING);
                for (int block : new int[] {1, 5, 128}) {
                    QuantizedWeights blocked =
                            Gptq.quantize(
                                            "fc", w, shape(), h, spec, new float[] {a},
                                            new Gptq.Options(block, Gptq.DEFAULT_DAMPING, false))
                                    .weights();
                    assertArrayEquals(direct, blocked.getCodes(), "g" + group + " a " + a + " block " + block);
                }
            }
        }
    }

    @Test
    void gptqLowersTheOutputErrorOfRoundToNearestOnCorrelatedInputs() {
        float[] w = laplaceWeights(4, CHANNELS, INPUTS);
        DMatrixRMaj h = correlatedHessian(5, INPUTS, 400, -1);
        for (int bits : new int[] {2, 3, 4}) {
            QuantizerSpec spec = QuantizerSpec.of(bits);
            float[] one = {1f};
            double rtn = Gptq.objective(w, PowerQuantizer.quantize("fc", w, shape(), spec, one).decode(), h);
            double gptq =
                    Gptq.objective(
                            w, Gptq.quantize("fc", w, shape(), h, spec, one, Gptq.Options.defaults(true))
                                    .weights()
                                    .decode(),
                            h);
            assertTrue(gptq < 0.8 * rtn, "W" + bits + ": GPTQ objective " + gptq + " vs round-to-nearest " + rtn);
        }
    }

    @Test
    void aDeadInputGetsAZeroWeightColumn() {
        float[] w = laplaceWeights(6, CHANNELS, INPUTS);
        int dead = 5;
        DMatrixRMaj h = correlatedHessian(7, INPUTS, 200, dead);
        assertEquals(0.0, h.get(dead, dead));
        Gptq.Result result =
                Gptq.quantize("fc", w, shape(), h, QuantizerSpec.of(4), new float[] {1f}, Gptq.Options.defaults(true));
        assertEquals(1, result.deadColumns());
        float[] decoded = result.weights().decode();
        for (int c = 0; c < CHANNELS; c++) {
            assertEquals(0f, decoded[c * INPUTS + dead], "channel " + c);
        }
    }

    @Test
    void aSingularHessianRaisesTheDampingAndSucceeds() {
        float[] w = laplaceWeights(8, CHANNELS, INPUTS);
        // H = 1·1ᵀ: rank one, its second Cholesky pivot is exactly 0
        DMatrixRMaj h = new DMatrixRMaj(INPUTS, INPUTS);
        CommonOps_DDRM.fill(h, 1.0);
        Gptq.Result result =
                Gptq.quantize("fc", w, shape(), h, QuantizerSpec.of(4), new float[] {1f}, new Gptq.Options(128, 0.0, false));
        assertEquals(Gptq.DEFAULT_DAMPING, result.damping(), "damping raised from 0 to 1 %");
        float[] decoded = result.weights().decode();
        for (float v : decoded) {
            assertTrue(Float.isFinite(v));
        }
    }

    @Test
    void actOrderEqualsQuantizingThePermutedLayerAndUndoingThePermutation() {
        float[] w = laplaceWeights(9, CHANNELS, INPUTS);
        DMatrixRMaj h = correlatedHessian(10, INPUTS, 300, -1);
        Integer[] order = new Integer[INPUTS];
        for (int i = 0; i < INPUTS; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (x, y) -> Double.compare(h.get(y, y), h.get(x, x)));
        float[] permutedW = new float[w.length];
        DMatrixRMaj permutedH = new DMatrixRMaj(INPUTS, INPUTS);
        for (int c = 0; c < CHANNELS; c++) {
            for (int i = 0; i < INPUTS; i++) {
                permutedW[c * INPUTS + i] = w[c * INPUTS + order[i]];
            }
        }
        for (int i = 0; i < INPUTS; i++) {
            for (int j = 0; j < INPUTS; j++) {
                permutedH.set(i, j, h.get(order[i], order[j]));
            }
        }
        QuantizerSpec spec = QuantizerSpec.of(3);
        float[] a = {0.75f};
        byte[] actOrder = Gptq.quantize("fc", w, shape(), h, spec, a, Gptq.Options.defaults(true)).weights().getCodes();
        byte[] permuted =
                Gptq.quantize("fc", permutedW, shape(), permutedH, spec, a, Gptq.Options.defaults(false))
                        .weights()
                        .getCodes();
        byte[] undone = new byte[permuted.length];
        for (int c = 0; c < CHANNELS; c++) {
            for (int i = 0; i < INPUTS; i++) {
                undone[c * INPUTS + order[i]] = permuted[c * INPUTS + i];
            }
        }
        assertArrayEquals(undone, actOrder);
    }

    /**
     * The unblocked form of the same updates, written from the paper's equations: after column i,
     * {@code w_j -= (w_i - q_i)·[H⁻¹]_ij / [H⁻¹]_ii} and H⁻¹ loses row and column i by one Gaussian
     * elimination step. O(K³) per layer.
     */
    private static final class DirectGptq {

        static byte[] codes(float[] weights, int channels, DMatrixRMaj hessian, QuantizerSpec spec, float a, double damping) {
            int k = hessian.numRows;
            double mean = 0;
            for (int j = 0; j < k; j++) {
                mean += hessian.get(j, j) / k;
            }
            DMatrixRMaj inverse = hessian.copy();
            for (int j = 0; j < k; j++) {
                inverse.add(j, j, damping * mean);
            }
            CommonOps_DDRM.invert(inverse);
            double[][] w = new double[channels][k];
            for (int c = 0; c < channels; c++) {
                for (int j = 0; j < k; j++) {
                    w[c][j] = weights[c * k + j];
                }
            }
            int g = spec.groupLength(k);
            float[] max = new float[channels];
            byte[] codes = new byte[weights.length];
            for (int i = 0; i < k; i++) {
                if (i % g == 0) {
                    for (int c = 0; c < channels; c++) {
                        float m = 0;
                        for (int j = i; j < Math.min(k, i + g); j++) {
                            m = Math.max(m, Math.abs((float) w[c][j]));
                        }
                        max[c] = m;
                    }
                }
                double d = inverse.get(i, i);
                for (int c = 0; c < channels; c++) {
                    int code = PowerQuantizer.encode((float) w[c][i], max[c], a, spec);
                    codes[c * k + i] = (byte) code;
                    double q = PowerQuantizer.levels(max[c], a, spec)[code - spec.minCode()];
                    double e = (w[c][i] - q) / d;
                    for (int j = i + 1; j < k; j++) {
                        w[c][j] -= e * inverse.get(i, j);
                    }
                }
                DMatrixRMaj next = inverse.copy();
                for (int r = 0; r < k; r++) {
                    for (int s = 0; s < k; s++) {
                        next.add(r, s, -inverse.get(r, i) * inverse.get(i, s) / d);
                    }
                }
                inverse = next;
            }
            return codes;
        }
    }
}
