package ai.djl.nupes.calibrate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nupes.gptq.Gptq;
import ai.djl.nupes.LayerReport;
import ai.djl.nupes.autograd.GradientStep;
import ai.djl.nupes.autograd.Scalars;
import ai.djl.nupes.Method;
import ai.djl.nupes.quantizer.InputQuantizer;
import ai.djl.nupes.nn.LayerQuantizer;
import ai.djl.nupes.nn.QuantizedLayer;
import ai.djl.nupes.quantizer.InputRange;
import ai.djl.nupes.quantizer.LayerSettings;
import ai.djl.nupes.quantizer.PowerQuantizer;
import ai.djl.nupes.quantizer.QuantizedWeights;
import ai.djl.training.ParameterStore;
import ai.djl.training.util.ProgressBar;

import org.ejml.data.DMatrixRMaj;
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
 * The NUPES reconstruction loop: layer by layer in network order, learn each layer's quantizer so
 * that its output on the already-quantized network's inputs matches the float network's output.
 *
 * <p>For layer ℓ with float weights W and learned quantized weights Ŵ:
 *
 * <pre>
 *   loss = mean( (f(x_q; Ŵ) - f(x_f; W))² )
 * </pre>
 *
 * where {@code x_f} is ℓ's input in the float model and {@code x_q} its input in the model whose
 * earlier layers are already quantized (targets from the float model, inputs from the quantized
 * prefix). The loss is divided by its value at the data-free start so every layer starts at 1.
 * Adam's learning rates follow a cosine decay to zero. NUPES learns in two phases (our design):
 * the first quarter of the iterations moves the exponent with the latent weights held at W, so the
 * exponent sees the grid the float weights want; the rest moves the latent weights with the
 * exponent frozen; the scale learns throughout. Learned jointly from the start, the exponent's
 * gradient is confounded by weights moving to patch each rounding (the README gives the
 * measurement behind the two phases).
 * Only one layer's inputs are held at a time, and one stage's activations ({@link StageActivations}):
 * each layer's quantized-prefix and float inputs are captured by running its stage from those,
 * stopping as soon as the layer has seen its input.
 */
public final class LayerwiseCalibration {

    private static final Logger logger = LoggerFactory.getLogger(LayerwiseCalibration.class);

    private final CalibrationSettings settings;
    private final InputRange.Estimator inputEstimator;
    private final boolean byStage;

    /**
     * Creates the calibration for weights and, where a layer's settings ask for it, inputs.
     *
     * @param settings iterations, batch size, learning rates, seed
     * @param inputEstimator how a layer's input range is estimated when its inputs are quantized
     *     (quantized inputs share the layer's exponent, learned jointly)
     */
    public LayerwiseCalibration(CalibrationSettings settings, InputRange.Estimator inputEstimator) {
        this(settings, inputEstimator, true);
    }

    /**
     * As {@link #LayerwiseCalibration(CalibrationSettings, InputRange.Estimator)}; {@code byStage =
     * false} captures every layer's inputs from the model's inputs (the reference the staged capture
     * is tested against).
     */
    LayerwiseCalibration(CalibrationSettings settings, InputRange.Estimator inputEstimator, boolean byStage) {
        this.settings = settings;
        this.inputEstimator = inputEstimator;
        this.byStage = byStage;
    }

    /**
     * Creates the calibration with the 99.99th-percentile input range estimator.
     *
     * @param settings iterations, batch size, learning rates, seed
     */
    public LayerwiseCalibration(CalibrationSettings settings) {
        this(settings, InputRange.Estimator.PERCENTILE);
    }

