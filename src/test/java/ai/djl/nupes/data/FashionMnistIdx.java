package ai.djl.nupes.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.util.Progress;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Objects;

/**
 * Fashion-MNIST read from local IDX (.gz) files as a DJL {@link ai.djl.training.dataset.Dataset}.
 *
 * <p>Images come as float32 {@code (N, 1, 28, 28)} in [0, 1] (pixel bytes read unsigned, divided
 * by 255), labels as float32 class indices 0..9. Nothing is downloaded: the files come from the
 * directory the builder names, or {@link #resolveDirectory()}.
 */
public final class FashionMnistIdx extends ArrayDataset {

    /** Where Debian's {@code dataset-fashion-mnist} package puts the files. */
    public static final Path SYSTEM_DIRECTORY = Paths.get("/usr/share/datasets/fashion-mnist");
    /** The subsets shipped with this project (2048 training and 2000 test images). */
    public static final Path BUNDLED_DIRECTORY = Paths.get("test-models/data/fashion-mnist-subset");
    /** System property naming a directory with the four IDX files. */
    public static final String DIRECTORY_PROPERTY = "nupes.fashionmnist.dir";

    private final Path directory;
    private final Split split;
    private final NDManager manager;
    private boolean prepared;

    /** Which file pair to read. */
    public enum Split {
        /** {@code train-images-idx3-ubyte.gz} and {@code train-labels-idx1-ubyte.gz}. */
        TRAIN("train"),
        /** {@code t10k-images-idx3-ubyte.gz} and {@code t10k-labels-idx1-ubyte.gz}. */
        TEST("t10k");

        private final String prefix;

        Split(String prefix) {
            this.prefix = prefix;
        }

        /**
         * Returns the image file name.
         *
         * @return the name
         */
        public String imageFile() {
            return prefix + "-images-idx3-ubyte.gz";
        }

        /**
         * Returns the label file name.
         *
         * @return the name
         */
        public String labelFile() {
            return prefix + "-labels-idx1-ubyte.gz";
        }
    }

    private FashionMnistIdx(Builder builder) {
        super(builder);
        this.directory = builder.directory == null ? resolveDirectory() : builder.directory;
        this.split = builder.split;
        this.manager = Objects.requireNonNull(builder.manager, "setManager(...) is required");
    }

    /**
     * Returns a builder.
     *
     * @return the builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Builds and prepares a split in one call.
     *
     * @param manager owns the arrays
     * @param directory the directory with the IDX files
     * @param split training or test files
     * @param batchSize the sampling batch size (sequential, no shuffling)
     * @return the prepared dataset
     * @throws IOException when the files are missing or malformed
     */
    public static FashionMnistIdx prepared(
            NDManager manager, Path directory, Split split, int batchSize) throws IOException {
        FashionMnistIdx ds =
                builder()
                        .setManager(manager)
                        .optDirectory(directory)
                        .setSplit(split)
                        .setSampling(batchSize, false)
                        .build();
        ds.prepare(null);
        return ds;
    }

    /** The calibration batch size of {@link #bundledCalibration()}. */
    public static final int CALIBRATION_BATCH = 32;

    private static FashionMnistIdx bundledCalibration;

    /**
     * The bundled 2048-image training subset, prepared once per process in a manager that lives as
     * long as the process: the calibration data of the main job, the benches and the tests.
     *
     * @return the dataset
     * @throws IOException when the bundled files are missing
     */
    public static synchronized FashionMnistIdx bundledCalibration() throws IOException {
        if (bundledCalibration == null) {
            bundledCalibration = prepared(NDManager.newBaseManager(), BUNDLED_DIRECTORY, Split.TRAIN, CALIBRATION_BATCH);
        }
        return bundledCalibration;
    }

    /**
     * The directory used when none is named: the {@value #DIRECTORY_PROPERTY} system property, then
     * the Debian package's directory, then the bundled subset.
     *
     * @return the directory
     */
    public static Path resolveDirectory() {
        String property = System.getProperty(DIRECTORY_PROPERTY);
        if (property != null && !property.isBlank()) {
            return Paths.get(property);
        }
        if (Files.isRegularFile(SYSTEM_DIRECTORY.resolve(Split.TEST.imageFile()))) {
            return SYSTEM_DIRECTORY;
        }
        return BUNDLED_DIRECTORY;
    }

    /**
     * Whether a directory is the bundled subset rather than the full data set.
     *
     * @param dir the directory
     * @return true for the bundled subset
     */
    public static boolean isBundled(Path dir) {
        return dir.toAbsolutePath().normalize().equals(BUNDLED_DIRECTORY.toAbsolutePath().normalize());
    }

    /**
     * Returns the directory the files are read from.
     *
     * @return the directory
     */
    public Path getDirectory() {
        return directory;
    }

    /** {@inheritDoc} */
    @Override
    public void prepare(Progress progress) throws IOException {
        if (prepared) {
            return;
        }
        Path images = directory.resolve(split.imageFile());
        Path labelsFile = directory.resolve(split.labelFile());
        for (Path p : new Path[] {images, labelsFile}) {
            if (!Files.isRegularFile(p)) {
                throw new IOException(
                        "Fashion-MNIST file not found: " + p.toAbsolutePath()
                                + ". Install the Debian package 'dataset-fashion-mnist' (files under "
                                + SYSTEM_DIRECTORY + ") or point -D" + DIRECTORY_PROPERTY
                                + " at a directory holding the four IDX .gz files.");
            }
        }
        IdxFiles.Images img = IdxFiles.readImages(images);
        byte[] lab = IdxFiles.readLabels(labelsFile);
        if (lab.length != img.count()) {
            throw new IOException(
                    labelsFile + ": " + lab.length + " labels for " + img.count() + " images in "
                            + images);
        }
        float[] pixels = new float[img.pixels().length];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (img.pixels()[i] & 0xFF) / 255f; // unsigned bytes
        }
        float[] classes = new float[lab.length];
        for (int i = 0; i < lab.length; i++) {
            classes[i] = lab[i] & 0xFF;
        }
        NDArray x = manager.create(pixels, new Shape(img.count(), 1, img.rows(), img.cols()));
        NDArray y = manager.create(classes);
        data = new NDArray[] {x};
        labels = new NDArray[] {y};
        prepared = true;
    }

    /** Builds a {@link FashionMnistIdx}. */
    public static final class Builder extends BaseBuilder<Builder> {

        private Path directory;
        private Split split = Split.TRAIN;
        private NDManager manager;

        Builder() {}

        /** {@inheritDoc} */
        @Override
        protected Builder self() {
            return this;
        }

        /**
         * Reads from this directory instead of {@link #resolveDirectory()}.
         *
         * @param directory a directory with the IDX .gz files
         * @return this builder
         */
        public Builder optDirectory(Path directory) {
            this.directory = directory;
            return this;
        }

        /**
         * Chooses the training or the test files (default training).
         *
         * @param split the split
         * @return this builder
         */
        public Builder setSplit(Split split) {
            this.split = split;
            return this;
        }

        /**
         * Sets the manager that owns the data arrays (required; the caller closes it).
         *
         * @param manager the manager
         * @return this builder
         */
        public Builder setManager(NDManager manager) {
            this.manager = manager;
            return this;
        }

        /**
         * Builds the dataset; call {@code prepare()} before use.
         *
         * @return the dataset
         */
        public FashionMnistIdx build() {
            return new FashionMnistIdx(this);
        }
    }
}
