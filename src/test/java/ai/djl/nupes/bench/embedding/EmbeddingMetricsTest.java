package ai.djl.nupes.bench.embedding;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** {@link EmbeddingMetrics} on tiny hand-made vectors whose answers are known. */
class EmbeddingMetricsTest {

    private static final double EPS = 1e-6;

    /** Unit vectors at the given angles (radians) in the plane. */
    private static float[][] angles(double... radians) {
        float[][] out = new float[radians.length][];
        for (int i = 0; i < radians.length; i++) {
            out[i] = new float[] {(float) Math.cos(radians[i]), (float) Math.sin(radians[i])};
        }
        return out;
    }

    @Test
    void cosinesOfIdenticalScaledOrthogonalAndOppositeVectors() {
        float[][] a = {{1, 0, 0}, {1, 2, 3}, {0, 1, 0}, {2, -1, 0}};
        float[][] b = {{1, 0, 0}, {2, 4, 6}, {0, 0, 5}, {-4, 2, 0}};
        assertArrayEquals(new double[] {1, 1, 0, -1}, EmbeddingMetrics.cosines(a, b), EPS);
    }

    @Test
    void theFifthPercentileOfKnownCosines() {
        // 21 pairs whose cosines are exactly 0.80, 0.81, ..., 1.00 (given in scrambled order):
        // p5 sits at position 0.05 · 20 = 1, the second smallest: 0.81
        int n = 21;
        float[][] a = new float[n][];
        float[][] b = new float[n][];
        for (int i = 0; i < n; i++) {
            int k = (i * 8) % n;
            double c = 0.80 + 0.01 * k;
            a[i] = new float[] {1, 0};
            b[i] = new float[] {(float) c, (float) Math.sqrt(1 - c * c)};
        }
        double[] cos = EmbeddingMetrics.cosines(a, b);
        assertEquals(0.81, EmbeddingMetrics.percentile(cos, 0.05), 1e-6);
        assertEquals(0.90, EmbeddingMetrics.mean(cos), 1e-6);
        // interpolation between order statistics: p = 0.5 of {0, 10} is 5; p = 0.05 of 0..100 step 10 is 5
        assertEquals(5, EmbeddingMetrics.percentile(new double[] {10, 0}, 0.5), EPS);
        assertEquals(5, EmbeddingMetrics.percentile(new double[] {0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 0.05), EPS);
        assertEquals(7, EmbeddingMetrics.percentile(new double[] {7}, 0.05), EPS);
    }

    @Test
    void neighboursExcludeTheSentenceItselfNearestFirst() {
        float[][] e = angles(0, 0.1, 0.3, 1.0, 3.0);
        int[][] nn = EmbeddingMetrics.nearestNeighbours(e, 2);
        assertArrayEquals(new int[] {1, 2}, nn[0]);
        assertArrayEquals(new int[] {0, 2}, nn[1]);
        assertArrayEquals(new int[] {1, 0}, nn[2]);
        assertArrayEquals(new int[] {2, 1}, nn[3]);
        assertArrayEquals(new int[] {3, 2}, nn[4]);
    }

    @Test
    void equalScoresAreOrderedByIndex() {
        // rows 1, 2 and 3 are the same vector: row 0's nearest two are 1 and 2, row 2's are 1 and 3
        float[][] e = {{1, 0}, {0, 1}, {0, 1}, {0, 1}};
        int[][] nn = EmbeddingMetrics.nearestNeighbours(e, 2);
        assertArrayEquals(new int[] {1, 2}, nn[0]);
        assertArrayEquals(new int[] {1, 3}, nn[2]);
    }

    @Test
    void overlapOfIdenticalRankingsIsOne() {
        float[][] e = angles(0, 0.2, 0.5, 0.9, 1.4, 2.0, 2.7, 3.1, 4.0, 5.0, 5.5, 6.0);
        float[][] scaled = new float[e.length][];
        for (int i = 0; i < e.length; i++) {
            scaled[i] = new float[] {3 * e[i][0], 3 * e[i][1]};
        }
        assertEquals(1, EmbeddingMetrics.neighbourOverlap(e, e, 10), EPS);
        assertEquals(1, EmbeddingMetrics.neighbourOverlap(e, scaled, 10), EPS, "cosine ignores the norm");
        assertEquals(1, EmbeddingMetrics.neighbourOverlap(e, e, 3), EPS);
    }

    @Test
    void overlapOfAKnownDisagreement() {
        // reference: pairs {0, 1} and {2, 3}; the other embedding moves row 1 beside row 2
        float[][] ref = angles(0.0, 0.1, 1.0, 1.1);
        float[][] other = angles(0.0, 1.02, 1.0, 1.1);
        int[][] a = EmbeddingMetrics.nearestNeighbours(ref, 1);
        int[][] b = EmbeddingMetrics.nearestNeighbours(other, 1);
        assertArrayEquals(new int[][] {{1}, {0}, {3}, {2}}, a);
        assertArrayEquals(new int[][] {{2}, {2}, {1}, {1}}, b);
        assertEquals(0, EmbeddingMetrics.neighbourOverlap(a, b), EPS);
        int[][] k2a = {{1, 2}, {0, 2}};
        int[][] k2b = {{2, 3}, {0, 2}};
        assertEquals((0.5 + 1.0) / 2, EmbeddingMetrics.neighbourOverlap(k2a, k2b), EPS);
    }

    @Test
    void mrrOfAPerfectRetrieverIsOne() {
        float[][] docs = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0}};
        float[][] queries = {{2, 0, 0}, {0, 3, 0.1f}, {0, 0.1f, 1}, {1, 1.1f, 0}};
        assertEquals(1, EmbeddingMetrics.meanReciprocalRank(queries, docs), EPS);
        assertArrayEquals(new int[] {1, 1, 1, 1}, EmbeddingMetrics.ranks(queries, docs));
    }

    @Test
    void mrrOfKnownRanks() {
        // query 0 prefers doc 1 (rank 2), query 1 is right (rank 1), query 2 finds its doc third
        float[][] docs = angles(0.0, 0.5, 3.0);
        float[][] queries = angles(0.4, 0.5, 1.0);
        assertArrayEquals(new int[] {2, 1, 3}, EmbeddingMetrics.ranks(queries, docs));
        assertEquals((0.5 + 1 + 1.0 / 3) / 3, EmbeddingMetrics.meanReciprocalRank(queries, docs), EPS);
    }

    @Test
    void mismatchedInputsAreRefused() {
        assertThrows(IllegalArgumentException.class,
                () -> EmbeddingMetrics.cosines(new float[][] {{1}}, new float[][] {{1}, {2}}));
        assertThrows(IllegalArgumentException.class,
                () -> EmbeddingMetrics.nearestNeighbours(new float[][] {{1}, {2}}, 2));
        assertThrows(IllegalArgumentException.class, () -> EmbeddingMetrics.percentile(new double[0], 0.05));
        assertThrows(IllegalArgumentException.class,
                () -> EmbeddingMetrics.ranks(new float[][] {{1}}, new float[][] {{1}, {0}}));
    }
}
