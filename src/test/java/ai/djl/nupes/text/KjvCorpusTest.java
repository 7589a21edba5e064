package ai.djl.nupes.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class KjvCorpusTest {

    @Test
    void referencesAreDroppedAndWhitespaceCollapsed() {
        String out = "Ge1:1 In the beginning  God\tcreated\n"
                + "the heaven and the earth.\n"
                + "\n"
                + "1Jo1:1 That which was   from the beginning \n";
        assertEquals("In the beginning God created the heaven and the earth.\nThat which was from the beginning\n",
                KjvCorpus.versesText(out));
    }

    @Test
    void encodingIsAsciiBytes() {
        assertArrayEquals(new int[] {'A', ' ', '\n'}, KjvCorpus.encode("A \n", 128));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KjvCorpus.encode("caf\u00e9", 128));
        assertTrue(e.getMessage().contains("U+e9"), e.getMessage());
    }

    @Test
    void theSplitsAreContiguousBookRanges() {
        assertEquals("Gen1:1-Act28:31", KjvCorpus.Split.TRAIN.range());
        assertEquals("Rom1:1-Phm1:25", KjvCorpus.Split.VALIDATION.range());
        assertEquals("Heb1:1-Rev22:21", KjvCorpus.Split.TEST.range());
    }
}
