package ai.djl.nupes.quantizer;

import java.util.Objects;

/**
 * Immutable description of one weight quantizer: bit width, how the maximum m is taken (per
 * tensor, per output channel, or per group of {@code groupSize} consecutive weights of a channel),
 * and whether the exponent is shared by the layer or learned per output channel.
 *
 * <p>Groups run along a channel's weights in row-major order: the input dimension of a Linear,
 * in-channels × kernel positions of a convolution. A channel of K weights has {@code ceil(K/g)}
 * groups (the last may be shorter); a group size of 0, or one at least K, is one group per channel.
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
    private final int groupSize;

    private QuantizerSpec(
            int bits, Granularity scaleGranularity, Granularity exponentGranularity, Grid grid, int groupSize) {
        this.bits = checkBits(bits);
        if (groupSize < 0) {
            throw new IllegalArgumentException("group size must be 0 (per channel) or positive, got " + groupSize);
        }
        if (groupSize > 0 && scaleGranularity == Granularity.PER_TENSOR) {
            throw new IllegalArgumentException("group-wise scales refine per-channel scales; use PER_CHANNEL scales");
        }
        this.groupSize = groupSize;
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
        return new QuantizerSpec(bits, Granularity.PER_CHANNEL, Granularity.PER_TENSOR, Grid.SYMMETRIC, 0);
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
        return new QuantizerSpec(bits, scaleGranularity, exponentGranularity, Grid.SYMMETRIC, 0);
    }

    /**
     * Returns a copy on another grid.
     *
     * @param newGrid the grid
     * @return the spec
     */
    public QuantizerSpec withGrid(Grid newGrid) {
        return new QuantizerSpec(bits, scaleGranularity, exponentGranularity, newGrid, groupSize);
    }

    /**
     * Returns a copy with group-wise scales.
     *
     * @param newGroupSize weights per group along a channel, or 0 for one scale per channel
     * @return the spec
     */
    public QuantizerSpec withGroupSize(int newGroupSize) {
        return new QuantizerSpec(bits, scaleGranularity, exponentGranularity, grid, newGroupSize);
    }

    /**
     * Returns the group size: weights per scale along a channel, 0 for one scale per channel.
     *
     * @return the group size
     */
    public int getGroupSize() {
        return groupSize;
    }

    /**
     * The weights one scale covers in a channel of {@code perChannel} weights: the group size, or
     * the whole channel.
     *
     * @param perChannel weights per output channel
     * @return the group length
     */
    public int groupLength(int perChannel) {
        return groupSize == 0 || groupSize >= perChannel ? perChannel : groupSize;
    }

    /**
     * The number of scales of each channel: {@code ceil(K / g)}, 1 per channel when not grouped.
     *
     * @param perChannel weights per output channel
     * @return groups per channel
     */
    public int groupsPerChannel(int perChannel) {
        int g = groupLength(perChannel);
        return (perChannel + g - 1) / g;
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
        return new QuantizerSpec(newBits, scaleGranularity, exponentGranularity, grid, groupSize);
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
                && grid == other.grid
                && groupSize == other.groupSize;
    }

    /** {@inheritDoc} */
    @Override
    public int hashCode() {
        return Objects.hash(bits, scaleGranularity, exponentGranularity, grid, groupSize);
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return "W" + bits + "(scale " + (groupSize > 0 ? "g" + groupSize : scaleGranularity.toString())
                + ", exponent " + exponentGranularity + ", grid " + grid + ')';
    }
}