    /**
     * Quantizes every layer with a data-driven method.
     *
     * @param root the model's root block (holding the wrapped layers)
     * @param layers the wrapped layers, in network order
     * @param data the calibration inputs
     * @param method {@link Method#NUPES}, {@link Method#NUPES_FIXED_EXPONENT}, {@link
     *     Method#LEARNED_ROUNDING}, {@link Method#GPTQ} or {@link Method#GPTQ_POWER}
     * @param manager the manager for working arrays
     * @return one report per layer
     * @throws CancellationException when the thread is interrupted
     */
    public List<LayerReport> run(
            Block root,
            List<QuantizedLayer> layers,
            CalibrationData data,
            Method method,
            NDManager manager) {
        if (!method.needsCalibrationData()) {
            throw new IllegalArgumentException(method + " is data-free");
        }
        for (QuantizedLayer l : layers) {
            l.getQuantizer().setEnabled(false);
        }
        List<LayerReport> reports = new ArrayList<>();
        GptqCalibration gptq = new GptqCalibration(settings.gptqOptions(), settings.gptqTarget());
        boolean floatInputs = !method.isGptq() || settings.gptqTarget() == GptqTarget.FLOAT_OUTPUTS;
        try (StageActivations activations =
                StageActivations.of(root, layers, data, floatInputs, byStage, manager)) {
            if (settings.unit() == ReconstructionUnit.STAGE && !method.isGptq()) {
                StageReconstruction byStage = new StageReconstruction(settings);
                for (int first = 0; first < layers.size(); ) {
                    int end = first + 1;
                    while (end < layers.size() && activations.stageOf(end) == activations.stageOf(first)) {
                        end++;
                    }
                    reports.addAll(byStage.reconstruct(activations, layers, first, end, data, method, manager));
                    first = end;
                }
                return reports;
            }
            for (int i = 0; i < layers.size(); i++) {
                LayerQuantizer q = layers.get(i).getQuantizer();
                if (q.getSettings().table()) {
                    reports.add(DataFreeCalibration.quantizeLayer(q, DataFreeCalibration.tableMethod(method), null));
                    q.setEnabled(true);
                } else if (method.isGptq()) {
                    reports.add(gptq.quantizeLayer(activations, layers, i, data, method, manager));
                } else {
                    reports.add(optimizeLayer(activations, layers, i, data, method, manager));
                }
            }
        }
        return reports;
    }

    private LayerReport optimizeLayer(
            StageActivations activations,
            List<QuantizedLayer> layers,
            int index,
            CalibrationData data,
            Method method,
            NDManager manager) {
        long start = System.nanoTime();
        LayerQuantizer layer = layers.get(index).getQuantizer();
        try (NDManager unit = manager.newSubManager()) {
            LayerSetup setup = new LayerSetup(layer);
            // inputs from the quantized prefix, then from the float model
            for (int j = 0; j < layers.size(); j++) {
                layers.get(j).getQuantizer().setEnabled(j < index);
            }
            NDArray quantizedInputs = activations.capture(index, false, unit);
            // the input range comes from what the quantized prefix delivers, at real positions
            LayerSettings layerSettings = layer.getSettings();
            layer.setInputQuantizer(
                    layerSettings.quantizesInputs()
                            ? InputCalibration.of(
                                    LayerSamples.tokenValues(
                                            quantizedInputs, LayerSamples.maskFor(quantizedInputs, data.mask())),
                                    layerSettings.activationBits(),
                                    inputEstimator)
                            : null);
            NDArray floatInputs = activations.capture(index, true, unit);
            LayerSamples samples = LayerSamples.of(layer, quantizedInputs, floatInputs, data.mask(), unit);
            double captureSeconds = (System.nanoTime() - start) / 1e9;
            Reconstructed r = reconstruct(layer, setup, samples, method, index, unit);
            double seconds = (System.nanoTime() - start) / 1e9;
            float initial = DataFreeCalibration.mean(setup.exponents);
            float learned = DataFreeCalibration.mean(r.weights().getExponents());
            logger.info(
                    "{} [{}] W{}: a {} -> {}, loss {} -> {}{}, {} % of codes moved from rounding, {} s ({} s"
                            + " capturing {} samples)",
                    layer.getPath(),
                    method,
                    setup.spec.getBits(),
                    String.format("%.3f", initial),
                    String.format("%.3f", learned),
                    String.format("%.3e", r.lossBefore()),
                    String.format("%.3e", r.lossAfter()),
                    r.startLoss() == r.lossBefore() ? "" : String.format(" (started at %.3e)", r.startLoss()),
                    String.format("%.2f", 100 * r.codesChanged()),
                    String.format("%.2f", seconds),
                    String.format("%.2f", captureSeconds),
                    samples.size());
            return new LayerReport(
                    layer.getPath(),
                    setup.spec.getBits(),
                    learned,
                    initial,
                    DataFreeCalibration.relativeError(setup.weights, r.weights().decode()),
                    r.lossBefore(),
                    r.lossAfter(),
                    seconds,
                    r.weights().size(),
                    r.weights().bitsPerWeight());
        }
    }

