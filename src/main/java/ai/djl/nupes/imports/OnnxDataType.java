package ai.djl.nupes.imports;

/** The element types of ONNX's {@code TensorProto.DataType}, with their codes and sizes. */
public enum OnnxDataType {
    /** Not set. */
    UNDEFINED(0, 0),
    /** 32-bit float. */
    FLOAT(1, 4),
    /** Unsigned byte. */
    UINT8(2, 1),
    /** Signed byte. */
    INT8(3, 1),
    /** Unsigned 16-bit integer. */
    UINT16(4, 2),
    /** Signed 16-bit integer. */
    INT16(5, 2),
    /** Signed 32-bit integer. */
    INT32(6, 4),
    /** Signed 64-bit integer. */
    INT64(7, 8),
    /** UTF-8 strings (no fixed size). */
    STRING(8, 0),
    /** Boolean, one byte each. */
    BOOL(9, 1),
    /** IEEE half precision. */
    FLOAT16(10, 2),
    /** 64-bit float. */
    DOUBLE(11, 8),
    /** Unsigned 32-bit integer. */
    UINT32(12, 4),
    /** Unsigned 64-bit integer. */
    UINT64(13, 8),
    /** Two floats. */
    COMPLEX64(14, 8),
    /** Two doubles. */
    COMPLEX128(15, 16),
    /** bfloat16. */
    BFLOAT16(16, 2);

    private final int code;
    private final int bytes;

    OnnxDataType(int code, int bytes) {
        this.code = code;
        this.bytes = bytes;
    }

    /**
     * The {@code TensorProto.DataType} code.
     *
     * @return the code
     */
    public int code() {
        return code;
    }

    /**
     * Bytes per element in {@code raw_data} (0 for strings and undefined).
     *
     * @return the element size
     */
    public int bytes() {
        return bytes;
    }

    /**
     * The type with a code.
     *
     * @param code the {@code TensorProto.DataType} code
     * @return the type, or {@code null} for a code this enum does not know (newer float8/int4
     *     types)
     */
    public static OnnxDataType ofCode(long code) {
        for (OnnxDataType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        return null;
    }
}
