package ai.djl.nupes.quantizer;

/**
 * The exponents this project searches, learns and accepts on load.
 *
 * <p>{@code a} in [0.2, 1.5]: below 0.2 almost every level crowds into a sliver near zero and the
 * top code jumps from ~0.3·m to m even at 8 bits; above 1.5 the grid is sparser near zero than
 * uniform, which no weight distribution seen here wants. The range contains 1, so a searched
 * exponent can always fall back to uniform quantization.
 */
public final class ExponentRange {

    /** Smallest exponent. */
    public static final float MIN = 0.2f;
    /** Largest exponent. */
    public static final float MAX = 1.5f;

    private ExponentRange() {}

    /**
     * Clamps an exponent into the range.
     *
     * @param a the exponent
     * @return a clamped into [MIN, MAX]
     */
    public static float clamp(float a) {
        return Math.max(MIN, Math.min(MAX, a));
    }
}
