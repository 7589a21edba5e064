package ai.djl.nupes.imports;

import java.util.List;

/**
 * A graph input or output ({@code ValueInfoProto} with a tensor type).
 *
 * @param name the value's name
 * @param elementType the element type, or {@code null} when the file does not give a tensor type
 * @param dims the dimensions: a number, or the symbolic name of a dynamic dimension ({@code ?} when
 *     neither is given)
 */
public record OnnxValueInfo(String name, OnnxDataType elementType, List<String> dims) {

    /** Copies the list. */
    public OnnxValueInfo {
        dims = List.copyOf(dims);
    }
}