    /** What reconstructing one layer produced. */
    /**
     * One reconstruction's outcome.
     *
     * @param weights the installed codes
     * @param lossBefore the data-free codes' loss
     * @param startLoss the loss where the latent weights started (the data-free one, or GPTQ's)
     * @param lossAfter the installed codes' loss
     * @param codesChanged the fraction of codes that differ from the data-free ones
     */
    record Reconstructed(
            QuantizedWeights weights, double lossBefore, double startLoss, double lossAfter, double codesChanged) {}

    /** The fraction of positions where two code arrays differ. */
    static double changedFraction(byte[] a, byte[] b) {
        int changed = 0;
        for (int i = 0; i < a.length; i++) {
            if (a[i] != b[i]) {
                changed++;
            }
        }
        return a.length == 0 ? 0 : changed / (double) a.length;
    }

    /**
     * Learns one layer's quantizer from its captured inputs, installs the result and enables it.
     *
     * @param layer the layer
     * @param setup its float weights and data-free start
     * @param samples its inputs and targets
     * @param method the method
     * @param layerIndex the layer's position (seeds the batch order)
     * @param unit the manager of this layer's arrays
     * @return the integer form and the mean loss before and after
     */
    Reconstructed reconstruct(
            LayerQuantizer layer,
            LayerSetup setup,
            LayerSamples samples,
            Method method,
            int layerIndex,
            NDManager unit) {
        // the starting point of every method: per-layer PowerQuant, hard-quantized
        QuantizedWeights dataFree =
                PowerQuantizer.quantize(setup.path, setup.weights, setup.shape, setup.spec, setup.exponents);
        layer.setQuantizedWeights(dataFree);
        layer.setEnabled(true);
        double lossBefore = meanLoss(layer, samples, unit);
        // the best start so far: the data-free codes, or GPTQ's when NUPES starts there
        QuantizedWeights start = dataFree;
        double startLoss = lossBefore;
        boolean fromGptq = settings.latentStart().appliesTo(method);
        // H of the reconstruction's inputs and the weights GPTQ fits, for the GPTQ start and the
        // final rounding: computed once
        DMatrixRMaj hessian = null;
        float[] gptqWeights = null;
        if (fromGptq) {
            hessian = hessianOf(layer, samples, method);
            gptqWeights = gptqWeights(layer, setup, samples, hessian, unit);
            start = gptqStart(setup, gptqWeights, hessian);
            layer.setQuantizedWeights(start);
            startLoss = meanLoss(layer, samples, unit);
            if (!(startLoss < lossBefore)) {
                logger.info("{}: the gptq-power start (loss {}) is no better than the data-free one ({})",
                        layer.getPath(), String.format("%.3e", startLoss), String.format("%.3e", lossBefore));
            }
        }
        LayerReconstruction recon = LayerReconstruction.create(method, setup, fromGptq ? start : null, settings, unit);
        train(layer, recon, samples, startLoss, layerIndex, unit);
        QuantizedWeights result = recon.finish();
        layer.setQuantizedWeights(result);
        layer.setEnabled(true);
        double lossAfter = meanLoss(layer, samples, unit);
        if (settings.finalRounding().appliesTo(method) && GptqCalibration.handles(layer)) {
            if (hessian == null) {
                hessian = hessianOf(layer, samples, method);
                gptqWeights = gptqWeights(layer, setup, samples, hessian, unit);
            }
            QuantizedWeights onGrid = gptqOnLearnedGrid(setup, gptqWeights, hessian, result);
            layer.setQuantizedWeights(onGrid);
            double onGridLoss = meanLoss(layer, samples, unit);
            boolean keep = onGridLoss < lossAfter;
            logger.info("{}: loss of the learned codes {}, of gptq's on the learned grid {}; keeping {}",
                    layer.getPath(), String.format("%.3e", lossAfter), String.format("%.3e", onGridLoss),
                    keep ? "gptq's" : "the learned ones");
            if (keep) {
                result = onGrid;
                lossAfter = onGridLoss;
            } else {
                layer.setQuantizedWeights(result);
            }
        }
        if (!(lossAfter < Math.min(startLoss, lossBefore))) {
            // never end worse than where the reconstruction started
            boolean keepGptq = startLoss < lossBefore;
            String kept = keepGptq ? LatentStart.GPTQ_POWER.id() : "data-free";
            logger.warn(
                    "{}: calibration ended at loss {}, not below the {} start's {}; keeping the {} codes",
                    layer.getPath(),
                    String.format("%.3e", lossAfter),
                    kept,
                    String.format("%.3e", Math.min(startLoss, lossBefore)),
                    kept);
            result = keepGptq ? start : dataFree;
            layer.setQuantizedWeights(result);
            lossAfter = Math.min(startLoss, lossBefore);
        }
        return new Reconstructed(result, lossBefore, startLoss, lossAfter,
                changedFraction(dataFree.getCodes(), result.getCodes()));
    }

