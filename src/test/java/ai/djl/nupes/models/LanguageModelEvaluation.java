package ai.djl.nupes.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;

/**
 * Next-character predictions of a language model on a text, in non-overlapping windows: window w
 * feeds ids {@code [wT, wT + T)} and scores the targets {@code [wT + 1, wT + T + 1)}, so every
 * scored character but the first of each window sees only the characters before it in its window.
 * Only whole windows are scored ({@code (n - 1) / T} of them).
 */
public final class LanguageModelEvaluation {

    /** Windows per forward pass. */
    public static final int BATCH = 16;

    private LanguageModelEvaluation() {}

    /**
     * The model's log-probabilities at every scored position, with the targets.
     *
     * @param logProbs {@code positions × vocab} natural-log probabilities, row-major
     * @param targets the true next id at each position
     * @param vocab the vocabulary size
     */
    public record Predictions(float[] logProbs, int[] targets, int vocab) {

        /**
         * Number of scored positions.
         *
         * @return the count
         */
        public int positions() {
            return targets.length;
        }

        /**
         * Total negative log-likelihood in nats.
         *
         * @return {@code -Σ log p(target)}
         */
        public double nll() {
            double sum = 0;
            for (int i = 0; i < targets.length; i++) {
                sum -= logProbs[i * vocab + targets[i]];
            }
            return sum;
        }

        /**
         * Perplexity, {@code exp(nll / positions)}.
         *
         * @return the perplexity
         */
        public double perplexity() {
            return Math.exp(nll() / positions());
        }

        /**
         * Bits per character, {@code nll / positions / ln 2}.
         *
         * @return the cross-entropy in bits
         */
        public double bitsPerCharacter() {
            return nll() / positions() / Math.log(2);
        }

        /**
         * Mean KL divergence {@code KL(reference ‖ this)} of the next-character distributions, in
         * nats.
         *
         * @param reference the float model's predictions on the same text
         * @return the mean over positions
         */
        public double klFrom(Predictions reference) {
            check(reference);
            double sum = 0;
            for (int i = 0; i < targets.length; i++) {
                for (int v = 0; v < vocab; v++) {
                    double lp = reference.logProbs[i * vocab + v];
                    double p = Math.exp(lp);
                    if (p > 0) {
                        sum += p * (lp - logProbs[i * vocab + v]);
                    }
                }
            }
            return sum / targets.length;
        }

        /**
         * Fraction of positions whose most likely next character is the true one.
         *
         * @return next-character top-1 accuracy in [0, 1]
         */
        public double accuracy() {
            int right = 0;
            for (int i = 0; i < targets.length; i++) {
                if (argMax(i) == targets[i]) {
                    right++;
                }
            }
            return (double) right / targets.length;
        }

        /**
         * Fraction of positions whose most likely next character is the reference's.
         *
         * @param reference the float model's predictions on the same text
         * @return the top-1 agreement in [0, 1]
         */
        public double top1Agreement(Predictions reference) {
            check(reference);
            int same = 0;
            for (int i = 0; i < targets.length; i++) {
                if (argMax(i) == reference.argMax(i)) {
                    same++;
                }
            }
            return (double) same / targets.length;
        }

        /**
         * The most likely next id at a position (the lowest id on ties).
         *
         * @param position the position
         * @return the id
         */
        public int argMax(int position) {
            int best = 0;
            for (int v = 1; v < vocab; v++) {
                if (logProbs[position * vocab + v] > logProbs[position * vocab + best]) {
                    best = v;
                }
            }
            return best;
        }

        private void check(Predictions reference) {
            if (reference.vocab != vocab || reference.targets.length != targets.length) {
                throw new IllegalArgumentException("predictions on different texts");
            }
        }
    }

    /**
     * Runs the model on the text's whole windows.
     *
     * @param block the language model ({@code (N, T)} ids to {@code (N, T, vocab)} logits)
     * @param ids the text as ids
     * @param window T
     * @param manager a manager for the passes (each batch uses a sub-manager)
     * @return the predictions
     */
    public static Predictions predict(Block block, int[] ids, int window, NDManager manager) {
        int windows = (ids.length - 1) / window;
        if (windows < 1) {
            throw new IllegalArgumentException(
                    "text of " + ids.length + " ids holds no whole window of " + window + " (+1)");
        }
        int[] targets = new int[windows * window];
        float[] logProbs = null;
        int vocab = -1;
        for (int from = 0; from < windows; from += BATCH) {
            int n = Math.min(BATCH, windows - from);
            long[] in = new long[n * window];
            for (int w = 0; w < n; w++) {
                for (int t = 0; t < window; t++) {
                    int at = (from + w) * window + t;
                    in[w * window + t] = ids[at];
                    targets[at] = ids[at + 1];
                }
            }
            try (NDManager step = manager.newSubManager()) {
                NDArray x = step.create(in, new Shape(n, window));
                NDArray logits =
                        block.forward(new ParameterStore(step, false), new NDList(x), false).head();
                float[] lp = logits.logSoftmax(2).toFloatArray();
                if (logProbs == null) {
                    vocab = (int) logits.getShape().get(2);
                    logProbs = new float[targets.length * vocab];
                }
                System.arraycopy(lp, 0, logProbs, from * window * vocab, lp.length);
            }
        }
        return new Predictions(logProbs, targets, vocab);
    }
}
