package ai.djl.nupes.format;

/**
 * Packs unsigned b-bit values (b = 1..8) into bytes and back.
 *
 * <p>Layout: value i occupies bits {@code [i·b, (i+1)·b)} of the stream; bit k of the stream is bit
 * {@code k mod 8} of byte {@code k / 8}, least significant bit first (little-endian at both the bit
 * and the byte level). A value may straddle two bytes (b = 3). The last byte is padded with zero
 * bits; the packed length is {@code ceil(n·b/8)} bytes with no header.
 */
public final class BitPacker {

    /** The packing order, as the manifest names it. */
    public static final String BIT_ORDER = "lsb-first";

    private BitPacker() {}

    /**
     * Returns the packed length of n values of b bits.
     *
     * @param count n
     * @param bits b
     * @return {@code ceil(n·b/8)}
     */
    public static int packedLength(int count, int bits) {
        return (int) (((long) count * bits + 7) / 8);
    }

    /**
     * Packs values.
     *
     * @param values unsigned values, each below {@code 2^bits}
     * @param bits the width b, 1..8
     * @return the packed bytes
     * @throws IllegalArgumentException when a value does not fit
     */
    public static byte[] pack(int[] values, int bits) {
        checkBits(bits);
        byte[] out = new byte[packedLength(values.length, bits)];
        int limit = 1 << bits;
        long bit = 0;
        for (int i = 0; i < values.length; i++, bit += bits) {
            int v = values[i];
            if (v < 0 || v >= limit) {
                throw new IllegalArgumentException(
                        "value " + v + " at index " + i + " does not fit in " + bits + " bits");
            }
            int at = (int) (bit >>> 3);
            int shift = (int) (bit & 7);
            int spread = v << shift; // at most 15 bits
            out[at] |= (byte) spread;
            if (shift + bits > 8) {
                out[at + 1] |= (byte) (spread >>> 8);
            }
        }
        return out;
    }

    /**
     * Unpacks values.
     *
     * @param packed the packed bytes
     * @param count how many values
     * @param bits the width b, 1..8
     * @return the values
     * @throws IllegalArgumentException when {@code packed} is shorter than {@code ceil(n·b/8)}
     */
    public static int[] unpack(byte[] packed, int count, int bits) {
        checkBits(bits);
        int need = packedLength(count, bits);
        if (packed.length < need) {
            throw new IllegalArgumentException(
                    "need " + need + " bytes for " + count + " values of " + bits + " bits, got "
                            + packed.length);
        }
        int[] out = new int[count];
        int mask = (1 << bits) - 1;
        long bit = 0;
        for (int i = 0; i < count; i++, bit += bits) {
            int at = (int) (bit >>> 3);
            int shift = (int) (bit & 7);
            int word = packed[at] & 0xFF;
            if (shift + bits > 8) {
                word |= (packed[at + 1] & 0xFF) << 8;
            }
            out[i] = (word >>> shift) & mask;
        }
        return out;
    }

    private static void checkBits(int bits) {
        if (bits < 1 || bits > 8) {
            throw new IllegalArgumentException("bits must be 1..8, got " + bits);
        }
    }
}
