package ai.djl.nupes.calibrate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nupes.StagedBlock;
import ai.djl.nupes.StagedBlock.Stage;
import ai.djl.nupes.nn.LayerQuantizer;
import ai.djl.nupes.nn.QuantizedLayer;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The calibration inputs of the current stage of the model's forward chain, over all calibration
 * samples, as the quantized model delivers them and (when asked for) as the float model does; a
 * layer's inputs are captured by running only its stage from these, stopping at the layer.
 *
 * <p>The chain is the root's stages ({@link StagedBlock}), a {@link SequentialBlock}'s children, or
 * the root as one stage; plain stages whose block is itself a chain are split further. When every
 * layer of the stage has been quantized, the next capture moves both streams one stage on: the
 * quantized stream through the stage as the model now stands, the float stream with every quantizer
 * off. Memory holds one stage's inputs per stream (plus the captured layer's), and each stage runs
 * once per stream and once per capture of its layers.
 */
final class StageActivations implements AutoCloseable {

    /** Samples per forward pass when capturing or scoring over the calibration data. */
    static final int CAPTURE_BATCH = 128;

    /** Samples the stage chain is checked on against the root's forward pass. */
    static final int CHECK_SAMPLES = 4;

    private static final Logger logger = LoggerFactory.getLogger(StageActivations.class);

    private final List<Stage> stages;
    private final int[] stageOf;
    private final List<QuantizedLayer> layers;
    private final NDManager manager;
    private Stream quantized;
    private Stream floating;
    private int current;

    private StageActivations(
            List<Stage> stages, int[] stageOf, List<QuantizedLayer> layers, Stream quantized, Stream floating,
            NDManager manager) {
        this.stages = stages;
        this.stageOf = stageOf;
        this.layers = layers;
        this.quantized = quantized;
        this.floating = floating;
        this.manager = manager;
    }

    /**
     * Splits the model into its stages and holds the first stage's inputs: the calibration data.
     *
     * @param root the wrapped model's root block
     * @param layers the wrapped layers, in network order
     * @param data the calibration data
     * @param keepFloat whether float-model inputs will be captured (a second stream)
     * @param manager the parent manager of the held activations
     * @return the activations, at the first stage
     * @throws IllegalArgumentException naming the block when its stages do not reproduce its forward
     *     pass on the first calibration samples
     */
    static StageActivations of(
            Block root, List<QuantizedLayer> layers, CalibrationData data, boolean keepFloat, NDManager manager) {
        return of(root, layers, data, keepFloat, true, manager);
    }

    /**
     * As {@link #of(Block, List, CalibrationData, boolean, NDManager)}; {@code split = false} runs the
     * whole root as one stage (every capture from the model's inputs).
     */
    static StageActivations of(
            Block root, List<QuantizedLayer> layers, CalibrationData data, boolean keepFloat, boolean split,
            NDManager manager) {
        List<Stage> stages = new ArrayList<>();
        if (split) {
            addChain(Stage.of("model", root), "", stages);
        } else {
            stages.add(Stage.of("model", root));
        }
        int[] stageOf = stageIndices(stages, layers);
        if (stageOf == null) {
            stages = List.of(Stage.of("model", root));
            stageOf = new int[layers.size()];
        }
        Stream quantized = Stream.of(data, manager);
        Stream floating = keepFloat ? Stream.of(data, manager) : null;
        StageActivations activations =
                new StageActivations(stages, stageOf, layers, quantized, floating, manager);
        if (stages.size() > 1) {
            activations.checkChain(root, data);
            logger.info(
                    "calibration holds one of {} stages at a time: {}",
                    stages.size(),
                    stages.stream().map(Stage::getName).collect(Collectors.joining(", ")));
        }
        return activations;
    }

    /**
     * Appends the stages of {@code stage} under its path: split where it is a plain call of a chain,
     * inner stages named by their path in the chain.
     */
    private static void addChain(Stage stage, String path, List<Stage> out) {
        Block block = stage.getBlock();
        String prefix = path.isEmpty() ? "" : path + '/';
        if (stage.isPlain() && block instanceof StagedBlock) {
            for (Stage inner : ((StagedBlock) block).getStages()) {
                addChain(inner, prefix + inner.getName(), out);
            }
        } else if (stage.isPlain() && block instanceof SequentialBlock && !block.getChildren().isEmpty()) {
            for (Pair<String, Block> child : block.getChildren()) {
                addChain(Stage.of(child.getKey(), child.getValue()), prefix + child.getKey(), out);
            }
        } else {
            out.add(stage.getName().equals(path) || path.isEmpty() ? stage : renamed(stage, path));
        }
    }

