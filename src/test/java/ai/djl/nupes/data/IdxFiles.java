package ai.djl.nupes.data;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * Reads and writes the IDX format of (Fashion-)MNIST, gzip-compressed: a big-endian magic number
 * ({@code 0x00000803} for images, {@code 0x00000801} for labels), the dimension sizes as big-endian
 * ints, then unsigned bytes.
 */
public final class IdxFiles {

    /** Magic number of an image file (unsigned byte, 3 dimensions). */
    public static final int IMAGE_MAGIC = 0x00000803;
    /** Magic number of a label file (unsigned byte, 1 dimension). */
    public static final int LABEL_MAGIC = 0x00000801;

    private IdxFiles() {}

    /**
     * The raw content of an IDX image file.
     *
     * @param count number of images
     * @param rows rows per image
     * @param cols columns per image
     * @param pixels {@code count·rows·cols} unsigned bytes
     */
    public record Images(int count, int rows, int cols, byte[] pixels) {}

    /**
     * Reads a gzip IDX image file.
     *
     * @param file the file
     * @return the images
     * @throws IOException when the file is missing, truncated or not an image file (the message
     *     names the file)
     */
    public static Images readImages(Path file) throws IOException {
        try (DataInputStream in = open(file)) {
            checkMagic(file, in.readInt(), IMAGE_MAGIC);
            int count = in.readInt();
            int rows = in.readInt();
            int cols = in.readInt();
            byte[] pixels = new byte[Math.multiplyExact(Math.multiplyExact(count, rows), cols)];
            readFully(file, in, pixels);
            return new Images(count, rows, cols, pixels);
        }
    }

    /**
     * Reads a gzip IDX label file.
     *
     * @param file the file
     * @return the labels as unsigned bytes
     * @throws IOException when the file is missing, truncated or not a label file
     */
    public static byte[] readLabels(Path file) throws IOException {
        try (DataInputStream in = open(file)) {
            checkMagic(file, in.readInt(), LABEL_MAGIC);
            byte[] labels = new byte[in.readInt()];
            readFully(file, in, labels);
            return labels;
        }
    }

    /**
     * Writes a gzip IDX image file.
     *
     * @param file the file
     * @param images the images
     * @throws IOException on write failure
     */
    public static void writeImages(Path file, Images images) throws IOException {
        try (DataOutputStream out = create(file)) {
            out.writeInt(IMAGE_MAGIC);
            out.writeInt(images.count());
            out.writeInt(images.rows());
            out.writeInt(images.cols());
            out.write(images.pixels());
        }
    }

    /**
     * Writes a gzip IDX label file.
     *
     * @param file the file
     * @param labels the labels
     * @throws IOException on write failure
     */
    public static void writeLabels(Path file, byte[] labels) throws IOException {
        try (DataOutputStream out = create(file)) {
            out.writeInt(LABEL_MAGIC);
            out.writeInt(labels.length);
            out.write(labels);
        }
    }

    private static DataInputStream open(Path file) throws IOException {
        InputStream raw = Files.newInputStream(file);
        return new DataInputStream(new BufferedInputStream(new GZIPInputStream(raw, 1 << 16)));
    }

    private static DataOutputStream create(Path file) throws IOException {
        OutputStream raw = Files.newOutputStream(file);
        return new DataOutputStream(new BufferedOutputStream(new GZIPOutputStream(raw, 1 << 16)));
    }

    private static void checkMagic(Path file, int magic, int expected) throws IOException {
        if (magic != expected) {
            throw new IOException(
                    String.format(
                            "%s: IDX magic 0x%08x, expected 0x%08x", file, magic, expected));
        }
    }

    private static void readFully(Path file, DataInputStream in, byte[] target) throws IOException {
        try {
            in.readFully(target);
        } catch (EOFException e) {
            throw new IOException(file + ": truncated IDX file", e);
        }
    }
}
