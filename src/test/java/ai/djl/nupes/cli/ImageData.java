package ai.djl.nupes.cli;

import ai.djl.basicdataset.cv.classification.ImageFolder;
import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.ImageFactory;
import ai.djl.modality.cv.util.NDImageUtils;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nupes.data.FashionMnistIdx;
import ai.djl.nupes.data.IdxFiles;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.dataset.Batch;
import ai.djl.training.dataset.Record;
import ai.djl.translate.TranslateException;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import javax.imageio.ImageIO;

/**
 * Images for calibration and evaluation, {@code (N, C, H, W)} float32 in [0, 1], with class labels
 * when the source has them. A source is one of:
 *
 * <ul>
 *   <li>{@code bundled} (or {@code fashion-mnist-subset}): the bundled Fashion-MNIST subset;
 *   <li>a directory with Fashion-MNIST IDX files ({@code train-images-idx3-ubyte.gz}, ...), read by
 *       {@link FashionMnistIdx};
 *   <li>one IDX image file ({@code *-images-idx3-ubyte.gz}), labelled when the matching {@code
 *       *-labels-idx1-ubyte.gz} lies beside it;
 *   <li>a folder of images with one subfolder per class, read by DJL's {@link ImageFolder}: the
 *       labels are the subfolder names when they are all whole numbers (0..9 for Fashion-MNIST),
 *       else their positions in sorted order;
 *   <li>a folder of images without subfolders: unlabelled.
 * </ul>
 *
 * <p>Every image file is checked before loading: a file that is not an image, or whose size or
 * channel count differs from the sample shape (from {@code --input-shape}, else the first image), is
 * refused naming the file. The images of a folder are ordered by label and content, not by the file
 * system's listing, so a seed means the same batches on every copy of the folder.
 */
final class ImageData {

    /** The name of the bundled Fashion-MNIST subset as a source. */
    static final String BUNDLED = "bundled";

    private static final Set<String> IMAGE_EXTENSIONS = Set.of(".png", ".jpg", ".jpeg", ".bmp", ".gif", ".wbmp");

    private final NDArray images;
    private final NDArray labels;
    private final String description;

    private ImageData(NDArray images, NDArray labels, String description) {
        this.images = images;
        this.labels = labels;
        this.description = description;
    }

    /**
     * Whether a source names the bundled subset.
     *
     * @param source the source text, or null
     * @return true for null, {@code bundled} and {@code fashion-mnist-subset}
     */
    static boolean isBundled(String source) {
        return source == null || source.equals(BUNDLED) || source.equals("fashion-mnist-subset");
    }

    /**
     * Whether a source is a directory of IDX files (or the bundled subset) with the given split.
     *
     * @param source the source
     * @param split the split
     * @return true when that split's image file is there
     */
    static boolean hasIdxSplit(String source, FashionMnistIdx.Split split) {
        Path dir = isBundled(source) ? FashionMnistIdx.BUNDLED_DIRECTORY : Paths.get(source);
        return Files.isRegularFile(dir.resolve(split.imageFile()));
    }

    /**
     * Reads a source.
     *
     * @param manager owns the arrays
     * @param source the source (see the class comment); null for the bundled subset
     * @param sampleShape the shape of one sample without the batch axis, or null to take it from the
     *     data
     * @param split which split of an IDX directory
     * @param option the option that named the source, for messages ({@code --calibration})
     * @return the images
     * @throws IOException when a file cannot be read
     * @throws NupesCli.BadInput when the source is missing, empty or holds an image that does not fit
     */
    static ImageData load(NDManager manager, String source, Shape sampleShape, FashionMnistIdx.Split split,
            String option) throws IOException {
        ImageData data;
        if (isBundled(source)) {
            data = idxDirectory(manager, FashionMnistIdx.BUNDLED_DIRECTORY, split,
                    "the bundled Fashion-MNIST subset " + FashionMnistIdx.BUNDLED_DIRECTORY);
        } else {
            Path path = Paths.get(source);
            if (!Files.exists(path)) {
                throw new NupesCli.BadInput(option + ": " + path.toAbsolutePath() + " does not exist; expected a"
                        + " folder of images (one subfolder per class), a Fashion-MNIST IDX directory or"
                        + " *-images-idx3-ubyte.gz file, or '" + BUNDLED + "'");
            }
            if (Files.isRegularFile(path)) {
                data = idxFile(manager, path, option);
            } else if (Files.isRegularFile(path.resolve(split.imageFile()))) {
                data = idxDirectory(manager, path, split, "IDX files in " + path);
            } else {
                data = imageFolder(manager, path, sampleShape, option);
            }
        }
        if (sampleShape != null && !data.sampleShape().equals(sampleShape)) {
            throw new NupesCli.BadInput(option + ": " + data.description + " holds samples of shape "
                    + data.sampleShape() + ", not the " + sampleShape + " that --input-shape names");
        }
        return data;
    }

