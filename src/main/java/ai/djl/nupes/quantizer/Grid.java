package ai.djl.nupes.quantizer;

/**
 * The set of levels a b-bit code can take, as normalised magnitudes in [0, 1] before the inverse
 * power: a weight with code index {@code i} decodes to {@code sign·m·level(i)^(1/a)}.
 *
 * <p>Both grids store one code index per weight in {@code b} bits.
 */
public enum Grid {
    /**
     * Symmetric with a zero level: indices {@code -Q..Q}, {@code Q = 2^(b-1) - 1}, level {@code
     * |i|/Q}; {@code 2^b - 1} levels (three at 2 bits): the grid of the NUPES formula.
     */
    SYMMETRIC,
    /**
     * Symmetric without a zero level: {@code 2^b} levels at half-integer codes {@code ±0.5, ±1.5,
     * …, ±(2^(b-1) - 0.5)}, stored as indices {@code j} in {@code -2^(b-1)..2^(b-1)-1} meaning the
     * odd integer code {@code c = 2j + 1}; level {@code |c| / (2^b - 1)}. Products of odd codes stay
     * integer (the half-integer scale folds into one fixed rescale by 1/4).
     */
    HALF_INTEGER;

    /**
     * The grid a layer gets when none is chosen: the 2^b-level {@link #HALF_INTEGER} grid at 2 and 3
     * bits (three levels cannot hold a 2-bit layer), the symmetric grid with a zero level from 4
     * bits up. The README's grid table gives the measurements behind this choice.
     *
     * @param bits the layer's bit width
     * @return the grid
     */
    public static Grid defaultFor(int bits) {
        return bits <= 3 ? HALF_INTEGER : SYMMETRIC;
    }

    /**
     * Smallest code index.
     *
     * @param bits the bit width
     * @return {@code -Q} or {@code -2^(b-1)}
     */
    public int minIndex(int bits) {
        return this == SYMMETRIC ? -maxIndex(bits) : -(1 << (bits - 1));
    }

    /**
     * Largest code index.
     *
     * @param bits the bit width
     * @return {@code Q = 2^(b-1) - 1} for both grids
     */
    public int maxIndex(int bits) {
        return (1 << (bits - 1)) - 1;
    }

    /**
     * The integer code of an index: itself on the symmetric grid, {@code 2j + 1} on the
     * half-integer grid.
     *
     * @param index the code index
     * @return the integer code whose magnitude over {@link #denominator} is the level
     */
    public int integerCode(int index) {
        return this == SYMMETRIC ? index : 2 * index + 1;
    }

    /**
     * The denominator D with {@code level = |integerCode| / D}: Q, or {@code 2^b - 1}.
     *
     * @param bits the bit width
     * @return D
     */
    public int denominator(int bits) {
        return this == SYMMETRIC ? maxIndex(bits) : (1 << bits) - 1;
    }

    /**
     * The continuous code index of a signed normalised value: {@code x·Q} on the symmetric grid,
     * {@code (x·D - 1)/2} on the half-integer grid; the nearest index rounds it.
     *
     * @param x the powered, normalised weight in [-1, 1]
     * @param bits the bit width
     * @return the continuous index
     */
    public double continuousIndex(double x, int bits) {
        int d = denominator(bits);
        return this == SYMMETRIC ? x * d : (x * d - 1) / 2;
    }

    /**
     * Nearest code index to a signed normalised value {@code x = sign(w)·(|w|/m)^a} in [-1, 1].
     *
     * @param x the powered, normalised weight
     * @param bits the bit width
     * @return the index, clipped to the grid
     */
    public int nearestIndex(double x, int bits) {
        int d = denominator(bits);
        if (this == SYMMETRIC) {
            // q = clip(rint(x·Q), -Q, Q)
            return (int) Math.max(-d, Math.min(d, Math.rint(x * d)));
        }
        // nearest odd c to x·D, c = 2j + 1  ⇒  j = floor(x·D / 2)
        int j = (int) Math.floor(x * d / 2);
        return Math.max(minIndex(bits), Math.min(maxIndex(bits), j));
    }
}
