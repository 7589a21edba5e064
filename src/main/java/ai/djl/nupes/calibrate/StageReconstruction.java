package ai.djl.nupes.calibrate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nupes.LayerReport;
import ai.djl.nupes.Method;
import ai.djl.nupes.StagedBlock.Stage;
import ai.djl.nupes.autograd.GradientStep;
import ai.djl.nupes.autograd.Scalars;
import ai.djl.nupes.nn.LayerQuantizer;
import ai.djl.nupes.nn.QuantizedLayer;
import ai.djl.nupes.quantizer.PowerQuantizer;
import ai.djl.nupes.quantizer.QuantizedWeights;
import ai.djl.training.ParameterStore;
import ai.djl.training.util.ProgressBar;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CancellationException;

/**
 * Reconstructs one stage of the model's forward chain as a unit (our design, after BRECQ's block
 * reconstruction): every weights-only layer of the stage learns at once through the stage's own
 * forward pass, on the quantized model's stage inputs, against the float model's stage outputs:
 *
 * <pre>
 *   loss = Σ_real positions (stage(x_q; Ŵ_1..Ŵ_k) - stage(x_f; W_1..W_k))² / (positions · width)
 * </pre>
 *
 * divided by its value at the data-free codes. Padded positions (the calibration data's padding
 * mask) are left out. Each layer keeps its own learnable form and schedule (NUPES's two phases), one
 * Adam step each per iteration on the same batch of samples. When the stage's loss does not end
 * below the data-free codes' the stage keeps those.
 */
final class StageReconstruction {

    private static final Logger logger = LoggerFactory.getLogger(StageReconstruction.class);

    private final CalibrationSettings settings;

    StageReconstruction(CalibrationSettings settings) {
        this.settings = settings;
    }