    /**
     * Returns the images.
     *
     * @return {@code (N, C, H, W)} float32
     */
    NDArray images() {
        return images;
    }

    /**
     * Returns the labels.
     *
     * @return {@code (N)} float32 class indices, or null when the source has none
     */
    NDArray labels() {
        return labels;
    }

    /**
     * Says where the images came from and how many there are.
     *
     * @return a sentence part, such as {@code 40 images (1, 28, 28) in 10 classes from image folder X}
     */
    String description() {
        return size() + " images " + sampleShape() + (labels == null ? ", unlabelled," : ", labelled,")
                + " from " + description;
    }

    long size() {
        return images.getShape().get(0);
    }

    Shape sampleShape() {
        return images.getShape().slice(1);
    }

    /**
     * The images (and labels) as a dataset in sequential batches.
     *
     * @param batchSize the batch size
     * @return the dataset
     */
    ArrayDataset dataset(int batchSize) {
        ArrayDataset.Builder b = new ArrayDataset.Builder().setData(images).setSampling(batchSize, false);
        if (labels != null) {
            b.optLabels(labels);
        }
        return b.build();
    }

    private static ImageData idxDirectory(NDManager manager, Path dir, FashionMnistIdx.Split split, String what)
            throws IOException {
        FashionMnistIdx ds = FashionMnistIdx.prepared(manager, dir, split, FashionMnistIdx.CALIBRATION_BATCH);
        Batch all = ds.getByRange(manager, 0, ds.size());
        return new ImageData(all.getData().head(), all.getLabels().head(),
                what + " (" + split.name().toLowerCase(Locale.ROOT) + " split)");
    }

