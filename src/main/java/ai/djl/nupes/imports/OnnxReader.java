package ai.djl.nupes.imports;

import ai.djl.MalformedModelException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the subset of an ONNX model file ({@code onnx.proto}) that an encoder importer needs:
 * {@code ModelProto} (ir_version, producer, opset_import, graph), {@code GraphProto} (node,
 * initializer, input, output), {@code NodeProto}, {@code AttributeProto} (f, i, s, t, floats,
 * ints), {@code TensorProto} (dims, data_type, float/int32/int64 data, raw_data) and the tensor
 * types of {@code ValueInfoProto}. Everything else is skipped by wire type.
 *
 * <p>Why a hand-written reader: the subset is read-only and small, so it needs neither generated
 * classes (no protoc step in the build) nor a protobuf runtime dependency (whose version would have
 * to agree with ONNX Runtime's). {@link ProtoReader} does the wire format.
 *
 * <p>Memory: a file is memory-mapped and initializers stored as {@code raw_data} stay views of the
 * mapping, so reading a model costs no heap copy of its weights. Tensors in external data files,
 * segmented tensors and sparse initializers are refused.
 */
public final class OnnxReader {

    private OnnxReader() {}

    /**
     * Reads a model file.
     *
     * @param file the {@code .onnx} file
     * @return the model
     * @throws IOException when the file cannot be read
     * @throws MalformedModelException when it is not a well-formed ONNX model; the message names
     *     the file, the byte offset and the field
     */
    public static OnnxModel read(Path file) throws IOException, MalformedModelException {
        MappedByteBuffer mapped;
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size > Integer.MAX_VALUE) {
                throw new MalformedModelException(
                        file + ": " + size + " bytes; an ONNX protobuf file is at most 2 GiB");
            }
            mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, size);
        } catch (IOException e) {
            throw new IOException("cannot read ONNX file " + file + ": " + e, e);
        }
        try {
            return read(mapped);
        } catch (MalformedModelException e) {
            throw new MalformedModelException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Reads a model from bytes.
     *
     * @param bytes the serialized {@code ModelProto}, from its position to its limit; the returned
     *     tensors are views of it, so it must not change afterwards
     * @return the model
     * @throws MalformedModelException when the bytes are not a well-formed ONNX model
     */
    public static OnnxModel read(ByteBuffer bytes) throws MalformedModelException {
        ProtoReader r = ProtoReader.of(bytes, "ModelProto");
        long irVersion = 0;
        String producer = "";
        String producerVersion = "";
        Map<String, Long> opsets = new LinkedHashMap<>();
        OnnxGraph graph = null;
        while (r.next()) {
            switch (r.field()) {
                case 1 -> irVersion = r.int64("ir_version");
                case 2 -> producer = r.string("producer_name");
                case 3 -> producerVersion = r.string("producer_version");
                case 7 -> graph = graph(r.message("graph", "GraphProto"));
                case 8 -> opset(r.message("opset_import", "OperatorSetIdProto"), opsets);
                default -> r.skip();
            }
        }
        if (graph == null) {
            throw new MalformedModelException(
                    "not an ONNX model: ModelProto.graph (field 7) is missing in "
                            + bytes.remaining()
                            + " bytes");
        }
        return new OnnxModel(irVersion, producer, producerVersion, opsets, graph);
    }

    /**
     * Reads a model from a byte array.
     *
     * @param bytes the serialized {@code ModelProto}
     * @return the model
     * @throws MalformedModelException when the bytes are not a well-formed ONNX model
     */
    public static OnnxModel read(byte[] bytes) throws MalformedModelException {
        return read(ByteBuffer.wrap(bytes));
    }

    private static void opset(ProtoReader r, Map<String, Long> opsets)
            throws MalformedModelException {
        String domain = "";
        long version = 0;
        while (r.next()) {
            switch (r.field()) {
                case 1 -> domain = r.string("domain");
                case 2 -> version = r.int64("version");
                default -> r.skip();
            }
        }
        opsets.put(domain, version);
    }

    private static OnnxGraph graph(ProtoReader r) throws MalformedModelException {
        String name = "";
        List<OnnxNode> nodes = new ArrayList<>();
        List<OnnxTensor> initializers = new ArrayList<>();
        List<OnnxValueInfo> inputs = new ArrayList<>();
        List<OnnxValueInfo> outputs = new ArrayList<>();
        while (r.next()) {
            switch (r.field()) {
                case 1 -> nodes.add(node(r.message("node", "NodeProto")));
                case 2 -> name = r.string("name");
                case 5 -> initializers.add(tensor(r.message("initializer", "TensorProto")));
                case 11 -> inputs.add(valueInfo(r.message("input", "ValueInfoProto")));
                case 12 -> outputs.add(valueInfo(r.message("output", "ValueInfoProto")));
                case 15 ->
                        throw r.fieldError(
                                "sparse_initializer", "sparse initializers are not supported");
                default -> r.skip();
            }
        }
        return new OnnxGraph(name, nodes, initializers, inputs, outputs);
    }

    private static OnnxNode node(ProtoReader r) throws MalformedModelException {
        List<String> inputs = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        List<OnnxAttribute> attributes = new ArrayList<>();
        String name = "";
        String opType = "";
        String domain = "";
        while (r.next()) {
            switch (r.field()) {
                case 1 -> inputs.add(r.string("input"));
                case 2 -> outputs.add(r.string("output"));
                case 3 -> name = r.string("name");
                case 4 -> opType = r.string("op_type");
                case 5 -> attributes.add(attribute(r.message("attribute", "AttributeProto")));
                case 7 -> domain = r.string("domain");
                default -> r.skip();
            }
        }
        return new OnnxNode(name, opType, domain, inputs, outputs, attributes);
    }

    private static OnnxAttribute attribute(ProtoReader r) throws MalformedModelException {
        String name = "";
        int type = 0;
        float f = 0;
        long i = 0;
        String s = null;
        OnnxTensor t = null;
        FloatList floats = new FloatList();
        LongList ints = new LongList();
        while (r.next()) {
            switch (r.field()) {
                case 1 -> name = r.string("name");
                case 2 -> f = r.float32("f");
                case 3 -> i = r.int64("i");
                case 4 -> s = r.string("s");
                case 5 -> t = tensor(r.message("t", "TensorProto"));
                case 7 -> r.floats("floats", floats::add);
                case 8 -> r.varints("ints", ints::add);
                case 20 -> type = (int) r.int64("type");
                default -> r.skip();
            }
        }
        return new OnnxAttribute(name, type, f, i, s, t, floats.toArray(), ints.toArray());
    }

    private static OnnxValueInfo valueInfo(ProtoReader r) throws MalformedModelException {
        String name = "";
        OnnxDataType elementType = null;
        List<String> dims = new ArrayList<>();
        while (r.next()) {
            switch (r.field()) {
                case 1 -> name = r.string("name");
                case 2 -> {
                    ProtoReader type = r.message("type", "TypeProto");
                    while (type.next()) {
                        if (type.field() == 1) {
                            elementType = tensorType(type.message("tensor_type", "Tensor"), dims);
                        } else {
                            type.skip();
                        }
                    }
                }
                default -> r.skip();
            }
        }
        return new OnnxValueInfo(name, elementType, dims);
    }

    private static OnnxDataType tensorType(ProtoReader r, List<String> dims)
            throws MalformedModelException {
        OnnxDataType elementType = null;
        while (r.next()) {
            switch (r.field()) {
                case 1 -> elementType = OnnxDataType.ofCode(r.int64("elem_type"));
                case 2 -> {
                    ProtoReader shape = r.message("shape", "TensorShapeProto");
                    while (shape.next()) {
                        if (shape.field() == 1) {
                            dims.add(dimension(shape.message("dim", "Dimension")));
                        } else {
                            shape.skip();
                        }
                    }
                }
                default -> r.skip();
            }
        }
        return elementType;
    }

    private static String dimension(ProtoReader r) throws MalformedModelException {
        String dim = "?";
        while (r.next()) {
            switch (r.field()) {
                case 1 -> dim = Long.toString(r.int64("dim_value"));
                case 2 -> dim = r.string("dim_param");
                default -> r.skip();
            }
        }
        return dim;
    }

    private static OnnxTensor tensor(ProtoReader r) throws MalformedModelException {
        int start = r.position();
        LongList dims = new LongList();
        long dataTypeCode = 0;
        String name = "";
        ByteBuffer raw = null;
        FloatList floatData = new FloatList();
        LongList int32Data = new LongList();
        LongList int64Data = new LongList();
        while (r.next()) {
            switch (r.field()) {
                case 1 -> r.varints("dims", dims::add);
                case 2 -> dataTypeCode = r.int64("data_type");
                case 3 -> throw r.fieldError("segment", "segmented tensors are not supported");
                case 4 -> r.floats("float_data", floatData::add);
                case 5 -> r.varints("int32_data", int32Data::add);
                case 7 -> r.varints("int64_data", int64Data::add);
                case 8 -> name = r.string("name");
                case 9 -> raw = r.bytes("raw_data");
                case 13 ->
                        throw r.fieldError(
                                "external_data",
                                "tensor '"
                                        + name
                                        + "' is stored in an external file, which is not"
                                        + " supported");
                case 14 -> {
                    if (r.int64("data_location") != 0) {
                        throw r.fieldError(
                                "data_location",
                                "tensor '"
                                        + name
                                        + "' is stored in an external file, which is"
                                        + " not supported");
                    }
                }
                default -> r.skip();
            }
        }
        OnnxDataType type = OnnxDataType.ofCode(dataTypeCode);
        if (type == null || type == OnnxDataType.UNDEFINED) {
            throw new MalformedModelException(
                    "tensor '"
                            + name
                            + "' (TensorProto at byte offset "
                            + start
                            + ") has unsupported data_type "
                            + dataTypeCode);
        }
        long[] shape = dims.toArray();
        long count = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new MalformedModelException(
                        "tensor '"
                                + name
                                + "' (TensorProto at byte offset "
                                + start
                                + ") has negative dimension in "
                                + Arrays.toString(shape));
            }
            count = Math.multiplyExact(count, d);
        }
        ByteBuffer data;
        if (raw != null) {
            data = raw;
        } else if (type == OnnxDataType.STRING) {
            data = ByteBuffer.allocate(0);
        } else if (floatData.size() > 0) {
            data = ByteBuffer.allocate(floatData.size() * 4).order(ByteOrder.LITTLE_ENDIAN);
            data.asFloatBuffer().put(floatData.toArray());
        } else if (int64Data.size() > 0) {
            data = ByteBuffer.allocate(int64Data.size() * 8).order(ByteOrder.LITTLE_ENDIAN);
            data.asLongBuffer().put(int64Data.toArray());
        } else if (int32Data.size() > 0) {
            data = narrow(int32Data.toArray(), type);
        } else {
            data = ByteBuffer.allocate(0);
        }
        if (type.bytes() > 0 && data.remaining() != count * type.bytes()) {
            throw new MalformedModelException(
                    "tensor '"
                            + name
                            + "' (TensorProto at byte offset "
                            + start
                            + ") of shape "
                            + Arrays.toString(shape)
                            + " and type "
                            + type
                            + " holds "
                            + data.remaining()
                            + " data bytes, expected "
                            + count * type.bytes());
        }
        return new OnnxTensor(name, type, shape, data);
    }

    /** {@code int32_data} carries INT32 and, widened to 32 bits, the narrower integer types. */
    private static ByteBuffer narrow(long[] values, OnnxDataType type) {
        ByteBuffer b =
                ByteBuffer.allocate(values.length * type.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            switch (type.bytes()) {
                case 1 -> b.put((byte) v);
                case 2 -> b.putShort((short) v);
                case 8 -> b.putLong(v);
                default -> b.putInt((int) v);
            }
        }
        return b.flip();
    }

    /** A growable primitive list, to read repeated fields without boxing. */
    private static final class LongList {
        private long[] values = new long[8];
        private int size;

        void add(long v) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = v;
        }

        int size() {
            return size;
        }

        long[] toArray() {
            return Arrays.copyOf(values, size);
        }
    }

    /** A growable float list. */
    private static final class FloatList {
        private float[] values = new float[8];
        private int size;

        void add(float v) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = v;
        }

        int size() {
            return size;
        }

        float[] toArray() {
            return Arrays.copyOf(values, size);
        }
    }
}
