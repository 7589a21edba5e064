package ai.djl.nupes.format;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 digests of files and byte arrays, as lowercase hex. */
public final class Checksums {

    private Checksums() {}

    /**
     * Digest of a byte array.
     *
     * @param bytes the bytes
     * @return hex SHA-256
     */
    public static String sha256(byte[] bytes) {
        MessageDigest md = newDigest();
        md.update(bytes);
        return HexFormat.of().formatHex(md.digest());
    }

    /**
     * Digest of everything a stream yields (the stream is read to its end, not closed).
     *
     * @param in the stream
     * @return hex SHA-256
     * @throws IOException on read failure
     */
    public static String sha256(InputStream in) throws IOException {
        MessageDigest md = newDigest();
        byte[] buf = new byte[1 << 16];
        for (int r; (r = in.read(buf)) > 0; ) {
            md.update(buf, 0, r);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /**
     * Digest of a file's bytes.
     *
     * @param file the file
     * @return hex SHA-256
     * @throws IOException on read failure
     */
    public static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return sha256(in);
        }
    }

    private static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
