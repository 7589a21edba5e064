package ai.djl.nupes.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nupes.format.FrozenCodec;
import ai.djl.nupes.quantizer.QuantizerSpec;
import ai.djl.training.ParameterStore;

import java.nio.ByteBuffer;

/**
 * Decodes a frozen layer's codes with a gather: {@code ŵ = table[row(c, p) + offset]}, where the
 * table holds every scale group's decoded levels ({@link ai.djl.nupes.format.FrozenCodec#levelTable}).
 * {@link FrozenWeights.DecodeMode#CACHED} decodes once and keeps the float weights; {@link
 * FrozenWeights.DecodeMode#EACH_FORWARD} keeps one byte per weight and decodes at every forward.
 */
final class FrozenDecoder implements AutoCloseable {

    private final Shape shape;
    private final Shape flat;
    private NDArray table;
    private NDArray channelRows;
    private NDArray positionRows;
    private NDArray offsets;
    private NDArray decoded;

    FrozenDecoder(
            NDManager manager, long[] weightShape, QuantizerSpec spec, int[] codeOffsets, float[] levelTable,
            FrozenWeights.DecodeMode mode) {
        this.shape = new Shape(weightShape);
        int channels = (int) weightShape[0];
        int perChannel = codeOffsets.length / channels;
        int g = spec.groupLength(perChannel);
        int groups = spec.groupsPerChannel(perChannel);
        int levels = FrozenCodec.levels(spec);
        this.flat = new Shape(channels, perChannel);
        table = manager.create(levelTable);
        // row of weight (c, p) in the table: (c·G + p/g)·L = channel part + position part
        long[] channelPart = new long[channels];
        for (int c = 0; c < channels; c++) {
            channelPart[c] = (long) c * groups * levels;
        }
        channelRows = manager.create(channelPart, new Shape(channels, 1));
        long[] positionPart = new long[perChannel];
        for (int p = 0; p < perChannel; p++) {
            positionPart[p] = (long) (p / g) * levels;
        }
        positionRows = manager.create(positionPart, new Shape(1, perChannel));
        byte[] small = new byte[codeOffsets.length];
        for (int i = 0; i < small.length; i++) {
            small[i] = (byte) codeOffsets[i];
        }
        offsets = manager.create(ByteBuffer.wrap(small), flat, DataType.UINT8);
        if (mode == FrozenWeights.DecodeMode.CACHED) {
            decoded = decode();
            // only decoding needs the codes and the row offsets
            for (NDArray x : new NDArray[] {offsets, channelRows, positionRows, table}) {
                x.close();
            }
            offsets = null;
            channelRows = null;
            positionRows = null;
            table = null;
        }
    }

    /** ŵ = table[row(c, p) + offset]: a gather from the group's row of decoded levels. */
    private NDArray decode() {
        NDArray index = offsets.toType(DataType.INT64, false).add(channelRows).add(positionRows);
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
        for (NDArray x : new NDArray[] {table, channelRows, positionRows, offsets, decoded}) {
            if (x != null) {
                x.close();
            }
        }
        table = null;
        channelRows = null;
        positionRows = null;
        offsets = null;
        decoded = null;
    }
}
