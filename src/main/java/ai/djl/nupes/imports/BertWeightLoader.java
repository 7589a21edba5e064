package ai.djl.nupes.imports;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Map;

/**
 * Puts a checkpoint's tensors into a freshly built {@link BertEncoder} and initializes it.
 *
 * <p>Each tensor is copied once, straight into the native-order buffer that becomes the engine
 * array; linear weights stored (in, out) are transposed to DJL's (out, in) on the way.
 */
final class BertWeightLoader {

    private BertWeightLoader() {}

    /**
     * Loads the weights.
     *
     * @param encoder an encoder built from {@code checkpoint.config()}, not initialized
     * @param checkpoint the weights
     * @param manager the manager that owns the parameter arrays (the model's)
     * @throws MalformedModelException when a tensor is missing or has the wrong shape
     */
    static void load(BertEncoder encoder, BertCheckpoint checkpoint, NDManager manager)
            throws MalformedModelException {
        Map<String, Parameter> parameters = encoder.checkpointParameters();
        for (Map.Entry<String, Parameter> e : parameters.entrySet()) {
            BertCheckpoint.Weight w = checkpoint.weights().get(e.getKey());
            if (w == null) {
                throw new MalformedModelException(
                        "the checkpoint has no tensor '" + e.getKey() + '\'');
            }
            long[] dims = w.tensor().dims();
            ByteBuffer data;
            Shape shape;
            if (w.inByOut()) {
                if (dims.length != 2) {
                    throw new MalformedModelException(
                            "linear weight '"
                                    + e.getKey()
                                    + "' has shape "
                                    + Arrays.toString(dims));
                }
                shape = new Shape(dims[1], dims[0]);
                data = transposed(w.tensor(), (int) dims[0], (int) dims[1]);
            } else {
                shape = new Shape(dims);
                data = copied(w.tensor());
            }
            e.getValue().setArray(manager.create(data, shape, DataType.FLOAT32));
        }
        Shape tokens = new Shape(1, 1);
        encoder.initialize(manager, DataType.FLOAT32, tokens, tokens, tokens);
    }

    private static ByteBuffer copied(OnnxTensor t) {
        ByteBuffer out = direct(t.size());
        out.asFloatBuffer().put(t.data().asFloatBuffer());
        return out;
    }

    /** (in, out) row-major to (out, in) row-major: {@code dst[o][i] = src[i][o]}. */
    private static ByteBuffer transposed(OnnxTensor t, int in, int out) {
        FloatBuffer src = t.data().asFloatBuffer();
        ByteBuffer buffer = direct(t.size());
        FloatBuffer dst = buffer.asFloatBuffer();
        float[] row = new float[out];
        for (int i = 0; i < in; i++) {
            src.get(row);
            for (int o = 0; o < out; o++) {
                dst.put(o * in + i, row[o]);
            }
        }
        return buffer;
    }

    private static ByteBuffer direct(long floats) {
        return ByteBuffer.allocateDirect(Math.toIntExact(floats * 4))
                .order(ByteOrder.nativeOrder());
    }
}
