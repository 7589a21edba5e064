package ai.djl.nupes.data;

import ai.djl.nupes.format.Checksums;

import com.google.gson.GsonBuilder;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Writes the bundled Fashion-MNIST subsets: a seeded random choice of training images (for
 * calibration) and test images (for evaluation), in the same IDX .gz format, with {@code
 * subset.json} recording the seed, the chosen indices and the SHA-256 of every file.
 */
public final class SubsetBundler {

    /** Seed of the index choice. */
    public static final long SEED = 20240611L;
    /** Training images bundled for calibration. */
    public static final int TRAIN_COUNT = 2048;
    /** Test images bundled for evaluation. */
    public static final int TEST_COUNT = 2000;

    private SubsetBundler() {}

    /**
     * Writes both subsets.
     *
     * @param source the full data set directory
     * @param target the subset directory
     * @throws IOException on read or write failure
     */
    public static void bundle(Path source, Path target) throws IOException {
        Files.createDirectories(target);
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("source", "Fashion-MNIST (MIT license), Debian package dataset-fashion-mnist");
        record.put("seed", SEED);
        record.put("method", "java.util.Random(seed) partial Fisher-Yates over the source indices;"
                + " chosen indices sorted ascending");
        Random random = new Random(SEED);
        for (FashionMnistIdx.Split split : FashionMnistIdx.Split.values()) {
            int count = split == FashionMnistIdx.Split.TRAIN ? TRAIN_COUNT : TEST_COUNT;
            IdxFiles.Images images = IdxFiles.readImages(source.resolve(split.imageFile()));
            byte[] labels = IdxFiles.readLabels(source.resolve(split.labelFile()));
            int[] chosen = choose(images.count(), count, random);
            int size = images.rows() * images.cols();
            byte[] pixels = new byte[count * size];
            byte[] chosenLabels = new byte[count];
            for (int i = 0; i < count; i++) {
                System.arraycopy(images.pixels(), chosen[i] * size, pixels, i * size, size);
                chosenLabels[i] = labels[chosen[i]];
            }
            Path imageFile = target.resolve(split.imageFile());
            Path labelFile = target.resolve(split.labelFile());
            IdxFiles.writeImages(imageFile, new IdxFiles.Images(count, images.rows(), images.cols(), pixels));
            IdxFiles.writeLabels(labelFile, chosenLabels);
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("count", count);
            entry.put("source_count", images.count());
            entry.put("images_sha256", sha256(imageFile));
            entry.put("labels_sha256", sha256(labelFile));
            entry.put("indices", chosen);
            record.put(split.name().toLowerCase(java.util.Locale.ROOT), entry);
        }
        Files.writeString(
                target.resolve("subset.json"),
                new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(record) + '\n',
                StandardCharsets.UTF_8);
    }

    /**
     * SHA-256 of the decompressed content of a file (gzip headers carry a timestamp, so the digest
     * is taken over what the reader sees).
     *
     * @param file a .gz file
     * @return hex digest
     * @throws IOException on read failure
     */
    public static String sha256(Path file) throws IOException {
        try (java.io.InputStream in =
                new java.util.zip.GZIPInputStream(Files.newInputStream(file))) {
            return Checksums.sha256(in);
        }
    }

    private static int[] choose(int total, int count, Random random) {
        int[] all = new int[total];
        for (int i = 0; i < total; i++) {
            all[i] = i;
        }
        for (int i = 0; i < count; i++) {
            int j = i + random.nextInt(total - i);
            int t = all[i];
            all[i] = all[j];
            all[j] = t;
        }
        int[] chosen = Arrays.copyOf(all, count);
        Arrays.sort(chosen);
        return chosen;
    }
}