    private static Stage renamed(Stage stage, String path) {
        return stage.isPlain() ? Stage.of(path, stage.getBlock()) : Stage.of(path, stage.getBlock(), stage::forward);
    }

    /**
     * The stage of each layer, or null (logged) when a layer is in no stage, in two, or the stages'
     * order is not the layers' order.
     */
    private static int[] stageIndices(List<Stage> stages, List<QuantizedLayer> layers) {
        if (stages.size() == 1) {
            return new int[layers.size()];
        }
        List<Set<Block>> members = new ArrayList<>();
        for (Stage s : stages) {
            Set<Block> set = Collections.newSetFromMap(new IdentityHashMap<>());
            collect(s.getBlock(), set);
            members.add(set);
        }
        int[] stageOf = new int[layers.size()];
        for (int j = 0; j < layers.size(); j++) {
            int found = -1;
            for (int s = 0; s < stages.size(); s++) {
                if (members.get(s).contains(layers.get(j))) {
                    if (found >= 0) {
                        return fallBack(layers.get(j), "is in stages " + stages.get(found) + " and " + stages.get(s));
                    }
                    found = s;
                }
            }
            if (found < 0) {
                return fallBack(layers.get(j), "is in no stage");
            }
            if (j > 0 && found < stageOf[j - 1]) {
                return fallBack(layers.get(j), "comes after layer " + layers.get(j - 1).getPath()
                        + " but sits in an earlier stage");
            }
            stageOf[j] = found;
        }
        return stageOf;
    }

    private static int[] fallBack(QuantizedLayer layer, String why) {
        logger.warn(
                "layer {} {}; calibration runs every capture from the model's inputs instead of stage by stage",
                layer.getPath(), why);
        return null;
    }

    private static void collect(Block block, Set<Block> out) {
        out.add(block);
        for (Pair<String, Block> child : block.getChildren()) {
            collect(child.getValue(), out);
        }
    }

    /**
     * The chain must reproduce the root's float forward pass on the first {@link #CHECK_SAMPLES}
     * calibration samples: both passes hold every intermediate until the check ends, so a few
     * samples, not a capture batch.
     */
    private void checkChain(Block root, CalibrationData data) {
        boolean[] saved = saveAndDisable();
        try (NDManager step = manager.newSubManager()) {
            NDList copy = data.range(step, 0, Math.min(data.size(), CHECK_SAMPLES));
            NDArray expected = root.forward(new ParameterStore(step, false), copy, false).head();
            NDList x = copy;
            for (Stage s : stages) {
                x = s.forward(new ParameterStore(step, false), x, false);
            }
            NDArray actual = x.head();
            if (!actual.getShape().equals(expected.getShape())) {
                throw new IllegalArgumentException("the stages of " + root.getClass().getSimpleName()
                        + " end in shape " + actual.getShape() + " but its forward pass in "
                        + expected.getShape());
            }
            float gap = actual.sub(expected).abs().max().getFloat();
            float scale = expected.abs().max().getFloat();
            if (!(gap <= 1e-4f * (1 + scale))) {
                throw new IllegalArgumentException("the stages of " + root.getClass().getSimpleName()
                        + " do not reproduce its forward pass: outputs differ by up to " + gap
                        + " on the first " + copy.head().getShape().get(0) + " calibration samples");
            }
        } finally {
            restore(saved);
        }
    }