    /**
     * Quantizes layers {@code [first, end)}, which make up one stage, and leaves them enabled.
     *
     * @param activations the stage inputs (the stage is moved to)
     * @param layers all wrapped layers, in network order
     * @param first the stage's first layer
     * @param end one past its last layer
     * @param data the calibration data (its padding mask)
     * @param method {@link Method#NUPES}, {@link Method#NUPES_FIXED_EXPONENT} or {@link
     *     Method#LEARNED_ROUNDING}
     * @param manager the manager for working arrays
     * @return one report per layer: the stage's loss before and after for each learned layer
     * @throws IllegalArgumentException naming the layer when a layer of the stage quantizes its inputs
     * @throws CancellationException when the thread is interrupted
     */
    List<LayerReport> reconstruct(
            StageActivations activations,
            List<QuantizedLayer> layers,
            int first,
            int end,
            CalibrationData data,
            Method method,
            NDManager manager) {
        long start = System.nanoTime();
        int stageIndex = activations.stageOf(first);
        activations.moveTo(stageIndex);
        Stage stage = activations.stage();
        List<LayerReport> reports = new ArrayList<>();
        List<LayerQuantizer> learned = new ArrayList<>();
        for (int j = first; j < end; j++) {
            LayerQuantizer q = layers.get(j).getQuantizer();
            if (q.getSettings().table()) {
                reports.add(DataFreeCalibration.quantizeLayer(q, DataFreeCalibration.tableMethod(method), null));
                q.setEnabled(true);
            } else if (q.getSettings().quantizesInputs()) {
                throw new IllegalArgumentException("layer '" + q.getPath() + "': reconstruction by stage learns"
                        + " weights-only layers, but this one quantizes its inputs to "
                        + q.getSettings().activationBits() + " bits; reconstruct by layer");
            } else {
                learned.add(q);
            }
        }
        if (learned.isEmpty()) {
            return reports;
        }
        try (NDManager unit = manager.newSubManager()) {
            List<LayerSetup> setups = new ArrayList<>();
            List<QuantizedWeights> dataFree = new ArrayList<>();
            for (LayerQuantizer q : learned) {
                LayerSetup setup = new LayerSetup(q);
                QuantizedWeights codes =
                        PowerQuantizer.quantize(setup.path, setup.weights, setup.shape, setup.spec, setup.exponents);
                q.setQuantizedWeights(codes);
                q.setEnabled(true);
                setups.add(setup);
                dataFree.add(codes);
            }
            NDArray target = activations.stageOutputs(true, unit);
            NDList inputs = activations.stageInputs(false, unit);
            NDArray mask = LayerSamples.maskFor(target, data.mask());
            double captureSeconds = (System.nanoTime() - start) / 1e9;
            double lossBefore = meanLoss(stage, activations, inputs, target, mask, unit);
            List<LayerReconstruction> recons = new ArrayList<>();
            for (LayerSetup setup : setups) {
                recons.add(LayerReconstruction.create(method, setup, null, settings, unit));
            }
            train(stage, stageIndex, activations, learned, recons, inputs, target, mask, lossBefore, unit);
            List<QuantizedWeights> results = new ArrayList<>();
            for (int i = 0; i < learned.size(); i++) {
                QuantizedWeights r = recons.get(i).finish();
                learned.get(i).setQuantizedWeights(r);
                results.add(r);
            }
            double lossAfter = meanLoss(stage, activations, inputs, target, mask, unit);
            if (!(lossAfter < lossBefore)) {
                logger.warn("stage {}: calibration ended at loss {}, not below the data-free codes' {}; keeping those",
                        stage, String.format("%.3e", lossAfter), String.format("%.3e", lossBefore));
                for (int i = 0; i < learned.size(); i++) {
                    learned.get(i).setQuantizedWeights(dataFree.get(i));
                }
                results = dataFree;
                lossAfter = lossBefore;
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            logger.info("stage {} [{}] {} layer(s): loss {} -> {}, {} s ({} s capturing {} samples)",
                    stage, method, learned.size(), String.format("%.3e", lossBefore), String.format("%.3e", lossAfter),
                    String.format("%.2f", seconds), String.format("%.2f", captureSeconds), target.getShape().get(0));
            for (int i = 0; i < learned.size(); i++) {
                LayerSetup setup = setups.get(i);
                QuantizedWeights r = results.get(i);
                float initial = DataFreeCalibration.mean(setup.exponents);
                float exponent = DataFreeCalibration.mean(r.getExponents());
                logger.info("{} [{}, stage {}] W{}: a {} -> {}, {} % of codes moved from rounding",
                        setup.path, method, stage, setup.spec.getBits(), String.format("%.3f", initial),
                        String.format("%.3f", exponent),
                        String.format("%.2f", 100 * LayerwiseCalibration.changedFraction(
                                dataFree.get(i).getCodes(), r.getCodes())));
                reports.add(new LayerReport(setup.path, setup.spec.getBits(), exponent, initial,
                        DataFreeCalibration.relativeError(setup.weights, r.decode()), lossBefore, lossAfter,
                        seconds / learned.size(), r.size(), r.bitsPerWeight()));
            }
        }
        return reports;
    }

    private void train(
            Stage stage,
            int stageIndex,
            StageActivations activations,
            List<LayerQuantizer> layers,
            List<LayerReconstruction> recons,
            NDList inputs,
            NDArray target,
            NDArray mask,
            double lossBefore,
            NDManager unit) {
        int iterations = settings.iterations();
        int n = (int) target.getShape().get(0);
        int batch = Math.max(1, Math.min(n, settings.batchSize()));
        // distinct from the per-layer streams' seeds (seed · 1000003 + layer index)
        Random random = new Random(settings.seed() * 1_000_003L - 7919L * (stageIndex + 1));
        float normalizer = (float) (lossBefore > 0 ? 1 / lossBefore : 1);
        Set<NDArray> owned = Collections.newSetFromMap(new IdentityHashMap<>());
        owned.addAll(inputs);
        owned.add(target);
        if (mask != null) {
            owned.add(mask);
        }
        for (LayerReconstruction r : recons) {
            for (Adam adam : r.optimizers()) {
                owned.addAll(List.of(adam.arrays()));
            }
            owned.addAll(List.of(r.constants()));
        }
        NDArray[] ownedArrays = owned.toArray(new NDArray[0]);
        ProgressBar progress = new ProgressBar(stage.getName(), iterations);
        progress.start(0);
        for (int it = 0; it < iterations; it++) {
            if (Thread.currentThread().isInterrupted()) {
                throw new CancellationException("calibration interrupted at stage " + stage);
            }
            try (NDManager step = unit.newSubManager()) {
                step.tempAttachAll(ownedArrays);
                long[] indices = new long[batch];
                for (int b = 0; b < batch; b++) {
                    indices[b] = random.nextInt(n);
                }
                NDArray idx = step.create(indices);
                NDList x = new NDList();
                for (int k = 0; k < inputs.size(); k++) {
                    x.add(activations.hasSampleAxis(k) ? inputs.get(k).get(idx) : inputs.get(k));
                }
                NDArray y = target.get(idx);
                NDArray m = mask == null ? null : mask.get(idx);
                float lossValue;
                try (GradientStep gradients = GradientStep.open()) {
                    NDArray loss;
                    NDArray total;
                    try {
                        for (int i = 0; i < layers.size(); i++) {
                            layers.get(i).setTrainingWeights(recons.get(i).weights(it, iterations));
                        }
                        NDArray out = stage.forward(new ParameterStore(step, false), x, false).head();
                        loss = meanSquared(out, y, m, normalizer);
                        total = loss;
                        for (LayerReconstruction r : recons) {
                            NDArray reg = r.regularizer(it, iterations, step);
                            if (reg != null) {
                                total = total.add(reg);
                            }
                        }
                    } finally {
                        for (LayerQuantizer l : layers) {
                            l.setTrainingWeights(null);
                        }
                    }
                    gradients.backward(total);
                    lossValue = loss.getFloat();
                }
                for (LayerReconstruction r : recons) {
                    for (Adam adam : r.optimizers()) {
                        adam.step(step, it, iterations);
                    }
                    if (r instanceof PowerReconstruction) {
                        ((PowerReconstruction) r).project();
                    }
                }
                if (it % 10 == 9 || it == iterations - 1) {
                    progress.update(it + 1, String.format("loss %.4f", lossValue));
                }
            }
        }
        progress.end();
        for (int i = 0; i < layers.size(); i++) {
            int skipped = recons.get(i).optimizers().stream().mapToInt(Adam::skipped).sum();
            if (skipped > 0) {
                logger.warn("{}: {} update(s) skipped for non-finite gradients", layers.get(i).getPath(), skipped);
            }
        }
    }

    /**
     * {@code scale · Σ (out - target)² / count} over the real positions: those where the mask (when
     * given, {@code (B, T)} fitting the leading axes) is 1.
     */
    private static NDArray meanSquared(NDArray out, NDArray target, NDArray mask, float scale) {
        NDArray squared = out.sub(target).square();
        if (mask == null) {
            return Scalars.mul(squared.mean(), scale);
        }
        long width = squared.size() / mask.size();
        float count = Math.max(1f, mask.sum().getFloat() * width);
        return Scalars.mul(squared.mul(broadcastable(mask, squared)).sum(), scale / count);
    }

    private static NDArray broadcastable(NDArray mask, NDArray like) {
        long[] shape = new long[like.getShape().dimension()];
        java.util.Arrays.fill(shape, 1);
        shape[0] = mask.getShape().get(0);
        shape[1] = mask.getShape().get(1);
        return mask.reshape(shape);
    }

    /** The stage's loss of the installed codes over all samples, real positions only. */
    private static double meanLoss(
            Stage stage, StageActivations activations, NDList inputs, NDArray target, NDArray mask, NDManager unit) {
        long n = target.getShape().get(0);
        double sum = 0;
        double count = 0;
        for (long from = 0; from < n; from += StageActivations.CAPTURE_BATCH) {
            long to = Math.min(n, from + StageActivations.CAPTURE_BATCH);
            try (NDManager step = unit.newSubManager()) {
                NDList x = new NDList();
                for (int k = 0; k < inputs.size(); k++) {
                    NDArray a = activations.hasSampleAxis(k) ? inputs.get(k).get(from + ":" + to) : inputs.get(k).duplicate();
                    a.attach(step);
                    x.add(a);
                }
                NDArray y = target.get(from + ":" + to);
                y.attach(step);
                NDArray out = stage.forward(new ParameterStore(step, false), x, false).head();
                NDArray squared = out.sub(y).square();
                if (mask == null) {
                    sum += squared.sum().getFloat();
                    count += squared.size();
                } else {
                    NDArray m = mask.get(from + ":" + to);
                    m.attach(step);
                    sum += squared.mul(broadcastable(m, squared)).sum().getFloat();
                    count += m.sum().getFloat() * (double) (squared.size() / m.size());
                }
            }
        }
        return count == 0 ? 0 : sum / count;
    }
}
