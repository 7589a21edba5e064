package ai.djl.nupes.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.nupes.text.TextSlices.WordNetNoun;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TextSlicesTest {

    private static final Pattern REFERENCE = Pattern.compile("[1-3]?[A-Z][a-z]*\\d+:\\d+ ");

    @Test
    void countsAndLines() {
        List<String> calibration = TextSlices.kjvCalibration();
        List<String> evaluation = TextSlices.kjvEvaluation();
        List<WordNetNoun> nouns = TextSlices.wordNetNouns();
        assertEquals(1024, calibration.size());
        assertEquals(2000, evaluation.size());
        assertEquals(3000, nouns.size());
        assertEquals(1024, TextSlices.kjvCalibrationRefs().size());
        assertEquals(2000, TextSlices.kjvEvaluationRefs().size());
        for (List<String> lines : List.of(calibration, evaluation)) {
            for (String line : lines) {
                assertFalse(line.isBlank(), "empty verse");
                assertEquals(line.strip(), line, "untrimmed verse: " + line);
                assertFalse(REFERENCE.matcher(line).lookingAt(), "reference left in: " + line);
            }
        }
        for (WordNetNoun n : nouns) {
            assertTrue(n.offset().matches("\\d{8}"), n.toString());
            assertFalse(n.lemma().isBlank(), n.toString());
            assertFalse(n.gloss().isBlank(), n.toString());
            assertTrue(n.lemma().split(" ").length <= 3, n.toString());
            assertTrue(n.gloss().split("\\s+").length >= 3, n.toString());
            assertFalse(n.gloss().contains("; \""), "example left in: " + n);
        }
    }

    @Test
    void referencesAreDistinctAndInRange() {
        List<String> cal = TextSlices.kjvCalibrationRefs();
        List<String> eval = TextSlices.kjvEvaluationRefs();
        assertEquals(cal.size(), Set.copyOf(cal).size());
        assertEquals(eval.size(), Set.copyOf(eval).size());
        Set<String> pentateuch = Set.of("Ge", "Exo", "Lev", "Num", "Deu");
        for (String ref : cal) {
            assertTrue(pentateuch.contains(ref.replaceAll("\\d+:\\d+$", "")), ref);
        }
        for (String ref : eval) {
            assertFalse(pentateuch.contains(ref.replaceAll("\\d+:\\d+$", "")), ref);
        }
        // spot checks of the drawn order (seeds 15 and 16) and of text/reference alignment
        assertEquals("Lev15:17", cal.get(0));
        assertTrue(TextSlices.kjvCalibration().get(0).startsWith("And every garment, and every"));
        assertEquals("Heb6:4", eval.get(0));
        assertTrue(TextSlices.kjvEvaluation().get(0).startsWith("For it is impossible for those"));
    }

    @Test
    void lemmasAreUnique() {
        Set<String> seen = new HashSet<>();
        Set<String> offsets = new HashSet<>();
        for (WordNetNoun n : TextSlices.wordNetNouns()) {
            String lemma = n.lemma().toLowerCase(Locale.ROOT);
            assertTrue(seen.add(lemma), "duplicate lemma " + n.lemma());
            assertTrue(offsets.add(n.offset()), "duplicate offset " + n.offset());
        }
    }

    @Test
    void everyListedFileMatchesItsChecksum() {
        // calibration/evaluation .txt and .refs, nouns.tsv, LICENSE
        assertEquals(6, TextSlices.verifyAll(TextSlices.DEFAULT_BASE));
        assertTrue(Files.isRegularFile(TextSlices.DEFAULT_BASE.resolve("wordnet/LICENSE")));
    }

    @Test
    void flippedByteIsRefusedNamingTheFile(@TempDir Path tmp) throws IOException {
        Path base = copyOfData(tmp);
        assertEquals(1024, TextSlices.kjvCalibration(base).size()); // the intact copy reads
        flipByte(base.resolve("kjv/calibration.txt"), 100);
        assertRefused(TextSlices::kjvCalibration, base, "calibration.txt");
        assertEquals(2000, TextSlices.kjvEvaluation(base).size()); // the others still read

        flipByte(base.resolve("wordnet/nouns.tsv"), 7);
        assertRefused(TextSlices::wordNetNouns, base, "nouns.tsv");

        Path fresh = copyOfData(tmp.resolve("fresh"));
        assertEquals(6, TextSlices.verifyAll(fresh));
        flipByte(fresh.resolve("wordnet/LICENSE"), 0);
        assertRefused(TextSlices::verifyAll, fresh, "LICENSE");
    }

    @Test
    void missingFilesAreRefusedNamingTheFile(@TempDir Path tmp) throws IOException {
        Path base = copyOfData(tmp);
        Files.delete(base.resolve("kjv/evaluation.txt"));
        assertRefused(TextSlices::kjvEvaluation, base, "evaluation.txt");
        Files.delete(base.resolve("wordnet/provenance.json"));
        assertRefused(TextSlices::wordNetNouns, base, "provenance.json");
        assertRefused(TextSlices::kjvCalibration, tmp.resolve("nowhere"), "provenance.json");
    }

    private static void assertRefused(Function<Path, ?> read, Path base, String name) {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> read.apply(base));
        String message = e.getMessage();
        assertTrue(message.contains(name), "message should name " + name + ": " + message);
    }

    private static void flipByte(Path file, int at) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        bytes[at] ^= 0x01;
        Files.write(file, bytes);
    }

    private static Path copyOfData(Path tmp) throws IOException {
        Path base = tmp.resolve("data");
        for (String sub : List.of(TextSlices.KJV, TextSlices.WORDNET)) {
            Path from = TextSlices.DEFAULT_BASE.resolve(sub);
            Path to = Files.createDirectories(base.resolve(sub));
            try (Stream<Path> files = Files.list(from)) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    Files.copy(f, to.resolve(f.getFileName()));
                }
            }
        }
        return base;
    }
}