    /**
     * The inputs of a layer over all calibration samples, from the quantized model as it now stands
     * or from the float model; first moves on to the layer's stage when it is a later one (every
     * layer before it must then be quantized).
     *
     * @param index the layer's position in network order
     * @param floatModel whether to capture the float model's inputs (every quantizer off)
     * @param unit the manager of the returned array
     * @return the inputs, samples first
     */
    NDArray capture(int index, boolean floatModel, NDManager unit) {
        if (floatModel && floating == null) {
            throw new IllegalStateException("float inputs were not kept");
        }
        int target = stageOf[index];
        if (target < current) {
            throw new IllegalStateException("layer " + layers.get(index).getPath() + " is in stage "
                    + stages.get(target) + ", already passed");
        }
        moveTo(target);
        LayerQuantizer layer = layers.get(index).getQuantizer();
        Stage stage = stages.get(target);
        Stream stream = floatModel ? floating : quantized;
        boolean[] saved = floatModel ? saveAndDisable() : null;
        List<NDArray> parts = new ArrayList<>();
        layer.setInputListener(
                inputs -> {
                    NDArray copy = inputs.head().duplicate();
                    copy.attach(unit);
                    parts.add(copy);
                    throw new InputCaptured();
                });
        try {
            for (NDList chunk : stream.chunks) {
                try (NDManager step = manager.newSubManager()) {
                    step.tempAttachAll(distinct(chunk));
                    try {
                        stage.forward(new ParameterStore(step, false), chunk, false);
                        throw new IllegalStateException(
                                "layer " + layer.getPath() + " is not reached by the forward pass of stage " + stage);
                    } catch (InputCaptured expected) {
                        // the layer saw this chunk; nothing after it needs to run
                    }
                }
            }
        } finally {
            layer.setInputListener(null);
            if (saved != null) {
                restore(saved);
            }
        }
        NDArray all = NDArrays.concat(new NDList(parts));
        all.attach(unit);
        for (NDArray p : parts) {
            p.close();
        }
        return all;
    }

    /**
     * Moves both streams on to a later stage, through every stage before it as the model now stands
     * (those stages' layers must be quantized).
     *
     * @param target the stage
     */
    void moveTo(int target) {
        while (current < target) {
            Stage stage = stages.get(current);
            quantized = quantized.through(stage, manager);
            if (floating != null) {
                boolean[] saved = saveAndDisable();
                try {
                    floating = floating.through(stage, manager);
                } finally {
                    restore(saved);
                }
            }
            current++;
        }
    }

    /**
     * The stage a layer belongs to.
     *
     * @param index the layer's position in network order
     * @return the stage's position in the chain
     */
    int stageOf(int index) {
        return stageOf[index];
    }

    /**
     * The current stage.
     *
     * @return the stage
     */
    Stage stage() {
        return stages.get(current);
    }

    /**
     * The current stage's inputs over all samples: arrays with a sample axis concatenated along it,
     * others (a causal mask broadcast over samples) as the first chunk holds them.
     *
     * @param floatModel the float stream, else the quantized one
     * @param unit the manager of the returned arrays
     * @return one array per stage input
     */
    NDList stageInputs(boolean floatModel, NDManager unit) {
        Stream stream = floatModel ? floating : quantized;
        NDList first = stream.chunks.get(0);
        NDList out = new NDList();
        for (int k = 0; k < first.size(); k++) {
            NDArray joined;
            if (stream.hasSampleAxis(k)) {
                NDList parts = new NDList();
                for (NDList chunk : stream.chunks) {
                    parts.add(chunk.get(k));
                }
                joined = NDArrays.concat(parts);
            } else {
                joined = first.get(k).duplicate();
            }
            joined.attach(unit);
            out.add(joined);
        }
        return out;
    }

    /**
     * Whether the current stage's input {@code k} has a sample axis (its first axis the samples).
     *
     * @param k the input's position
     * @return true when it is indexed by sample
     */
    boolean hasSampleAxis(int k) {
        return quantized.hasSampleAxis(k);
    }

    /**
     * The current stage's first output over all samples, from the float model (every quantizer off)
     * or the quantized one as it now stands.
     *
     * @param floatModel the float stream, else the quantized one
     * @param unit the manager of the returned array
     * @return the outputs, samples first
     */
    NDArray stageOutputs(boolean floatModel, NDManager unit) {
        Stream stream = floatModel ? floating : quantized;
        boolean[] saved = floatModel ? saveAndDisable() : null;
        NDList parts = new NDList();
        try {
            for (NDList chunk : stream.chunks) {
                try (NDManager step = manager.newSubManager()) {
                    NDArray[] inputs = distinct(chunk);
                    step.tempAttachAll(inputs);
                    NDArray head = stage().forward(new ParameterStore(step, false), chunk, false).head();
                    if (List.of(inputs).contains(head)) {
                        head = head.duplicate();
                    }
                    head.attach(unit);
                    parts.add(head);
                }
            }
        } finally {
            if (saved != null) {
                restore(saved);
            }
        }
        NDArray all = NDArrays.concat(parts);
        all.attach(unit);
        for (NDArray p : parts) {
            p.close();
        }
        return all;
    }

