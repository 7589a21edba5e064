package ai.djl.nupes.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.dataset.Batch;

/** Classification accuracy of a block on a labelled dataset, batch by batch, nothing retained. */
public final class Evaluation {

    /** Batch size used for evaluation. */
    public static final int BATCH_SIZE = 250;

    private Evaluation() {}

    /**
     * Returns top-1 accuracy in [0, 1].
     *
     * @param block the classifier (inference mode)
     * @param dataset images and class-index labels
     * @param manager a manager on the device to evaluate on; each batch uses a sub-manager
     * @return the fraction of correct predictions
     */
    public static double accuracy(Block block, ArrayDataset dataset, NDManager manager) {
        long n = dataset.size();
        long correct = 0;
        for (long from = 0; from < n; from += BATCH_SIZE) {
            try (NDManager step = manager.newSubManager()) {
                Batch batch = dataset.getByRange(step, from, Math.min(n, from + BATCH_SIZE));
                NDArray logits =
                        block.forward(new ParameterStore(step, false), batch.getData(), false)
                                .singletonOrThrow();
                NDArray predicted = logits.argMax(1).toType(ai.djl.ndarray.types.DataType.INT64, false);
                NDArray truth = batch.getLabels().head().toType(ai.djl.ndarray.types.DataType.INT64, false);
                correct += predicted.eq(truth).sum().getLong();
                batch.close();
            }
        }
        return n == 0 ? 0 : (double) correct / n;
    }

    /**
     * Runs a block on one batch, for comparisons of raw outputs.
     *
     * @param block the block
     * @param input the input batch
     * @param manager the manager the outputs live in
     * @return the outputs
     */
    public static NDList predict(Block block, NDList input, NDManager manager) {
        return block.forward(new ParameterStore(manager, false), input, false);
    }
}