    private static ImageData idxFile(NDManager manager, Path file, String option) throws IOException {
        String name = file.getFileName().toString();
        if (!name.endsWith("-images-idx3-ubyte.gz")) {
            throw new NupesCli.BadInput(option + ": " + file.toAbsolutePath() + " is not an IDX image file"
                    + " (*-images-idx3-ubyte.gz) nor a folder");
        }
        IdxFiles.Images img = IdxFiles.readImages(file);
        float[] pixels = new float[img.pixels().length];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (img.pixels()[i] & 0xFF) / 255f;
        }
        NDArray x = manager.create(pixels, new Shape(img.count(), 1, img.rows(), img.cols()));
        Path labelFile = file.resolveSibling(name.replace("-images-idx3-ubyte.gz", "-labels-idx1-ubyte.gz"));
        NDArray y = null;
        if (Files.isRegularFile(labelFile)) {
            byte[] lab = IdxFiles.readLabels(labelFile);
            if (lab.length != img.count()) {
                throw new NupesCli.BadInput(labelFile + ": " + lab.length + " labels for " + img.count()
                        + " images in " + file);
            }
            float[] classes = new float[lab.length];
            for (int i = 0; i < lab.length; i++) {
                classes[i] = lab[i] & 0xFF;
            }
            y = manager.create(classes);
        }
        return new ImageData(x, y, "IDX file " + file);
    }

    private static ImageData imageFolder(NDManager manager, Path dir, Shape sampleShape, String option)
            throws IOException {
        List<Path> classDirs;
        List<Path> loose;
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> entries = s.filter(p -> !p.getFileName().toString().startsWith(".")).sorted()
                    .collect(Collectors.toList());
            classDirs = entries.stream().filter(Files::isDirectory).collect(Collectors.toList());
            loose = entries.stream().filter(ImageData::isImageFile).collect(Collectors.toList());
        }
        List<Path> files = new ArrayList<>();
        if (classDirs.isEmpty()) {
            files.addAll(loose);
        } else {
            for (Path c : classDirs) {
                try (Stream<Path> s = Files.list(c)) {
                    s.filter(ImageData::isImageFile).sorted().forEach(files::add);
                }
            }
        }
        if (files.isEmpty()) {
            throw new NupesCli.BadInput(option + ": " + dir.toAbsolutePath() + " holds no images ("
                    + String.join(", ", new java.util.TreeSet<>(IMAGE_EXTENSIONS)) + ")"
                    + (classDirs.isEmpty() ? "" : " in its class subfolders " + names(classDirs)));
        }
        Shape shape = sampleShape == null ? null : checkShape(sampleShape);
        for (Path f : files) {
            Shape found = readShape(f, option);
            if (shape == null) {
                shape = found;
            } else if (!found.equals(shape)) {
                throw new NupesCli.BadInput(option + ": " + f.toAbsolutePath() + " is " + describe(found)
                        + ", but the model takes " + describe(shape)
                        + (sampleShape == null ? " (the size of the first image, " + files.get(0) + ")"
                                : " (--input-shape " + shapeText(shape) + ")")
                        + "; every image must have that size and channel count");
            }
        }
        Image.Flag flag = shape.get(0) == 1 ? Image.Flag.GRAYSCALE : Image.Flag.COLOR;
        if (classDirs.isEmpty()) {
            List<NDArray> list = new ArrayList<>();
            for (Path f : files) {
                NDArray hwc = ImageFactory.getInstance().fromFile(f).toNDArray(manager, flag);
                list.add(NDImageUtils.toTensor(hwc));
            }
            NDArray x = NDArrays.stack(new NDList(list));
            return new ImageData(x, null, "image folder " + dir + " (no class subfolders)");
        }
        return labelledFolder(manager, dir, flag, files.size(), option);
    }

    /** Reads a folder of class subfolders through DJL's ImageFolder and orders it by label and content. */
    private static ImageData labelledFolder(NDManager manager, Path dir, Image.Flag flag, int expected, String option)
            throws IOException {
        ImageFolder folder = ImageFolder.builder().setRepositoryPath(dir).optFlag(flag).setSampling(1, false).build();
        List<String> synset;
        try {
            folder.prepare();
            synset = folder.getSynset();
        } catch (TranslateException e) {
            throw new IOException(dir + ": " + e.getMessage(), e);
        }
        if (folder.size() != expected) {
            throw new NupesCli.BadInput(option + ": ImageFolder lists " + folder.size() + " images in " + dir
                    + " where " + expected + " image files were found");
        }
        int[] classOf = new int[synset.size()];
        boolean numeric = synset.stream().allMatch(n -> n.matches("\\d{1,6}"));
        for (int i = 0; i < classOf.length; i++) {
            classOf[i] = numeric ? Integer.parseInt(synset.get(i)) : i;
        }
        int n = Math.toIntExact(folder.size());
        float[][] pixels = new float[n][];
        int[] label = new int[n];
        Shape sample = null;
        for (int i = 0; i < n; i++) {
            try (NDManager step = manager.newSubManager()) {
                Record r = folder.get(step, i);
                // get() returns the HWC bytes; the dataset's ToTensor pipeline applies to batches only
                NDArray x = NDImageUtils.toTensor(r.getData().head());
                sample = x.getShape();
                pixels[i] = x.toType(DataType.FLOAT32, false).toFloatArray();
                label[i] = classOf[(int) r.getLabels().head().getLong()];
            }
        }
        Integer[] order = new Integer[n];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, Comparator.<Integer>comparingInt(i -> label[i]).thenComparing((a, b) -> Arrays.compare(pixels[a], pixels[b])));
        long per = sample.size();
        float[] flat = new float[Math.toIntExact(n * per)];
        float[] classes = new float[n];
        for (int k = 0; k < n; k++) {
            System.arraycopy(pixels[order[k]], 0, flat, (int) (k * per), (int) per);
            classes[k] = label[order[k]];
        }
        NDArray x = manager.create(flat, new Shape(n).addAll(sample));
        NDArray y = manager.create(classes);
        String named = numeric ? "labels from their names" : "labels " + labelsText(synset);
        return new ImageData(x, y, "image folder " + dir + " (" + synset.size() + " class subfolders, " + named + ")");
    }

    private static String labelsText(List<String> synset) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < synset.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(synset.get(i)).append('=').append(i);
        }
        return sb.toString();
    }

    private static Shape checkShape(Shape s) {
        if (s.dimension() != 3 || (s.get(0) != 1 && s.get(0) != 3)) {
            throw new NupesCli.BadInput("--input-shape " + shapeText(s) + " does not describe an image; images"
                    + " take channels,height,width with 1 (grayscale) or 3 (colour) channels, as 1,28,28");
        }
        return s;
    }

    /** The (channels, height, width) of an image file, or a refusal naming it. */
    private static Shape readShape(Path f, String option) {
        BufferedImage img;
        try {
            img = ImageIO.read(f.toFile());
        } catch (IOException | RuntimeException e) {
            throw new NupesCli.BadInput(option + ": " + f.toAbsolutePath() + " is not a readable image: " + e.getMessage());
        }
        if (img == null) {
            throw new NupesCli.BadInput(option + ": " + f.toAbsolutePath() + " is not a readable image");
        }
        int channels = img.getColorModel().getNumColorComponents();
        return new Shape(channels, img.getHeight(), img.getWidth());
    }

    private static String describe(Shape chw) {
        return chw.get(2) + "x" + chw.get(1) + " with " + chw.get(0) + (chw.get(0) == 1 ? " channel" : " channels");
    }

    static String shapeText(Shape s) {
        return Arrays.stream(s.getShape()).mapToObj(Long::toString).collect(Collectors.joining(","));
    }

    private static String names(List<Path> dirs) {
        return dirs.stream().map(p -> p.getFileName().toString()).collect(Collectors.joining(", "));
    }

    private static boolean isImageFile(Path p) {
        String name = p.getFileName().toString().toLowerCase(Locale.ROOT);
        int dot = name.lastIndexOf('.');
        return Files.isRegularFile(p) && !name.startsWith(".") && dot >= 0
                && IMAGE_EXTENSIONS.contains(name.substring(dot));
    }
}
