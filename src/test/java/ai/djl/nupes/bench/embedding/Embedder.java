package ai.djl.nupes.bench.embedding;

import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.translate.TranslateException;

import java.util.List;

/**
 * Sentence embeddings from an encoder's {@code last_hidden_state}: the mean over the tokens whose
 * attention mask is 1, L2-normalized — what DJL's {@code TextEmbeddingTranslator} computes with
 * {@code pooling=mean, normalize=true}, done here in plain Java (double sums) from the (N, T, H)
 * output so that every model (DJL block or ONNX Runtime session) is pooled by the same code.
 */
public final class Embedder {

    /** One forward pass: a padded batch in, {@code last_hidden_state} (N, T, H) out. */
    @FunctionalInterface
    public interface Forward {
        /**
         * Runs the encoder.
         *
         * @param batch the batch
         * @param manager where the inputs (and outputs) live, closed after the batch
         * @return last_hidden_state
         * @throws TranslateException when the engine fails
         */
        NDArray lastHiddenState(SentenceBatches.Batch batch, NDManager manager) throws TranslateException;
    }

    private Embedder() {}

    /**
     * The forward of a DJL block (inference mode, no gradients).
     *
     * @param block an initialized encoder taking {@code NDList(input_ids, attention_mask,
     *     token_type_ids)}
     * @return the forward
     */
    public static Forward of(Block block) {
        return (batch, manager) ->
                block.forward(new ParameterStore(manager, false), batch.toNDList(manager), false).head();
    }

    /**
     * The forward of an {@code NDList → NDList} predictor (e.g. ONNX Runtime) whose graph takes the
     * named inputs in the given order.
     *
     * @param predictor the predictor; the caller closes it
     * @param inputNames the graph's input names, in its order
     * @return the forward
     */
    public static Forward of(Predictor<NDList, NDList> predictor, List<String> inputNames) {
        return (batch, manager) -> predictor.predict(batch.toNDList(manager, inputNames)).head();
    }

    /**
     * Embeds every sentence.
     *
     * @param batches the sentences
     * @param forward the encoder
     * @param parent the manager each batch's sub-manager comes from
     * @return {@code [sentence][H]} in the sentences' given order
     * @throws TranslateException when the engine fails
     */
    public static float[][] embed(SentenceBatches batches, Forward forward, NDManager parent)
            throws TranslateException {
        float[][] out = new float[batches.size()][];
        for (int b = 0; b < batches.batchCount(); b++) {
            SentenceBatches.Batch batch = batches.batch(b);
            float[] hidden;
            Shape shape;
            try (NDManager step = parent.newSubManager()) {
                NDArray h = forward.lastHiddenState(batch, step);
                shape = h.getShape();
                hidden = h.toFloatArray();
                h.close();
            }
            if (shape.dimension() != 3 || shape.get(0) != batch.size() || shape.get(1) != batch.tokens()) {
                throw new IllegalStateException(
                        "last_hidden_state is " + shape + ", expected (" + batch.size() + ", " + batch.tokens() + ", H)");
            }
            int width = (int) shape.get(2);
            for (int r = 0; r < batch.size(); r++) {
                out[batch.sentences()[r]] = meanPool(hidden, batch, r, width);
            }
        }
        return out;
    }

    /**
     * The normalized masked mean of one row of a batch's hidden states.
     *
     * @param hidden row-major (N, T, H)
     * @param batch the batch (its mask)
     * @param row the row
     * @param width H
     * @return the embedding
     */
    static float[] meanPool(float[] hidden, SentenceBatches.Batch batch, int row, int width) {
        double[] sum = new double[width];
        int t = batch.tokens();
        double count = 0;
        for (int k = 0; k < t; k++) {
            long m = batch.mask()[row * t + k];
            if (m == 0) {
                continue;
            }
            count += m;
            int base = (row * t + k) * width;
            for (int h = 0; h < width; h++) {
                sum[h] += hidden[base + h];
            }
        }
        count = Math.max(count, 1e-9);
        double norm = 0;
        for (int h = 0; h < width; h++) {
            sum[h] /= count;
            norm += sum[h] * sum[h];
        }
        norm = Math.max(Math.sqrt(norm), 1e-12);
        float[] e = new float[width];
        for (int h = 0; h < width; h++) {
            e[h] = (float) (sum[h] / norm);
        }
        return e;
    }
}
