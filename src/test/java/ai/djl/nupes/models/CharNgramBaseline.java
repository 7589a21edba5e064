package ai.djl.nupes.models;

/**
 * Unigram and bigram character models with add-one (Laplace) smoothing over the whole vocabulary,
 * counted on the training text: the baselines the language model's perplexity is read against.
 */
public final class CharNgramBaseline {

    private final int order;
    private final int vocab;
    private final double[] logProb;

    private CharNgramBaseline(int order, int vocab, double[] logProb) {
        this.order = order;
        this.vocab = vocab;
        this.logProb = logProb;
    }

    /**
     * Counts {@code p(c) = (count(c) + 1) / (n + V)}.
     *
     * @param train training ids
     * @param vocab V
     * @return the model
     */
    public static CharNgramBaseline unigram(int[] train, int vocab) {
        long[] counts = new long[vocab];
        for (int id : train) {
            counts[id]++;
        }
        double[] lp = new double[vocab];
        for (int c = 0; c < vocab; c++) {
            lp[c] = Math.log((counts[c] + 1.0) / (train.length + (double) vocab));
        }
        return new CharNgramBaseline(1, vocab, lp);
    }

    /**
     * Counts {@code p(c | b) = (count(b c) + 1) / (count(b ·) + V)}.
     *
     * @param train training ids
     * @param vocab V
     * @return the model
     */
    public static CharNgramBaseline bigram(int[] train, int vocab) {
        long[] pairs = new long[vocab * vocab];
        long[] previous = new long[vocab];
        for (int i = 1; i < train.length; i++) {
            pairs[train[i - 1] * vocab + train[i]]++;
            previous[train[i - 1]]++;
        }
        double[] lp = new double[vocab * vocab];
        for (int b = 0; b < vocab; b++) {
            for (int c = 0; c < vocab; c++) {
                lp[b * vocab + c] = Math.log((pairs[b * vocab + c] + 1.0) / (previous[b] + (double) vocab));
            }
        }
        return new CharNgramBaseline(2, vocab, lp);
    }

    /**
     * Natural-log probability of {@code ids[i]} given what precedes it (the unigram ignores it).
     *
     * @param ids the text
     * @param i a position ≥ 1
     * @return {@code log p}
     */
    public double logProb(int[] ids, int i) {
        return order == 1 ? logProb[ids[i]] : logProb[ids[i - 1] * vocab + ids[i]];
    }

    /**
     * Mean negative log-likelihood in nats over positions 1..n-1 (the first id has no predecessor
     * and is not scored, by either order).
     *
     * @param ids the test text
     * @return nats per character
     */
    public double crossEntropy(int[] ids) {
        double sum = 0;
        for (int i = 1; i < ids.length; i++) {
            sum -= logProb(ids, i);
        }
        return sum / (ids.length - 1);
    }

    /**
     * Perplexity on a text.
     *
     * @param ids the test text
     * @return {@code exp(cross-entropy)}
     */
    public double perplexity(int[] ids) {
        return Math.exp(crossEntropy(ids));
    }

    /**
     * Bits per character on a text.
     *
     * @param ids the test text
     * @return cross-entropy / ln 2
     */
    public double bitsPerCharacter(int[] ids) {
        return crossEntropy(ids) / Math.log(2);
    }
}
