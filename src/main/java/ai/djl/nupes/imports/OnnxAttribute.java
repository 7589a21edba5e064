package ai.djl.nupes.imports;

import java.util.Arrays;

/**
 * A node attribute ({@code AttributeProto}): the subset of value kinds an encoder graph uses.
 *
 * @param name the attribute's name
 * @param type the {@code AttributeProto.AttributeType} code (1 FLOAT, 2 INT, 3 STRING, 4 TENSOR, 6
 *     FLOATS, 7 INTS; 0 when the writer left it out)
 * @param f the float value
 * @param i the int value
 * @param s the string value ({@code null} when absent)
 * @param t the tensor value ({@code null} when absent)
 * @param floats the float list
 * @param ints the int list
 */
public record OnnxAttribute(
        String name,
        int type,
        float f,
        long i,
        String s,
        OnnxTensor t,
        float[] floats,
        long[] ints) {

    /** {@code AttributeType.FLOAT}. */
    public static final int FLOAT = 1;

    /** {@code AttributeType.INT}. */
    public static final int INT = 2;

    /** {@code AttributeType.STRING}. */
    public static final int STRING = 3;

    /** {@code AttributeType.TENSOR}. */
    public static final int TENSOR = 4;

    /** {@code AttributeType.FLOATS}. */
    public static final int FLOATS = 6;

    /** {@code AttributeType.INTS}. */
    public static final int INTS = 7;

    /** Copies the lists. */
    public OnnxAttribute {
        floats = floats.clone();
        ints = ints.clone();
    }

    /**
     * An INT attribute.
     *
     * @param name the name
     * @param value the value
     * @return the attribute
     */
    public static OnnxAttribute ofInt(String name, long value) {
        return new OnnxAttribute(name, INT, 0, value, null, null, new float[0], new long[0]);
    }

    /**
     * An INTS attribute.
     *
     * @param name the name
     * @param values the values
     * @return the attribute
     */
    public static OnnxAttribute ofInts(String name, long... values) {
        return new OnnxAttribute(name, INTS, 0, 0, null, null, new float[0], values);
    }

    /**
     * A FLOAT attribute.
     *
     * @param name the name
     * @param value the value
     * @return the attribute
     */
    public static OnnxAttribute ofFloat(String name, float value) {
        return new OnnxAttribute(name, FLOAT, value, 0, null, null, new float[0], new long[0]);
    }

    /**
     * A TENSOR attribute.
     *
     * @param name the name
     * @param value the tensor
     * @return the attribute
     */
    public static OnnxAttribute ofTensor(String name, OnnxTensor value) {
        return new OnnxAttribute(name, TENSOR, 0, 0, null, value, new float[0], new long[0]);
    }

    /**
     * The float list (a copy).
     *
     * @return the floats
     */
    @Override
    public float[] floats() {
        return floats.clone();
    }

    /**
     * The int list (a copy).
     *
     * @return the ints
     */
    @Override
    public long[] ints() {
        return ints.clone();
    }

    /** {@inheritDoc} */
    @Override
    public boolean equals(Object o) {
        return o instanceof OnnxAttribute a
                && name.equals(a.name)
                && type == a.type
                && Float.compare(f, a.f) == 0
                && i == a.i
                && java.util.Objects.equals(s, a.s)
                && java.util.Objects.equals(t, a.t)
                && Arrays.equals(floats, a.floats)
                && Arrays.equals(ints, a.ints);
    }

    /** {@inheritDoc} */
    @Override
    public int hashCode() {
        return name.hashCode() * 31 + type;
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return switch (type) {
            case FLOAT -> name + '=' + f;
            case INT -> name + '=' + i;
            case STRING -> name + "='" + s + '\'';
            case TENSOR -> name + '=' + t;
            case FLOATS -> name + '=' + Arrays.toString(floats);
            case INTS -> name + '=' + Arrays.toString(ints);
            default -> name + "(type " + type + ')';
        };
    }
}
