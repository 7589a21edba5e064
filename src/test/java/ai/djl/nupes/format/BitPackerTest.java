package ai.djl.nupes.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

import java.util.Random;

class BitPackerTest {

    @Test
    void packUnpackRoundTripsEveryCodeAtTwoThreeFourAndEightBitsWithOddLengths() {
        Random r = new Random(1);
        for (int bits : new int[] {2, 3, 4, 8}) {
            for (int n : new int[] {1, 2, 3, 5, 7, 8, 9, 13, 255, 1001}) {
                int[] values = new int[n];
                for (int i = 0; i < n; i++) {
                    values[i] = i < (1 << bits) ? i % (1 << bits) : r.nextInt(1 << bits); // every code appears
                }
                byte[] packed = BitPacker.pack(values, bits);
                assertEquals((n * bits + 7) / 8, packed.length);
                assertArrayEquals(values, BitPacker.unpack(packed, n, bits), bits + " bits, n=" + n);
            }
        }
    }

    @Test
    void bitOrderIsLeastSignificantFirstAndPaddingIsZero() {
        // 3-bit values 1, 2, 7: stream bits 100 010 111 -> byte0 = 0b11_010_001, byte1 = 0b0000000_1
        byte[] packed = BitPacker.pack(new int[] {1, 2, 7}, 3);
        assertArrayEquals(new byte[] {(byte) 0b11010001, 0b00000001}, packed);
    }

    @Test
    void valuesThatDoNotFitAndShortInputsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> BitPacker.pack(new int[] {4}, 2));
        assertThrows(IllegalArgumentException.class, () -> BitPacker.pack(new int[] {-1}, 8));
        assertThrows(IllegalArgumentException.class, () -> BitPacker.unpack(new byte[1], 3, 3));
    }
}
