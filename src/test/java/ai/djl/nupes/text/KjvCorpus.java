package ai.djl.nupes.text;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The full King James Version text for training the {@code lm} test model, read from Debian's
 * {@code bible-kjv} package exactly as {@code test-models/data/make-text-slices.py} reads it:
 * {@code bible -f <range>} (LC_ALL=C, stdin /dev/null) prints one verse a line as {@code
 * <Book><chapter>:<verse> <text>}; the reference is dropped, whitespace runs become one space, and
 * each verse's text is followed by one {@code '\n'}. Only the trainer needs the package; tests and
 * benches read the slices shipped in {@code test-models/lm/}.
 */
public final class KjvCorpus {

    /** The three contiguous ranges, by book. */
    public enum Split {
        /** Genesis to Acts: the Old Testament, the Gospels and Acts. */
        TRAIN("Gen1:1-Act28:31"),
        /** Romans to Philemon: the Pauline epistles. */
        VALIDATION("Rom1:1-Phm1:25"),
        /** Hebrews to Revelation. */
        TEST("Heb1:1-Rev22:21");

        private final String range;

        Split(String range) {
            this.range = range;
        }

        /**
         * The {@code bible -f} range.
         *
         * @return e.g. {@code Heb1:1-Rev22:21}
         */
        public String range() {
            return range;
        }
    }

    /** The Debian package's data file (recorded by checksum in provenance). */
    public static final String DATA_FILE = "/usr/lib/bible.data";

    private static final Pattern VERSE = Pattern.compile("^(\\S+\\d+:\\d+) (.*)$");

    private KjvCorpus() {}

    /**
     * Reads one split's text.
     *
     * @param split which range
     * @return the verses' texts, each followed by {@code '\n'}
     * @throws IOException when {@code bible} is missing or fails (the message says how to install
     *     it)
     */
    public static String read(Split split) throws IOException {
        return read(split.range());
    }

    /**
     * Reads any {@code bible -f} range.
     *
     * @param range e.g. {@code Gen1:1-Gen1:31}
     * @return the verses' texts, each followed by {@code '\n'}
     * @throws IOException when {@code bible} is missing or fails
     */
    public static String read(String range) throws IOException {
        ProcessBuilder pb = new ProcessBuilder("bible", "-f", range);
        pb.environment().remove("COLUMNS");
        pb.environment().remove("LINES");
        pb.environment().put("LC_ALL", "C");
        pb.redirectInput(new File("/dev/null"));
        pb.redirectErrorStream(true);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new IOException(
                    "the lm corpus needs Debian's bible-kjv package (apt-get install -y bible-kjv): "
                            + e.getMessage(),
                    e);
        }
        byte[] out;
        try (InputStream in = p.getInputStream()) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            in.transferTo(buf);
            out = buf.toByteArray();
        }
        try {
            int rc = p.waitFor();
            if (rc != 0) {
                throw new IOException("bible -f " + range + " exited with " + rc);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted reading " + range, e);
        }
        return versesText(new String(out, StandardCharsets.US_ASCII));
    }

    /**
     * Turns {@code bible -f} output into the corpus text: references dropped, a line without one
     * appended to the previous verse, whitespace collapsed, one {@code '\n'} after each verse.
     *
     * @param output the command's output
     * @return the text
     */
    public static String versesText(String output) {
        List<StringBuilder> verses = new ArrayList<>();
        for (String line : output.split("\n", -1)) {
            if (line.isBlank()) {
                continue;
            }
            Matcher m = VERSE.matcher(line);
            if (m.matches()) {
                verses.add(new StringBuilder(m.group(2)));
            } else if (!verses.isEmpty()) {
                verses.get(verses.size() - 1).append(' ').append(line);
            } else {
                throw new IllegalArgumentException("first line has no verse reference: " + line);
            }
        }
        StringBuilder text = new StringBuilder();
        for (StringBuilder v : verses) {
            text.append(v.toString().replaceAll("\\s+", " ").trim()).append('\n');
        }
        return text.toString();
    }

    /**
     * Encodes ASCII text as byte ids.
     *
     * @param text the text
     * @param vocab ids must be below it (128 for ASCII)
     * @return one id per character
     * @throws IllegalArgumentException naming the first character outside the vocabulary
     */
    public static int[] encode(String text, int vocab) {
        int[] ids = new int[text.length()];
        for (int i = 0; i < ids.length; i++) {
            char c = text.charAt(i);
            if (c >= vocab) {
                throw new IllegalArgumentException(
                        "character U+" + Integer.toHexString(c) + " at " + i + " is outside the "
                                + vocab + "-symbol vocabulary");
            }
            ids[i] = c;
        }
        return ids;
    }
}
