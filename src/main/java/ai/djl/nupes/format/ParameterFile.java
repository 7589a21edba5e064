package ai.djl.nupes.format;

import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * DJL's parameter file, layout version 1 (what {@code Model.load} reads): {@code "DJL@"}, int
 * version 1, UTF model name, UTF data type, int input count (0), int property count (0), then the
 * block tree's parameters. Written here rather than with {@code Model.save}, which needs input
 * descriptions a loaded model does not have and would move the caller's model directory.
 */
public final class ParameterFile {

    private static final byte[] MAGIC = "DJL@".getBytes(StandardCharsets.US_ASCII);
    private static final int VERSION = 1;

    private ParameterFile() {}

    /**
     * Writes a block tree's parameters.
     *
     * @param file the file
     * @param name the model name in the header
     * @param root the block tree
     * @throws IOException when writing fails
     */
    public static void write(Path file, String name, Block root) throws IOException {
        try (DataOutputStream dos = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file)))) {
            dos.write(MAGIC);
            dos.writeInt(VERSION);
            dos.writeUTF(name);
            dos.writeUTF(DataType.FLOAT32.name());
            dos.writeInt(0);
            dos.writeInt(0);
            root.saveParameters(dos);
        }
    }

    /**
     * Opens a parameter file written by {@link #write} and reads its header.
     *
     * @param file the file
     * @return a stream positioned at the first block's parameters
     * @throws IOException when the file is unreadable or its header is not this layout
     */
    public static DataInputStream open(Path file) throws IOException {
        DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file)));
        try {
            byte[] magic = in.readNBytes(MAGIC.length);
            int version = in.readInt();
            in.readUTF();
            in.readUTF();
            int inputs = in.readInt();
            int properties = in.readInt();
            if (!java.util.Arrays.equals(MAGIC, magic) || version != VERSION || inputs != 0 || properties != 0) {
                throw new IOException(file + ": not a parameter file of layout " + VERSION + " without inputs");
            }
            return in;
        } catch (IOException | RuntimeException e) {
            in.close();
            throw e;
        }
    }
}
