package ai.djl.nupes.imports;

import java.util.List;
import java.util.Optional;

/**
 * A graph node ({@code NodeProto}).
 *
 * @param name the node's name (may be empty: names are optional in ONNX)
 * @param opType the operator, e.g. {@code MatMul}
 * @param domain the operator set domain (empty for the default ONNX domain)
 * @param inputs the input value names, in order (an empty name is an omitted optional input)
 * @param outputs the output value names
 * @param attributes the attributes
 */
public record OnnxNode(
        String name,
        String opType,
        String domain,
        List<String> inputs,
        List<String> outputs,
        List<OnnxAttribute> attributes) {

    /** Copies the lists. */
    public OnnxNode {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        attributes = List.copyOf(attributes);
    }

    /**
     * An attribute by name.
     *
     * @param attributeName the name
     * @return the attribute, if the node has it
     */
    public Optional<OnnxAttribute> attribute(String attributeName) {
        return attributes.stream().filter(a -> a.name().equals(attributeName)).findFirst();
    }

    /**
     * The same node with another operator (for building malformed test graphs).
     *
     * @param newOpType the operator
     * @return the changed node
     */
    public OnnxNode withOpType(String newOpType) {
        return new OnnxNode(name, newOpType, domain, inputs, outputs, attributes);
    }

    /**
     * The same node with other inputs.
     *
     * @param newInputs the input names
     * @return the changed node
     */
    public OnnxNode withInputs(List<String> newInputs) {
        return new OnnxNode(name, opType, domain, newInputs, outputs, attributes);
    }

    /**
     * How errors name this node: its name, or its op type and first output when it has none.
     *
     * @return the label
     */
    public String label() {
        if (!name.isEmpty()) {
            return name;
        }
        return opType + " node producing '" + (outputs.isEmpty() ? "" : outputs.get(0)) + '\'';
    }
}
