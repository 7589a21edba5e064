package ai.djl.nupes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.core.Linear;
import ai.djl.nupes.nn.QuantizedLayer;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

/** Padded positions of sequence inputs never enter a reconstruction loss or an input range. */
class PaddingMaskTest {

    private static final int N = 64;
    private static final int T = 6;
    private static final int H = 16;

    /** (N, T) mask: sample s has 2 + s % 5 tokens. */
    private static float[] mask() {
        float[] m = new float[N * T];
        for (int s = 0; s < N; s++) {
            for (int t = 0; t < 2 + s % 5; t++) {
                m[s * T + t] = 1f;
            }
        }
        return m;
    }

    /** Token values from one seed; padded positions hold {@code padding × N(0, 1)}. */
    private static NDList batch(NDManager manager, float padding) {
        Random tokens = new Random(4);
        Random pads = new Random(99);
        float[] m = mask();
        float[] x = new float[N * T * H];
        for (int i = 0; i < x.length; i++) {
            float token = (float) tokens.nextGaussian();
            float pad = (float) (pads.nextGaussian() * padding);
            x[i] = m[i / H] == 1f ? token : pad;
        }
        return new NDList(manager.create(x, new Shape(N, T, H)), manager.create(m, new Shape(N, T)));
    }

    private static List<Object> quantize(float padding, boolean declareMask) {
        try (Model model = Model.newInstance("sequence");
                NDManager manager = NDManager.newBaseManager()) {
            Block block = new MaskedLinear();
            block.initialize(manager, DataType.FLOAT32, new Shape(N, T, H), new Shape(N, T));
            SeededArrays.reinitialize(block, 8);
            model.setBlock(block);
            NupesConfig.Builder b = NupesConfig.builder().setBits(3).optActivationBits(8).optMethod(Method.NUPES)
                    .optIterations(40).optBatchSize(16).optCalibrationData(List.of(batch(manager, padding)));
            if (declareMask) {
                b.optPaddingMask(1);
            }
            QuantizedLayer layer = Nupes.quantize(model, b.build()).getLayers().get(0);
            return List.of(
                    layer.getQuantizer().getQuantizedWeights().getCodes(),
                    layer.getQuantizer().getQuantizedWeights().getMaxima(),
                    layer.getQuantizer().getInputQuantizer().scale());
        }
    }

    @Test
    void whatPaddedPositionsHoldChangesNothingOnceTheMaskIsDeclared() {
        List<Object> zeros = quantize(0f, true);
        List<Object> garbage = quantize(50f, true);
        assertArrayEquals((byte[]) zeros.get(0), (byte[]) garbage.get(0));
        assertArrayEquals((float[]) zeros.get(1), (float[]) garbage.get(1), 0f);
        assertEquals((float) zeros.get(2), (float) garbage.get(2), 0f);
        // without the mask the padding's garbage leaks into the input range and the loss
        List<Object> unmasked = quantize(50f, false);
        assertTrue((float) unmasked.get(2) > 3 * (float) zeros.get(2), "range " + unmasked.get(2) + " vs " + zeros.get(2));
        assertFalse(Arrays.equals((byte[]) zeros.get(0), (byte[]) unmasked.get(0)));
    }

    @Test
    void aMaskThatIsNotZerosAndOnesIsRefusedNamingTheInput() {
        try (Model model = Model.newInstance("sequence");
                NDManager manager = NDManager.newBaseManager()) {
            Block block = new MaskedLinear();
            block.initialize(manager, DataType.FLOAT32, new Shape(N, T, H), new Shape(N, T));
            model.setBlock(block);
            NupesConfig config = NupesConfig.builder().optMethod(Method.NUPES).optPaddingMask(0)
                    .optCalibrationData(List.of(batch(manager, 0f))).build();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Nupes.quantize(model, config));
            assertTrue(e.getMessage().contains("padding mask: input 0"), e.getMessage());
        }
    }

    /** Applies a Linear to input 0; input 1 is the mask, read by nothing here. */
    private static final class MaskedLinear extends AbstractBlock {
        MaskedLinear() {
            addChildBlock("linear", Linear.builder().setUnits(8).build());
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> p) {
            NDArray x = inputs.get(0);
            return getChildren().get(0).getValue().forward(ps, new NDList(x), training);
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputs) {
            return new Shape[] {new Shape(inputs[0].get(0), inputs[0].get(1), 8)};
        }

        @Override
        protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
            getChildren().get(0).getValue().initialize(manager, dataType, inputShapes[0]);
        }
    }
}
