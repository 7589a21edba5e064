package ai.djl.nupes.imports;

/** The error function, for checking activation subgraphs (absolute error below 2e-7). */
final class Erf {

    /** Coefficients c0 … c9 of the exponent polynomial in t, lowest power first. */
    private static final double[] COEFFICIENTS = {
        -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
        0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277
    };

    private Erf() {}

    /**
     * {@code erf(x) = 2/√π ∫₀ˣ e^(-t²) dt}.
     *
     * @param x the argument
     * @return erf(x)
     */
    static double erf(double x) {
        // erfc(|x|) ≈ t · exp(-x² + Σ c_k t^k) with t = 1 / (1 + |x|/2): a Chebyshev fit with
        // fractional error below 1.2e-7; erf(x) = 1 - erfc(x), odd in x
        double z = Math.abs(x);
        double t = 1 / (1 + 0.5 * z);
        double poly = 0;
        for (int k = COEFFICIENTS.length - 1; k >= 0; k--) {
            poly = poly * t + COEFFICIENTS[k];
        }
        double erfc = t * Math.exp(-z * z + poly);
        return x >= 0 ? 1 - erfc : erfc - 1;
    }
}
