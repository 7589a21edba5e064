package ai.djl.nupes.calibrate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nupes.LayerReport;
import ai.djl.nupes.Method;
import ai.djl.nupes.gptq.Gptq;
import ai.djl.nupes.gptq.HessianAccumulator;
import ai.djl.nupes.nn.LayerQuantizer;
import ai.djl.nupes.nn.QuantizedLayer;
import ai.djl.nupes.quantizer.PowerQuantizer;
import ai.djl.nupes.quantizer.QuantizedWeights;

import org.ejml.data.DMatrixRMaj;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * GPTQ's sequential mode: each layer's Hessian comes from the inputs the already-quantized prefix
 * delivers, over the real (unpadded) positions of the calibration data; then {@link Gptq} quantizes
 * it and the next layer sees the result.
 */
final class GptqCalibration {

    private static final Logger logger = LoggerFactory.getLogger(GptqCalibration.class);

    private final Gptq.Options options;
    private final GptqTarget target;

    GptqCalibration(Gptq.Options options, GptqTarget target) {
        this.options = options;
        this.target = target;
    }

    /**
     * Quantizes layer {@code index} with its prefix already quantized and enabled.
     *
     * @param activations the current stage's inputs
     * @param layers all wrapped layers, in network order
     * @param index the layer
     * @param data the calibration data
     * @param method {@link Method#GPTQ} or {@link Method#GPTQ_POWER}
     * @param manager the manager for working arrays
     * @return the layer's report: the GPTQ objective of round-to-nearest and of GPTQ as the loss
     *     before and after
     */
    LayerReport quantizeLayer(
            StageActivations activations,
            List<QuantizedLayer> layers,
            int index,
            CalibrationData data,
            Method method,
            NDManager manager) {
        long start = System.nanoTime();
        LayerQuantizer layer = layers.get(index).getQuantizer();
        if (layer.getSettings().quantizesInputs()) {
            throw new IllegalArgumentException(
                    "layer '" + layer.getPath() + "': " + method + " quantizes weights only, but the layer's"
                            + " settings ask for " + layer.getSettings().activationBits() + "-bit inputs");
        }
        for (int j = 0; j < layers.size(); j++) {
            layers.get(j).getQuantizer().setEnabled(j < index);
        }
        LayerSetup setup = new LayerSetup(layer);
        HessianAccumulator accumulator;
        float[] weights = setup.weights;
        try (NDManager unit = manager.newSubManager()) {
            NDArray inputs = activations.capture(index, false, unit);
            if (target == GptqTarget.FLOAT_OUTPUTS) {
                // the samples hold the real tokens' rows already: no mask
                LayerSamples samples =
                        LayerSamples.of(layer, inputs, activations.capture(index, true, unit), data.mask(), unit);
                accumulator = accumulate(layer, samples.quantized(), null, method);
                weights = OutputTarget.weights(layer, samples, accumulator.hessian(), setup.weights, unit);
            } else {
                accumulator = accumulate(layer, inputs, LayerSamples.maskFor(inputs, data.mask()), method);
            }
        }
        DMatrixRMaj hessian = accumulator.hessian();
        float[] exponents = method == Method.GPTQ ? new float[] {1f} : setup.exponents;
        QuantizedWeights nearest =
                PowerQuantizer.quantize(setup.path, weights, setup.shape, setup.spec, exponents);
        Gptq.Result result =
                Gptq.quantize(setup.path, weights, setup.shape, hessian, setup.spec, exponents, options);
        QuantizedWeights q = result.weights();
        layer.setQuantizedWeights(q);
        layer.setEnabled(true);
        float[] decoded = q.decode();
        double before = Gptq.objective(weights, nearest.decode(), hessian);
        double after = Gptq.objective(weights, decoded, hessian);
        float exponent = DataFreeCalibration.mean(exponents);
        double seconds = (System.nanoTime() - start) / 1e9;
        logger.info(
                "{} [{}, fits the {}] W{}: a {}, H over {} rows, {} dead input(s), objective {} -> {}, {} s",
                layer.getPath(),
                method,
                target.id(),
                setup.spec.getBits(),
                String.format("%.3f", exponent),
                accumulator.rows(),
                result.deadColumns(),
                String.format("%.3e", before),
                String.format("%.3e", after),
                String.format("%.2f", seconds));
        return new LayerReport(
                layer.getPath(),
                setup.spec.getBits(),
                exponent,
                exponent,
                DataFreeCalibration.relativeError(setup.weights, decoded),
                before,
                after,
                seconds,
                q.size(),
                q.bitsPerWeight());
    }

    /**
     * Whether GPTQ can quantize a layer: a Linear, or an ungrouped Conv2d, with float inputs.
     *
     * @param layer the layer
     * @return true when {@link #accumulate} takes its inputs
     */
    static boolean handles(LayerQuantizer layer) {
        Block floatLayer = layer.getFloatLayer();
        boolean supported = floatLayer instanceof Linear
                || floatLayer instanceof Conv2d conv && conv.getGroups() == 1;
        return supported && !layer.getSettings().quantizesInputs();
    }

