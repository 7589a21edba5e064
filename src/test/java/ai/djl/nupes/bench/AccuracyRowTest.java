package ai.djl.nupes.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

class AccuracyRowTest {

    private static AccuracyRow run(String method, double accuracy, double seconds) {
        return new AccuracyRow("cnn", method, 3, 32, accuracy, 0.921, 2000, seconds);
    }

    @Test
    void threeSeedsGiveTheMeanTheSampleStandardDeviationAndEachSeedsAccuracy() {
        AccuracyRow row = AccuracyRow.overSeeds(
                List.of(run("nupes", 0.9180, 40), run("nupes", 0.9190, 44), run("nupes", 0.9215, 42)));
        assertEquals(0.919500, row.accuracy(), 1e-12);
        // deviations -0.0015, -0.0005, +0.0020: sqrt((2.25 + 0.25 + 4) e-6 / 2)
        assertEquals(Math.sqrt(3.25e-6), row.accuracySd(), 1e-12);
        assertEquals(List.of(0.9180, 0.9190, 0.9215), row.accuracyBySeed());
        assertEquals(3, row.seeds());
        assertEquals(42.0, row.seconds(), 1e-12);
        assertEquals("91.95 ± 0.18 (91.80, 91.90, 92.15)", AccuracyBook.accuracyCell(row));
    }

    @Test
    void oneRunStaysAsItIsAndShowsNoSpread() {
        AccuracyRow single = run("gptq", 0.9160, 7);
        assertSame(single, AccuracyRow.overSeeds(List.of(single)));
        assertEquals("91.60", AccuracyBook.accuracyCell(single));
    }

    @Test
    void runsOfDifferentMeasurementsAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AccuracyRow.overSeeds(List.of(run("nupes", 0.91, 1), run("gptq", 0.92, 1))));
        assertTrue(e.getMessage().contains("different measurements"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> AccuracyRow.overSeeds(List.of()));
    }

    @Test
    void theSeedFieldsSurviveTheJsonFile(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path file = tmp.resolve("accuracy.json");
        AccuracyRow row = AccuracyRow.overSeeds(List.of(run("nupes", 0.90, 1), run("nupes", 0.92, 3)));
        AccuracyBook.merge(file, List.of(row));
        String json = Files.readString(file);
        assertTrue(json.contains("\"accuracy_by_seed\""), json);
        assertTrue(json.contains("\"accuracy_sd\""), json);
        AccuracyRow back = AccuracyBook.read(file).get(0);
        assertEquals(row, back);
    }
}