    /** H of the reconstruction's own inputs (the samples hold real tokens' rows already: no mask). */
    private static DMatrixRMaj hessianOf(LayerQuantizer layer, LayerSamples samples, Method method) {
        return GptqCalibration.accumulate(layer, samples.quantized(), null, method).hessian();
    }

    /**
     * The weights GPTQ rounds: the float weights, or those that best map the reconstruction's
     * inputs to its float targets ({@link GptqTarget#FLOAT_OUTPUTS}).
     */
    private float[] gptqWeights(
            LayerQuantizer layer, LayerSetup setup, LayerSamples samples, DMatrixRMaj hessian, NDManager unit) {
        return settings.gptqTarget() == GptqTarget.FLOAT_OUTPUTS
                ? OutputTarget.weights(layer, samples, hessian, setup.weights, unit)
                : setup.weights;
    }

    /**
     * GPTQ on the grid the reconstruction learned (its exponents and scale maxima), from the
     * weights GPTQ fits, with H from the reconstruction's own inputs.
     */
    private QuantizedWeights gptqOnLearnedGrid(
            LayerSetup setup, float[] weights, DMatrixRMaj hessian, QuantizedWeights learned) {
        return Gptq.quantizeOnGrid(setup.path, weights, setup.shape, hessian, setup.spec,
                        learned.getExponents(), learned.getMaxima(), settings.gptqOptions())
                .weights();
    }

    /** GPTQ on the layer's data-free exponent, with H from the reconstruction's own inputs. */
    private QuantizedWeights gptqStart(LayerSetup setup, float[] weights, DMatrixRMaj hessian) {
        return Gptq.quantize(setup.path, weights, setup.shape, hessian, setup.spec, setup.exponents,
                        settings.gptqOptions())
                .weights();
    }

    private void train(
            LayerQuantizer layer,
            LayerReconstruction recon,
            LayerSamples samples,
            double lossBefore,
            int layerIndex,
            NDManager unit) {
        int iterations = settings.iterations();
        long n = samples.size();
        // batchSize calibration samples a step: for token rows, their average number of real tokens
        int batch = (int) Math.max(1, Math.min(n, Math.round(settings.batchSize() * samples.rowsPerSample())));
        Random random = new Random(settings.seed() * 1_000_003L + layerIndex);
        float normalizer = (float) (lossBefore > 0 ? 1 / lossBefore : 1);
        NDArray[] ownedArrays = ownedArrays(recon, samples.quantized(), samples.targets());
        ProgressBar progress = new ProgressBar(layer.getPath(), iterations);
        progress.start(0);
        for (int it = 0; it < iterations; it++) {
            if (Thread.currentThread().isInterrupted()) {
                throw new CancellationException("calibration interrupted at layer " + layer.getPath());
            }
            try (NDManager step = unit.newSubManager()) {
                step.tempAttachAll(ownedArrays);
                long[] indices = new long[batch];
                for (int b = 0; b < batch; b++) {
                    indices[b] = random.nextInt((int) n);
                }
                NDArray idx = step.create(indices);
                float lossValue = step(
                        layer, recon, samples.quantized().get(idx), samples.targets().get(idx), normalizer, it,
                        iterations, step, null);
                if (it % 10 == 9 || it == iterations - 1) {
                    progress.update(it + 1, String.format("loss %.4f a %.3f", lossValue, recon.exponent()));
                }
            }
        }
        progress.end();
        int skipped = recon.optimizers().stream().mapToInt(Adam::skipped).sum();
        if (skipped > 0) {
            logger.warn("{}: {} update(s) skipped for non-finite gradients", layer.getPath(), skipped);
        }
    }

