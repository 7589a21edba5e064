package ai.djl.nupes.quantizer;

import java.util.Objects;

/**
 * Immutable description of one weight quantizer: bit width, how the channel maximum is taken, and
 * whether the exponent is shared by the layer or learned per output channel.
 *
 * <p>On the default {@link Grid#SYMMETRIC} grid {@code Q = 2^(bits-1) - 1} and codes lie in {@code
 * [-Q, Q]}: {@code 2^b - 1} levels. {@link Grid#HALF_INTEGER} has {@code 2^b} levels and no zero.
 */
public final class QuantizerSpec {

    /** Smallest supported bit width. */
    public static final int MIN_BITS = 2;
    /** Largest supported bit width. */
    public static final int MAX_BITS = 8;

    private final int bits;
    private final Granularity scaleGranularity;
    private final Granularity exponentGranularity;
    private final Grid grid;

    private QuantizerSpec(
            int bits, Granularity scaleGranularity, Granularity exponentGranularity, Grid grid) {
        this.bits = checkBits(bits);
        this.grid = Objects.requireNonNull(grid, "grid");
        this.scaleGranularity = Objects.requireNonNull(scaleGranularity, "scaleGranularity");
        this.exponentGranularity =
                Objects.requireNonNull(exponentGranularity, "exponentGranularity");
        if (scaleGranularity == Granularity.PER_TENSOR
                && exponentGranularity == Granularity.PER_CHANNEL) {
            throw new IllegalArgumentException(
                    "per-channel exponents need per-channel scales; use PER_CHANNEL scales");
        }
    }

    /**
     * Returns the default spec for a bit width: per-channel scales, one exponent per layer.
     *
     * @param bits the bit width, 2 to 8
     * @return the spec
     */
    public static QuantizerSpec of(int bits) {
        return new QuantizerSpec(bits, Granularity.PER_CHANNEL, Granularity.PER_TENSOR, Grid.SYMMETRIC);
    }

    /**
     * Returns a spec with every choice explicit.
     *
     * @param bits the bit width, 2 to 8
     * @param scaleGranularity per output channel or per tensor maximum
     * @param exponentGranularity one exponent per layer or one per output channel
     * @return the spec
     */
    public static QuantizerSpec of(
            int bits, Granularity scaleGranularity, Granularity exponentGranularity) {
        return new QuantizerSpec(bits, scaleGranularity, exponentGranularity, Grid.SYMMETRIC);
    }

    /**
     * Returns a copy on another grid.
     *
     * @param newGrid the grid
     * @return the spec
     */
    public QuantizerSpec withGrid(Grid newGrid) {
        return new QuantizerSpec(bits, scaleGranularity, exponentGranularity, newGrid);
    }

    /**
     * Returns the grid.
     *
     * @return the grid
     */
    public Grid getGrid() {
        return grid;
    }

    /**
     * Validates a bit width.
     *
     * @param bits the bit width
     * @return {@code bits} when it lies in 2..8
     * @throws IllegalArgumentException otherwise
     */
    public static int checkBits(int bits) {
        if (bits < MIN_BITS || bits > MAX_BITS) {
            throw new IllegalArgumentException(
                    "bits must be in " + MIN_BITS + ".." + MAX_BITS + ", got " + bits);
        }
        return bits;
    }

    /**
     * Returns a copy with another bit width.
     *
     * @param newBits the bit width
     * @return the spec
     */
    public QuantizerSpec withBits(int newBits) {
        return new QuantizerSpec(newBits, scaleGranularity, exponentGranularity, grid);
    }

    /**
     * Returns the bit width.
     *
     * @return the bit width
     */
    public int getBits() {
        return bits;
    }

    /**
     * Returns {@code Q = 2^(b-1) - 1}, the largest code index of either grid.
     *
     * @return Q
     */
    public int maxCode() {
        return grid.maxIndex(bits);
    }

    /**
     * Returns the smallest code index: {@code -Q} on the symmetric grid, {@code -2^(b-1)} on the
     * half-integer grid.
     *
     * @return the smallest index
     */
    public int minCode() {
        return grid.minIndex(bits);
    }

    /**
     * Returns how the maximum m is taken.
     *
     * @return the scale granularity
     */
    public Granularity getScaleGranularity() {
        return scaleGranularity;
    }

    /**
     * Returns whether the exponent is per layer or per channel.
     *
     * @return the exponent granularity
     */
    public Granularity getExponentGranularity() {
        return exponentGranularity;
    }

    /** {@inheritDoc} */
    @Override
    public boolean equals(Object o) {
        if (!(o instanceof QuantizerSpec)) {
            return false;
        }
        QuantizerSpec other = (QuantizerSpec) o;
        return bits == other.bits
                && scaleGranularity == other.scaleGranularity
                && exponentGranularity == other.exponentGranularity
                && grid == other.grid;
    }

    /** {@inheritDoc} */
    @Override
    public int hashCode() {
        return Objects.hash(bits, scaleGranularity, exponentGranularity, grid);
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return "W" + bits + "(scale " + scaleGranularity + ", exponent " + exponentGranularity
                + ", grid " + grid + ')';
    }
}