    /**
     * {@code H = 2/n · Σ x xᵀ} of a layer's inputs: their rows for a Linear (real positions only
     * when a mask is given), their patch rows for a Conv2d.
     *
     * @param layer the layer
     * @param inputs its captured inputs
     * @param mask the token mask fitting the inputs, or null
     * @param method the method asking, named in the error
     * @return the accumulated Hessian
     * @throws IllegalArgumentException naming the layer when it is neither Linear nor Conv2d
     */
    static HessianAccumulator accumulate(LayerQuantizer layer, NDArray inputs, NDArray mask, Method method) {
        int columns = (int) (layer.weightShape().size() / layer.weightShape().get(0));
        HessianAccumulator accumulator = new HessianAccumulator(layer.getPath(), columns);
        Block floatLayer = layer.getFloatLayer();
        if (floatLayer instanceof Linear) {
            try (NDArray rows = LayerSamples.tokenRows(inputs, mask, columns)) {
                InputGram.add(layer.getPath(), rows, accumulator);
            }
        } else if (floatLayer instanceof Conv2d) {
            PatchRows.add((Conv2d) floatLayer, inputs, accumulator);
        } else {
            throw new IllegalArgumentException(
                    "layer '" + layer.getPath() + "': " + method + " quantizes Linear and Conv2d layers,"
                            + " not " + floatLayer.getClass().getSimpleName());
        }
        return accumulator;
    }

    /** Unfolds 2-D convolution inputs into patch rows (in-channels × kernel positions). */
    static final class PatchRows {

        /** Receives the patch rows of consecutive images, chunk by chunk. */
        @FunctionalInterface
        interface ChunkConsumer {

            /**
             * Takes one chunk.
             *
             * @param rows row-major {@code count × K}
             * @param count rows in this chunk: {@code images} × output positions per image
             * @param firstImage the chunk's first image
             * @param images the chunk's images
             */
            void accept(float[] rows, int count, int firstImage, int images);
        }

        private PatchRows() {}

        static void add(Conv2d conv, NDArray inputs, HessianAccumulator accumulator) {
            String name = accumulator.layerName();
            forEachChunk(conv, inputs, (rows, count, firstImage, images) -> InputGram.add(
                    name, rows, count, (long) firstImage * (count / images), accumulator, inputs.getManager()));
        }

        /**
         * Unfolds the inputs chunk by chunk, in image order; a patch row is ordered (in-channel,
         * kernel row, kernel column), as the weight's flattened input axis.
         *
         * @param conv the convolution, ungrouped
         * @param inputs its inputs {@code (N, C, H, W)}
         * @param consumer takes each chunk
         */
        static void forEachChunk(Conv2d conv, NDArray inputs, ChunkConsumer consumer) {
            if (conv.getGroups() != 1) {
                throw new IllegalArgumentException(
                        "gptq unfolds ungrouped convolutions only; this one has " + conv.getGroups() + " groups");
            }
            Shape s = inputs.getShape();
            int n = (int) s.get(0);
            int channels = (int) s.get(1);
            int height = (int) s.get(2);
            int width = (int) s.get(3);
            int kh = (int) conv.getKernelShape().get(0);
            int kw = (int) conv.getKernelShape().get(1);
            int sh = (int) conv.getStride().get(0);
            int sw = (int) conv.getStride().get(1);
            int ph = (int) conv.getPadding().get(0);
            int pw = (int) conv.getPadding().get(1);
            int dh = (int) conv.getDilation().get(0);
            int dw = (int) conv.getDilation().get(1);
            int outH = (height + 2 * ph - dh * (kh - 1) - 1) / sh + 1;
            int outW = (width + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
            int k = channels * kh * kw;
            float[] x = inputs.toFloatArray();
            int perImage = outH * outW;
            int imagesPerChunk = Math.max(1, InputGram.CHUNK_ROWS / perImage);
            float[] rows = new float[Math.min(n, imagesPerChunk) * perImage * k];
            for (int first = 0; first < n; first += imagesPerChunk) {
                int images = Math.min(imagesPerChunk, n - first);
                java.util.Arrays.fill(rows, 0f);
                for (int b = 0; b < images; b++) {
                    int base = (first + b) * channels * height * width;
                    int imageRow = b * perImage;
                    for (int oy = 0; oy < outH; oy++) {
                        for (int ox = 0; ox < outW; ox++) {
                            int row = (imageRow + oy * outW + ox) * k;
                            for (int c = 0; c < channels; c++) {
                                for (int ky = 0; ky < kh; ky++) {
                                    int iy = oy * sh - ph + ky * dh;
                                    if (iy < 0 || iy >= height) {
                                        continue;
                                    }
                                    for (int kx = 0; kx < kw; kx++) {
                                        int ix = ox * sw - pw + kx * dw;
                                        if (ix >= 0 && ix < width) {
                                            rows[row + (c * kh + ky) * kw + kx] =
                                                    x[base + (c * height + iy) * width + ix];
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                int count = images * perImage;
                float[] chunk = count * k == rows.length ? rows : java.util.Arrays.copyOf(rows, count * k);
                consumer.accept(chunk, count, first, images);
            }
        }
    }
}
