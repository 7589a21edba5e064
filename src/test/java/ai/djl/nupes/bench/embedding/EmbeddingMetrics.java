package ai.djl.nupes.bench.embedding;

import java.util.Arrays;

/**
 * Agreement of two embeddings of the same sentences, in plain Java (double accumulation).
 * Embeddings are {@code float[sentence][dimension]}; every score is a cosine (vectors are
 * L2-normalized here first, so inputs need not be).
 *
 * <ul>
 *   <li>cosine per sentence between the float and the quantized embedding: mean and 5th
 *       percentile ({@link #percentile}: linear interpolation between order statistics at {@code
 *       p·(n-1)}, numpy's default).
 *   <li>neighbour overlap@k: for each sentence its k nearest others by cosine (itself excluded;
 *       equal scores ordered by index) under both embeddings; mean {@code |A ∩ B| / k}.
 *   <li>mean reciprocal rank: query i's right document is document i; its rank is 1 + the number
 *       of documents scoring strictly higher (ties count in the query's favour).
 * </ul>
 */
public final class EmbeddingMetrics {

    private EmbeddingMetrics() {}

    /**
     * The cosine of each row of {@code a} with the same row of {@code b}.
     *
     * @param a embeddings
     * @param b embeddings of the same sentences
     * @return one cosine per sentence
     */
    public static double[] cosines(float[][] a, float[][] b) {
        requireSameShape(a, b);
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            double dot = 0;
            double na = 0;
            double nb = 0;
            for (int d = 0; d < a[i].length; d++) {
                dot += (double) a[i][d] * b[i][d];
                na += (double) a[i][d] * a[i][d];
                nb += (double) b[i][d] * b[i][d];
            }
            out[i] = na == 0 || nb == 0 ? 0 : dot / Math.sqrt(na * nb);
        }
        return out;
    }

    /**
     * The mean.
     *
     * @param values the values
     * @return their mean
     */
    public static double mean(double[] values) {
        if (values.length == 0) {
            throw new IllegalArgumentException("no values");
        }
        double s = 0;
        for (double v : values) {
            s += v;
        }
        return s / values.length;
    }

    /**
     * A percentile by linear interpolation between the order statistics around {@code p·(n-1)}.
     *
     * @param values the values (not modified)
     * @param p the fraction in [0, 1], e.g. 0.05
     * @return the percentile
     */
    public static double percentile(double[] values, double p) {
        if (values.length == 0) {
            throw new IllegalArgumentException("no values");
        }
        if (!(p >= 0 && p <= 1)) {
            throw new IllegalArgumentException("p must lie in [0, 1], got " + p);
        }
        double[] s = values.clone();
        Arrays.sort(s);
        double pos = p * (s.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(s.length - 1, lo + 1);
        return s[lo] + (pos - lo) * (s[hi] - s[lo]);
    }

    /**
     * The k nearest other rows of every row by cosine, nearest first (equal scores: lower index
     * first).
     *
     * @param e embeddings
     * @param k neighbours per row, at most {@code rows - 1}
     * @return {@code [row][rank]} neighbour indices
     */
    public static int[][] nearestNeighbours(float[][] e, int k) {
        if (k <= 0 || k > e.length - 1) {
            throw new IllegalArgumentException(
                    "k must lie in [1, " + (e.length - 1) + "] for " + e.length + " rows, got " + k);
        }
        float[][] n = normalized(e);
        int[][] out = new int[n.length][];
        double[] bestScore = new double[k];
        int[] bestIndex = new int[k];
        for (int i = 0; i < n.length; i++) {
            int have = 0;
            for (int j = 0; j < n.length; j++) {
                if (j == i) {
                    continue;
                }
                double s = dot(n[i], n[j]);
                if (have == k && !(s > bestScore[k - 1])) {
                    continue; // later indices lose ties
                }
                int at = have == k ? k - 1 : have++;
                while (at > 0 && s > bestScore[at - 1]) {
                    bestScore[at] = bestScore[at - 1];
                    bestIndex[at] = bestIndex[at - 1];
                    at--;
                }
                bestScore[at] = s;
                bestIndex[at] = j;
            }
            out[i] = Arrays.copyOf(bestIndex, k);
        }
        return out;
    }

    /**
     * Mean neighbour overlap: {@code |A_i ∩ B_i| / k} averaged over rows.
     *
     * @param a neighbours under one embedding ({@link #nearestNeighbours})
     * @param b neighbours under the other
     * @return the overlap in [0, 1]
     */
    public static double neighbourOverlap(int[][] a, int[][] b) {
        if (a.length != b.length || a.length == 0) {
            throw new IllegalArgumentException("neighbour lists of " + a.length + " and " + b.length + " rows");
        }
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            if (a[i].length != b[i].length) {
                throw new IllegalArgumentException("row " + i + ": k = " + a[i].length + " vs " + b[i].length);
            }
            int common = 0;
            for (int x : a[i]) {
                for (int y : b[i]) {
                    if (x == y) {
                        common++;
                        break;
                    }
                }
            }
            sum += (double) common / a[i].length;
        }
        return sum / a.length;
    }

    /**
     * Neighbour overlap@k of two embeddings of the same sentences.
     *
     * @param reference the reference (float) embeddings
     * @param other the other (quantized) embeddings
     * @param k neighbours
     * @return the overlap in [0, 1]
     */
    public static double neighbourOverlap(float[][] reference, float[][] other, int k) {
        requireSameShape(reference, other);
        return neighbourOverlap(nearestNeighbours(reference, k), nearestNeighbours(other, k));
    }

    /**
     * The rank of every query's right document (document i for query i), 1 = best.
     *
     * @param queries query embeddings
     * @param documents document embeddings, as many as queries
     * @return one rank per query
     */
    public static int[] ranks(float[][] queries, float[][] documents) {
        if (queries.length != documents.length || queries.length == 0) {
            throw new IllegalArgumentException(queries.length + " queries for " + documents.length + " documents");
        }
        float[][] q = normalized(queries);
        float[][] d = normalized(documents);
        int[] out = new int[q.length];
        for (int i = 0; i < q.length; i++) {
            double right = dot(q[i], d[i]);
            int better = 0;
            for (int j = 0; j < d.length; j++) {
                if (j != i && dot(q[i], d[j]) > right) {
                    better++;
                }
            }
            out[i] = better + 1;
        }
        return out;
    }

    /**
     * Mean reciprocal rank of query i's document i.
     *
     * @param queries query embeddings
     * @param documents document embeddings
     * @return the MRR in (0, 1]
     */
    public static double meanReciprocalRank(float[][] queries, float[][] documents) {
        double sum = 0;
        int[] r = ranks(queries, documents);
        for (int rank : r) {
            sum += 1.0 / rank;
        }
        return sum / r.length;
    }

    private static float[][] normalized(float[][] e) {
        float[][] out = new float[e.length][];
        int width = e.length == 0 ? 0 : e[0].length;
        for (int i = 0; i < e.length; i++) {
            if (e[i].length != width) {
                throw new IllegalArgumentException("row " + i + " has " + e[i].length + " values, row 0 " + width);
            }
            double n = 0;
            for (float v : e[i]) {
                n += (double) v * v;
            }
            double inv = n == 0 ? 0 : 1 / Math.sqrt(n);
            out[i] = new float[width];
            for (int d = 0; d < width; d++) {
                out[i][d] = (float) (e[i][d] * inv);
            }
        }
        return out;
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int d = 0; d < a.length; d++) {
            s += (double) a[d] * b[d];
        }
        return s;
    }

    private static void requireSameShape(float[][] a, float[][] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException(a.length + " vs " + b.length + " embeddings");
        }
        for (int i = 0; i < a.length; i++) {
            if (a[i].length != b[i].length) {
                throw new IllegalArgumentException("embedding " + i + ": " + a[i].length + " vs " + b[i].length + " values");
            }
        }
    }
}
