package ai.djl.nupes.calibrate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.dataset.Batch;
import ai.djl.training.dataset.Dataset;
import ai.djl.translate.TranslateException;
import ai.djl.ndarray.NDArrays;
import ai.djl.nupes.format.Checksums;

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

    private final NDManager manager;
    private final NDList inputs;
    private final int samples;

    private CalibrationData(NDManager manager, NDList inputs) {
        this.manager = manager;
        this.inputs = inputs;
        this.samples = (int) inputs.head().getShape().get(0);
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
            for (Batch b : dataset.getData(own)) {
                collected.add(b.getData());
                have += b.getSize();
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
        NDList inputs = new NDList();
        for (List<NDArray> p : parts) {
            NDArray all = NDArrays.concat(new NDList(p));
            all.attach(own);
            inputs.add(all);
        }
        ModelFit.checkFinite(inputs);
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
}