    /**
     * One Adam step on one batch: the forward pass and the backward pass of {@code normalizer ·
     * mean((f(x_q; Ŵ) - target)²)} (plus the reconstruction's regulariser) under the process-wide
     * gradient lock, then every optimizer's update.
     *
     * @param layer the layer
     * @param recon its learnable form
     * @param inputs the batch of quantized-prefix inputs
     * @param target the float layer's outputs on the batch's float inputs
     * @param normalizer 1 / the data-free loss
     * @param it the iteration, 0-based
     * @param iterations the total
     * @param step the step's manager
     * @param beforeBackward runs between the forward and the backward pass (tests), or null
     * @return the normalised loss of the batch, before the update
     */
    static float step(
            LayerQuantizer layer,
            LayerReconstruction recon,
            NDArray inputs,
            NDArray target,
            float normalizer,
            int it,
            int iterations,
            NDManager step,
            Runnable beforeBackward) {
        InputQuantizer inputQuantizer = layer.getInputQuantizer();
        float lossValue;
        try (GradientStep gradients = GradientStep.open()) {
            NDList x =
                    new NDList(
                            inputQuantizer == null
                                    ? inputs
                                    : inputQuantizer.apply(inputs, recon.inputExponent(it, iterations)));
            NDArray out =
                    layer.forwardWith(new ParameterStore(step, false), x, recon.weights(it, iterations)).head();
            NDArray loss = Scalars.mul(out.sub(target).square().mean(), normalizer);
            NDArray reg = recon.regularizer(it, iterations, step);
            NDArray total = reg == null ? loss : loss.add(reg);
            if (beforeBackward != null) {
                beforeBackward.run();
            }
            gradients.backward(total);
            lossValue = loss.getFloat();
        }
        for (Adam adam : recon.optimizers()) {
            adam.step(step, it, iterations);
        }
        if (recon instanceof PowerReconstruction) {
            ((PowerReconstruction) recon).project();
        }
        return lossValue;
    }

    /**
     * Every array a step touches, once each (attaching one twice would hand it to the step for
     * good), so that temporaries are created in, and die with, the step.
     */
    static NDArray[] ownedArrays(LayerReconstruction recon, NDArray... inputs) {
        Set<NDArray> owned = Collections.newSetFromMap(new IdentityHashMap<>());
        owned.addAll(List.of(inputs));
        for (Adam adam : recon.optimizers()) {
            owned.addAll(List.of(adam.arrays()));
        }
        owned.addAll(List.of(recon.constants()));
        return owned.toArray(new NDArray[0]);
    }

    /** Mean reconstruction loss over all samples, of the layer's installed codes. */
    static double meanLoss(LayerQuantizer layer, LayerSamples samples, NDManager unit) {
        long n = samples.size();
        long chunk = (long) Math.ceil(StageActivations.CAPTURE_BATCH * samples.rowsPerSample());
        double sum = 0;
        for (long from = 0; from < n; from += chunk) {
            long to = Math.min(n, from + chunk);
            try (NDManager step = unit.newSubManager()) {
                NDArray xq = samples.quantized().get(from + ":" + to);
                xq.attach(step);
                NDArray target = samples.targets().get(from + ":" + to);
                target.attach(step);
                NDArray out = layer.forward(new ParameterStore(step, false), new NDList(xq), false, null).head();
                sum += out.sub(target).square().sum().getFloat();
            }
        }
        return sum / samples.targets().size();
    }
}
