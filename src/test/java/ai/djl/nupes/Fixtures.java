package ai.djl.nupes;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nupes.data.FashionMnistIdx;
import ai.djl.training.dataset.Batch;

/** Shared test inputs: the bundled Fashion-MNIST subsets. */
public final class Fixtures {

    private Fixtures() {}

    /**
     * The bundled test subset, prepared.
     *
     * @param manager owns the arrays
     * @return the dataset
     * @throws Exception when the bundled files are missing
     */
    public static FashionMnistIdx bundledTestSet(NDManager manager) throws Exception {
        return bundled(manager, FashionMnistIdx.Split.TEST);
    }

    /**
     * The bundled calibration (training) subset, prepared.
     *
     * @param manager owns the arrays
     * @return the dataset
     * @throws Exception when the bundled files are missing
     */
    public static FashionMnistIdx bundledCalibrationSet(NDManager manager) throws Exception {
        return bundled(manager, FashionMnistIdx.Split.TRAIN);
    }

    /**
     * The bundled calibration subset, shared by every test in the JVM.
     *
     * @return the prepared dataset
     * @throws java.io.IOException when the bundled files are missing
     */
    public static FashionMnistIdx calibrationData() throws java.io.IOException {
        return FashionMnistIdx.bundledCalibration();
    }

    /**
     * The first images of the bundled test subset.
     *
     * @param manager owns the arrays
     * @param count how many
     * @return {@code (count, 1, 28, 28)} images
     * @throws Exception when the bundled files are missing
     */
    public static NDList testImages(NDManager manager, int count) throws Exception {
        FashionMnistIdx ds = bundledTestSet(manager);
        Batch b = ds.getByRange(manager, 0, count);
        return b.getData();
    }

    private static FashionMnistIdx bundled(NDManager manager, FashionMnistIdx.Split split)
            throws Exception {
        return FashionMnistIdx.prepared(manager, FashionMnistIdx.BUNDLED_DIRECTORY, split, 64);
    }

    /**
     * Every message of an exception and its causes, joined, for asserting what a failure names.
     *
     * @param e the exception
     * @return {@code Class: message | Class: message | ...}
     */
    public static String messages(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            sb.append(t.getClass().getSimpleName()).append(": ").append(t.getMessage()).append(" | ");
        }
        return sb.toString();
    }

    /**
     * The first position of a byte pattern.
     *
     * @param haystack the bytes searched
     * @param needle the pattern
     * @return its offset, or -1
     */
    public static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
