package ai.djl.nupes.imports;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A tensor of an ONNX graph: an initializer or the value of a {@code Constant} node.
 *
 * <p>The elements are held as little-endian bytes: for {@code raw_data} a view of the model's bytes
 * (no copy), for {@code float_data}/{@code int32_data}/{@code int64_data} the decoded values.
 *
 * @param name the tensor's name (empty for an attribute's tensor without a name)
 * @param dataType the element type
 * @param dims the shape
 * @param data the elements, little-endian, {@code dims} product × element size bytes
 */
public record OnnxTensor(String name, OnnxDataType dataType, long[] dims, ByteBuffer data) {

    /**
     * Checks the element count against the shape.
     *
     * @throws IllegalArgumentException when the data does not hold {@code dims} product elements
     */
    public OnnxTensor {
        dims = dims.clone();
        data = data.slice().asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
        if (dataType.bytes() > 0
                && (long) data.remaining() != elementCount(dims) * dataType.bytes()) {
            throw new IllegalArgumentException(
                    "tensor '"
                            + name
                            + "' of shape "
                            + Arrays.toString(dims)
                            + " and type "
                            + dataType
                            + " holds "
                            + data.remaining()
                            + " bytes, expected "
                            + elementCount(dims) * dataType.bytes());
        }
    }

    /**
     * A float tensor made from values (for tests and synthetic graphs).
     *
     * @param name the name
     * @param dims the shape
     * @param values the elements, row-major
     * @return the tensor
     */
    public static OnnxTensor ofFloats(String name, long[] dims, float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return new OnnxTensor(name, OnnxDataType.FLOAT, dims, b);
    }

    /**
     * An int64 tensor made from values.
     *
     * @param name the name
     * @param dims the shape
     * @param values the elements, row-major
     * @return the tensor
     */
    public static OnnxTensor ofLongs(String name, long[] dims, long... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(values);
        return new OnnxTensor(name, OnnxDataType.INT64, dims, b);
    }

    /**
     * The shape (a copy).
     *
     * @return the dimensions
     */
    @Override
    public long[] dims() {
        return dims.clone();
    }

    /**
     * The elements as little-endian bytes (a read-only view; position 0 is the first element).
     *
     * @return the bytes
     */
    @Override
    public ByteBuffer data() {
        return data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Number of elements.
     *
     * @return the product of the dimensions
     */
    public long size() {
        return elementCount(dims);
    }

    /**
     * The same tensor under another name.
     *
     * @param newName the name
     * @return the renamed tensor
     */
    public OnnxTensor withName(String newName) {
        return new OnnxTensor(newName, dataType, dims, data);
    }

    /**
     * The elements of a float tensor.
     *
     * @return a copy of the elements
     * @throws IllegalStateException when the tensor is not FLOAT
     */
    public float[] floats() {
        requireType(OnnxDataType.FLOAT);
        float[] out = new float[Math.toIntExact(size())];
        data().asFloatBuffer().get(out);
        return out;
    }

    /**
     * The elements of an integer tensor (INT64, INT32, INT16, INT8, UINT8 or BOOL), widened.
     *
     * @return a copy of the elements
     * @throws IllegalStateException for other types
     */
    public long[] longs() {
        int n = Math.toIntExact(size());
        long[] out = new long[n];
        ByteBuffer b = data();
        for (int i = 0; i < n; i++) {
            out[i] =
                    switch (dataType) {
                        case INT64 -> b.getLong(i * 8);
                        case INT32 -> b.getInt(i * 4);
                        case INT16 -> b.getShort(i * 2);
                        case INT8 -> b.get(i);
                        case UINT8, BOOL -> b.get(i) & 0xff;
                        default ->
                                throw new IllegalStateException(
                                        "tensor '"
                                                + name
                                                + "' is "
                                                + dataType
                                                + ", not an integer type");
                    };
        }
        return out;
    }

    /**
     * The single element of a one-element float tensor (any rank).
     *
     * @return the value
     * @throws IllegalStateException when the tensor is not a one-element FLOAT tensor
     */
    public float scalarFloat() {
        if (size() != 1) {
            throw new IllegalStateException(
                    "tensor '" + name + "' of shape " + Arrays.toString(dims) + " is not a scalar");
        }
        return floats()[0];
    }

    /** {@inheritDoc} */
    @Override
    public boolean equals(Object o) {
        return o instanceof OnnxTensor t
                && name.equals(t.name)
                && dataType == t.dataType
                && Arrays.equals(dims, t.dims)
                && data.equals(t.data);
    }

    /** {@inheritDoc} */
    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(dims);
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return "OnnxTensor(" + name + ", " + dataType + ' ' + Arrays.toString(dims) + ')';
    }

    private void requireType(OnnxDataType type) {
        if (dataType != type) {
            throw new IllegalStateException(
                    "tensor '" + name + "' is " + dataType + ", expected " + type);
        }
    }

    private static long elementCount(long[] dims) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }
}
