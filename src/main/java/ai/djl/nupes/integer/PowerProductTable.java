package ai.djl.nupes.integer;

import ai.djl.nupes.quantizer.ExponentRange;

/**
 * The one table the integer-only path needs: for integer weight codes c_w (level |c_w|/D_w) and
 * input codes c_x (level |c_x|/D_x) that share the exponent a,
 *
 * <pre>
 *   ŵ·x̂ = s_w·s_x · sign(p) · (|p| / (D_w·D_x))^(1/a),   p = c_w·c_x
 * </pre>
 *
 * because x ↦ sign(x)|x|^a preserves products. The table holds {@code T[k] = round((k/K)^(1/a) ·
 * 2^F)} for {@code k = 0..K}, {@code K = D_w·D_x}, in fixed point with F = {@value #FRACTION_BITS}
 * fraction bits, so a dot product is an integer multiply, a table lookup and a long addition per
 * term, and one float rescale {@code s_w·s_x / 2^F} at the end. Terms smaller than 2^-F of the
 * largest possible product round to 0.
 */
public final class PowerProductTable {

    /** Fraction bits of the table: products up to 2^30, 2^33 of them fit in a long. */
    public static final int FRACTION_BITS = 30;

    private final long[] table;
    private final int maxProduct;
    private final float exponent;

    /**
     * Builds the table.
     *
     * @param weightDenominator D_w (Q, or 2^b - 1 on the half-integer grid)
     * @param inputDenominator D_x of the input grid
     * @param exponent the shared exponent a
     */
    public PowerProductTable(int weightDenominator, int inputDenominator, float exponent) {
        if (!(exponent >= ExponentRange.MIN && exponent <= ExponentRange.MAX)) {
            throw new IllegalArgumentException("exponent " + exponent + " outside the supported range");
        }
        this.exponent = exponent;
        this.maxProduct = Math.multiplyExact(weightDenominator, inputDenominator);
        this.table = new long[maxProduct + 1];
        double inverse = 1.0 / exponent;
        double one = (double) (1L << FRACTION_BITS);
        for (int k = 0; k <= maxProduct; k++) {
            table[k] = Math.round(Math.pow((double) k / maxProduct, inverse) * one);
        }
    }

    /**
     * Maps an integer product through the table: {@code sign(p)·T[|p|]}.
     *
     * @param product {@code c_w·c_x}, with {@code |p| ≤ D_w·D_x}
     * @return the fixed-point value
     */
    public long map(int product) {
        return product >= 0 ? table[product] : -table[-product];
    }

    /**
     * The factor that turns an accumulated sum into a real value, before the scales: {@code 2^-F}.
     *
     * @return the factor
     */
    public double unit() {
        return 1.0 / (1L << FRACTION_BITS);
    }

    /**
     * Returns the largest product magnitude, {@code D_w·D_x}.
     *
     * @return K
     */
    public int maxProduct() {
        return maxProduct;
    }

    /**
     * Returns the exponent.
     *
     * @return a
     */
    public float exponent() {
        return exponent;
    }
}
