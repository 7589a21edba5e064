package ai.djl.nupes.models;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class CharNgramBaselineTest {

    @Test
    void unigramIsAddOneSmoothedCounts() {
        // train "aab" over V = 3: p(a) = 3/6, p(b) = 2/6, p(c) = 1/6
        CharNgramBaseline u = CharNgramBaseline.unigram(new int[] {0, 0, 1}, 3);
        int[] test = {2, 0, 1};
        double ce = -(Math.log(3.0 / 6) + Math.log(2.0 / 6)) / 2;
        assertEquals(ce, u.crossEntropy(test), 1e-12);
        assertEquals(Math.exp(ce), u.perplexity(test), 1e-12);
        assertEquals(ce / Math.log(2), u.bitsPerCharacter(test), 1e-12);
    }

    @Test
    void bigramConditionsOnThePreviousCharacter() {
        // train "abab" over V = 2: pairs ab x2, ba x1; p(b|a) = 3/4, p(a|a) = 1/4, p(a|b) = 2/3, p(b|b) = 1/3
        CharNgramBaseline b = CharNgramBaseline.bigram(new int[] {0, 1, 0, 1}, 2);
        int[] test = {0, 1, 1, 0};
        double ce = -(Math.log(3.0 / 4) + Math.log(1.0 / 3) + Math.log(2.0 / 3)) / 3;
        assertEquals(ce, b.crossEntropy(test), 1e-12);
        assertEquals(Math.exp(ce), b.perplexity(test), 1e-12);
    }

    @Test
    void aUniformTextHasPerplexityOfItsAlphabet() {
        int[] text = new int[4000];
        for (int i = 0; i < text.length; i++) {
            text[i] = i % 4;
        }
        assertEquals(4008.0 / 1001, CharNgramBaseline.unigram(text, 8).perplexity(text), 0.02);
        assertEquals(1.0, CharNgramBaseline.bigram(text, 8).perplexity(text), 0.01, "the next id is determined");
    }
}
