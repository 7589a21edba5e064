package ai.djl.nupes;

import ai.djl.ndarray.NDList;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;

import java.util.List;
import java.util.Objects;

/**
 * A block whose forward pass is a chain of stages: the block's inputs are the first stage's, each
 * stage's output list is the next stage's input list, and the last stage's output is the block's.
 * An encoder is one: embeddings, then its layers, each carrying the hidden state and the attention
 * bias to the next.
 *
 * <p>Calibration uses the chain to hold one stage's activations at a time, for the quantized and
 * for the float model, and to run each layer's capture from its stage's inputs instead of from the
 * model's: its memory is bounded by one stage's activations and its time grows with the depth, not
 * with its square. A {@link ai.djl.nn.SequentialBlock} is such a chain already (its children are its
 * stages) and needs nothing; a model root of another kind without this interface is one stage.
 *
 * <p>The stages are read each time they are asked for, so they run the block's current children
 * (the quantized wrappers once the model is wrapped). Calibration checks on the first few calibration
 * samples that the chain reproduces the block's forward pass and refuses the model naming the block
 * when it does not.
 */
public interface StagedBlock extends Block {

    /**
     * The forward pass as a chain of stages, in order; every quantizable layer of the block belongs
     * to exactly one stage's block.
     *
     * @return the stages
     */
    List<Stage> getStages();

    /** How one stage maps its input list to its output list. */
    @FunctionalInterface
    interface StageForward {

        /**
         * Runs the stage.
         *
         * @param ps the parameter store
         * @param inputs the previous stage's outputs (the block's inputs for the first stage)
         * @param training whether this is a training pass
         * @return the stage's outputs
         */
        NDList apply(ParameterStore ps, NDList inputs, boolean training);
    }

    /** One link of the chain: a block (whose layers it runs) and how the stage calls it. */
    final class Stage {

        private final String name;
        private final Block block;
        private final StageForward forward;
        private final boolean plain;

        private Stage(String name, Block block, StageForward forward, boolean plain) {
            this.name = Objects.requireNonNull(name, "name");
            this.block = Objects.requireNonNull(block, "block");
            this.forward = Objects.requireNonNull(forward, "forward");
            this.plain = plain;
        }

        /**
         * A stage that is the block's own forward pass.
         *
         * @param name the stage's name (in messages)
         * @param block the block
         * @return the stage
         */
        public static Stage of(String name, Block block) {
            return new Stage(name, block, block::forward, true);
        }

        /**
         * A stage that calls its block in its own way (for example passing an attention bias along).
         *
         * @param name the stage's name (in messages)
         * @param block the block holding every layer the stage runs
         * @param forward the stage's mapping from inputs to outputs
         * @return the stage
         */
        public static Stage of(String name, Block block, StageForward forward) {
            return new Stage(name, block, forward, false);
        }

        /**
         * The stage's name.
         *
         * @return the name
         */
        public String getName() {
            return name;
        }

        /**
         * The block holding the layers this stage runs.
         *
         * @return the block
         */
        public Block getBlock() {
            return block;
        }

        /**
         * Whether the stage is its block's own forward pass (then a chain inside the block may be
         * split further).
         *
         * @return true for {@link #of(String, Block)}
         */
        public boolean isPlain() {
            return plain;
        }

        /**
         * Runs the stage.
         *
         * @param ps the parameter store
         * @param inputs the stage's inputs
         * @param training whether this is a training pass
         * @return the stage's outputs
         */
        public NDList forward(ParameterStore ps, NDList inputs, boolean training) {
            return forward.apply(ps, inputs, training);
        }

        /** {@inheritDoc} */
        @Override
        public String toString() {
            return name;
        }
    }
}
