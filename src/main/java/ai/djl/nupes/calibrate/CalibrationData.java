package ai.djl.nupes.calibrate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.dataset.Batch;
import ai.djl.training.dataset.Dataset;
import ai.djl.translate.TranslateException;
import ai.djl.ndarray.NDArrays;
import ai.djl.nupes.format.Checksums;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Unlabelled model inputs for calibration: the first {@code samples} inputs of a DJL {@link
 * Dataset} or of any {@code Iterable<NDList>}, gathered into one array per model input.
 *
 * <p>Only model inputs are kept here; layer activations are captured one layer at a time by the
 * calibration. Inputs holding NaN or an infinity are refused, naming the sample.
 */
public final class CalibrationData implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(CalibrationData.class);

    private final NDManager manager;
    private final NDList inputs;
    private final int samples;
    private NDArray mask;

    private CalibrationData(NDManager manager, NDList inputs) {
        this.manager = manager;
        this.inputs = inputs;
        this.samples = (int) inputs.head().getShape().get(0);
    }

    /**
     * Declares one model input a padding mask: {@code (N, T)}, 1 for a token and 0 for padding
     * (a transformer's attention mask). Padded positions then enter no reconstruction loss and no
     * input range of a layer whose inputs start with those {@code (N, T)} axes.
     *
     * @param inputIndex the mask's position among the model inputs
     * @return this data
     * @throws IllegalArgumentException naming the input when it is not a 2-d array of 0s and 1s
     */
    public CalibrationData withPaddingMask(int inputIndex) {
        if (inputIndex < 0 || inputIndex >= inputs.size()) {
            throw new IllegalArgumentException("padding mask: input " + inputIndex + " does not exist; the"
                    + " calibration batches hold " + inputs.size() + " input(s)");
        }
        NDArray m = inputs.get(inputIndex).toType(ai.djl.ndarray.types.DataType.FLOAT32, true);
        m.attach(manager);
        if (m.getShape().dimension() != 2) {
            throw new IllegalArgumentException("padding mask: input " + inputIndex + " has shape " + m.getShape()
                    + ", not (samples, tokens)");
        }
        float[] values = m.toFloatArray();
        for (int i = 0; i < values.length; i++) {
            if (values[i] != 0f && values[i] != 1f) {
                throw new IllegalArgumentException("padding mask: input " + inputIndex + " holds " + values[i]
                        + " at sample " + i / m.getShape().get(1) + "; a mask holds only 0 and 1");
            }
        }
        this.mask = m;
        return this;
    }

    /**
     * Returns the padding mask {@code (N, T)} as FLOAT32, or null when none was declared.
     *
     * @return the mask or null
     */
    public NDArray mask() {
        return mask;
    }

    /**
     * Gathers the first samples of a dataset's batches (labels are ignored).
     *
     * @param dataset the dataset, prepared
     * @param samples how many samples to keep
     * @param manager the parent manager; the data lives in a sub-manager that {@link #close()} frees
     * @return the calibration data
     * @throws IOException when the dataset cannot be read
     */
    public static CalibrationData of(Dataset dataset, int samples, NDManager manager) throws IOException {
        Objects.requireNonNull(dataset, "dataset");
        NDManager own = manager.newSubManager();
        try {
            List<NDList> collected = new ArrayList<>();
            long have = 0;
            // DJL frees a batch's arrays once the iterator moves past its last batch: copy each out
            for (Batch b : dataset.getData(own)) {
                try (b) {
                    NDList copy = new NDList();
                    for (NDArray in : b.getData()) {
                        NDArray kept = in.duplicate();
                        kept.attach(own);
                        copy.add(kept);
                    }
                    collected.add(copy);
                    have += copy.head().getShape().get(0);
                }
                if (have >= samples) {
                    break;
                }
            }
            return gather(collected, samples, own);
        } catch (TranslateException e) {
            own.close();
            throw new IOException("cannot read calibration batches: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            own.close();
            throw e;
        }
    }

    /**
     * Gathers the first samples of an iterable of input batches (first axis = batch).
     *
     * @param batches the batches
     * @param samples how many samples to keep
     * @param manager the parent manager
     * @return the calibration data
     */
    public static CalibrationData of(Iterable<NDList> batches, int samples, NDManager manager) {
        NDManager own = manager.newSubManager();
        try {
            return gather(batches, samples, own);
        } catch (RuntimeException e) {
            own.close();
            throw e;
        }
    }

    private static CalibrationData gather(Iterable<NDList> batches, int samples, NDManager own) {
        if (samples <= 0) {
            throw new IllegalArgumentException("calibration samples must be positive, got " + samples);
        }
        List<List<NDArray>> parts = new ArrayList<>();
        int have = 0;
        for (NDList batch : batches) {
            if (have >= samples) {
                break;
            }
            if (parts.isEmpty()) {
                for (int i = 0; i < batch.size(); i++) {
                    parts.add(new ArrayList<>());
                }
            } else if (batch.size() != parts.size()) {
                throw new IllegalArgumentException(
                        "calibration batches disagree: " + parts.size() + " vs " + batch.size() + " inputs");
            }
            long n = Math.min(batch.head().getShape().get(0), samples - have);
            for (int i = 0; i < batch.size(); i++) {
                NDArray part = batch.get(i).get("0:" + n).toType(batch.get(i).getDataType(), true);
                part.attach(own);
                parts.get(i).add(part);
            }
            have += (int) n;
        }
        if (have == 0) {
            throw new IllegalArgumentException("calibration data is empty");
        }
        if (have < samples) {
            logger.warn("calibration data holds {} samples, fewer than the {} asked for: using {}", have, samples, have);
        }
        NDList inputs = new NDList();
        for (List<NDArray> p : parts) {
            NDArray all = NDArrays.concat(new NDList(p));
            all.attach(own);
            inputs.add(all);
        }
        checkFinite(inputs);
        return new CalibrationData(own, inputs);
    }

    /**
     * Returns the number of samples.
     *
     * @return samples
     */
    public int size() {
        return samples;
    }

    /**
     * Returns samples {@code [from, to)}.
     *
     * @param manager where the slice lives
     * @param from first sample
     * @param to end (exclusive)
     * @return the batch
     */
    public NDList range(NDManager manager, long from, long to) {
        NDList out = new NDList();
        for (NDArray in : inputs) {
            NDArray slice = in.get(from + ":" + to);
            slice.attach(manager);
            out.add(slice);
        }
        return out;
    }

    /**
     * A fingerprint of the calibration inputs: SHA-256 of their bytes.
     *
     * @return hex digest
     */
    public String sha256() {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        for (NDArray in : inputs) {
            bytes.writeBytes(in.toByteArray());
        }
        return Checksums.sha256(bytes.toByteArray());
    }

    /** {@inheritDoc} */
    @Override
    public void close() {
        manager.close();
    }

    /**
     * Fails naming the first sample whose floating-point input holds NaN or an infinity.
     *
     * @param inputs the gathered inputs, first axis = sample
     * @throws IllegalArgumentException naming the sample, the input and the value
     */
    private static void checkFinite(NDList inputs) {
        for (int i = 0; i < inputs.size(); i++) {
            NDArray x = inputs.get(i);
            if (!x.getDataType().isFloating()) {
                continue;
            }
            long n = x.getShape().get(0);
            float[] bad =
                    x.isNaN().logicalOr(x.isInfinite()).toType(ai.djl.ndarray.types.DataType.FLOAT32, false)
                            .reshape(n, -1).sum(new int[] {1}).toFloatArray();
            for (int s = 0; s < bad.length; s++) {
                if (bad[s] > 0) {
                    float[] values = x.get(s).toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
                    int at = 0;
                    while (Float.isFinite(values[at])) {
                        at++;
                    }
                    throw new IllegalArgumentException(
                            "calibration sample " + s + " (input " + i + ", shape " + x.get(s).getShape() + ") holds "
                                    + values[at] + " at flat index " + at + " (" + (int) bad[s]
                                    + " non-finite value(s)); calibration inputs must be finite");
                }
            }
        }
    }
}