    /**
     * Bytes of the activations held for the current stage (both streams).
     *
     * @return bytes
     */
    long heldBytes() {
        return quantized.bytes() + (floating == null ? 0 : floating.bytes());
    }

    /**
     * The current stage's name.
     *
     * @return the name
     */
    String currentStage() {
        return stages.get(current).getName();
    }

    /**
     * The number of stages.
     *
     * @return stages
     */
    int stageCount() {
        return stages.size();
    }

    private boolean[] saveAndDisable() {
        boolean[] saved = new boolean[layers.size()];
        for (int j = 0; j < saved.length; j++) {
            LayerQuantizer q = layers.get(j).getQuantizer();
            saved[j] = q.isEnabled();
            q.setEnabled(false);
        }
        return saved;
    }

    private void restore(boolean[] saved) {
        for (int j = 0; j < saved.length; j++) {
            layers.get(j).getQuantizer().setEnabled(saved[j]);
        }
    }

    private static NDArray[] distinct(NDList list) {
        Set<NDArray> set = Collections.newSetFromMap(new IdentityHashMap<>());
        set.addAll(list);
        return set.toArray(new NDArray[0]);
    }

    /** {@inheritDoc} */
    @Override
    public void close() {
        quantized.close();
        if (floating != null) {
            floating.close();
        }
    }

    /** One stream's inputs to the current stage, chunk by chunk, in sample order. */
    private static final class Stream implements AutoCloseable {

        private final NDManager manager;
        private final List<NDList> chunks;

        private Stream(NDManager manager, List<NDList> chunks) {
            this.manager = manager;
            this.chunks = chunks;
        }

        static Stream of(CalibrationData data, NDManager parent) {
            NDManager own = parent.newSubManager();
            List<NDList> chunks = new ArrayList<>();
            for (int from = 0; from < data.size(); from += CAPTURE_BATCH) {
                chunks.add(data.range(own, from, Math.min(data.size(), from + CAPTURE_BATCH)));
            }
            return new Stream(own, chunks);
        }

        /** The stage's outputs on every chunk; this stream is closed. */
        Stream through(Stage stage, NDManager parent) {
            NDManager next = parent.newSubManager();
            List<NDList> out = new ArrayList<>();
            try {
                for (NDList chunk : chunks) {
                    try (NDManager step = manager.newSubManager()) {
                        NDArray[] inputs = distinct(chunk);
                        step.tempAttachAll(inputs);
                        Set<NDArray> given = Collections.newSetFromMap(new IdentityHashMap<>());
                        given.addAll(List.of(inputs));
                        NDList result = new NDList();
                        for (NDArray a : stage.forward(new ParameterStore(step, false), chunk, false)) {
                            // an input passed along is copied: the input goes back to this stream
                            NDArray kept = given.contains(a) ? a.duplicate() : a;
                            kept.attach(next);
                            result.add(kept);
                        }
                        out.add(result);
                    }
                }
            } catch (RuntimeException | Error e) {
                next.close();
                throw e;
            }
            close();
            return new Stream(next, out);
        }

        /** Whether input {@code k}'s first axis is the samples in every chunk. */
        boolean hasSampleAxis(int k) {
            for (NDList chunk : chunks) {
                NDArray a = chunk.get(k);
                if (a.getShape().dimension() == 0 || a.getShape().get(0) != samples(chunk)) {
                    return false;
                }
            }
            return true;
        }

        /** A chunk's sample count: the first axis of its first input. */
        private static long samples(NDList chunk) {
            return chunk.head().getShape().get(0);
        }

        long bytes() {
            long sum = 0;
            for (NDList chunk : chunks) {
                for (NDArray a : chunk) {
                    sum += a.size() * a.getDataType().getNumOfBytes();
                }
            }
            return sum;
        }

        @Override
        public void close() {
            manager.close();
        }
    }

    /** Thrown by the capture listener to stop a forward pass once the layer has its input. */
    private static final class InputCaptured extends RuntimeException {
        private static final long serialVersionUID = 1L;

        InputCaptured() {
            super(null, null, false, false);
        }
    }
}
