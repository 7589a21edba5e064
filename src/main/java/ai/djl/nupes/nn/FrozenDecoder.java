package ai.djl.nupes.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Decodes a frozen layer's codes with a gather: {@code ŵ = table[row(c) + offset]}, where the
 * table holds every channel's decoded levels ({@link ai.djl.nupes.format.FrozenCodec#levelTable}).
 * {@link FrozenWeights.DecodeMode#CACHED} decodes once and keeps the float weights; {@link
 * FrozenWeights.DecodeMode#EACH_FORWARD} keeps one byte per weight and decodes at every forward.
 */
final class FrozenDecoder implements AutoCloseable {

    private final Shape shape;
    private NDArray table;
    private NDArray rowBase;
    private NDArray offsets;
    private NDArray decoded;

    FrozenDecoder(
            NDManager manager, long[] weightShape, int[] codeOffsets, float[] levelTable, int levels,
            FrozenWeights.DecodeMode mode) {
        this.shape = new Shape(weightShape);
        int channels = (int) weightShape[0];
        table = manager.create(levelTable);
        long[] rowShape = new long[weightShape.length];
        Arrays.fill(rowShape, 1);
        rowShape[0] = channels;
        long[] base = new long[channels];
        for (int c = 0; c < channels; c++) {
            base[c] = (long) c * levels;
        }
        rowBase = manager.create(base, new Shape(rowShape));
        byte[] small = new byte[codeOffsets.length];
        for (int i = 0; i < small.length; i++) {
            small[i] = (byte) codeOffsets[i];
        }
        offsets = manager.create(ByteBuffer.wrap(small), shape, DataType.UINT8);
        if (mode == FrozenWeights.DecodeMode.CACHED) {
            decoded = decode();
            offsets.close();
            offsets = null;
        }
    }

    /** ŵ = table[row(c) + offset]: a gather from the channel's row of decoded levels. */
    private NDArray decode() {
        NDArray index = offsets.toType(DataType.INT64, false).add(rowBase);
        return table.get(index.flatten()).reshape(shape);
    }

    /**
     * The decoded weights on a device: the cache, or a fresh decode that belongs to the forward
     * pass's manager.
     *
     * @param ps the forward pass's parameter store
     * @param device where the weights are needed
     * @return the weights
     */
    NDArray weights(ParameterStore ps, Device device) {
        if (decoded != null) {
            return LayerQuantizer.onDevice(decoded, device, ps);
        }
        NDArray w = decode();
        w.attach(ps.getManager());
        return LayerQuantizer.onDevice(w, device, ps);
    }

    /** Frees the decoder's arrays. */
    @Override
    public void close() {
        for (NDArray x : new NDArray[] {table, rowBase, offsets, decoded}) {
            if (x != null) {
                x.close();
            }
        }
        table = null;
        rowBase = null;
        offsets = null;
        decoded = null;
    }
}
