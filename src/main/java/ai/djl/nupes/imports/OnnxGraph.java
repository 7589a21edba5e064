package ai.djl.nupes.imports;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * A computation graph ({@code GraphProto}): nodes in topological order, initializers, inputs and
 * outputs. Immutable; the {@code with...} methods return changed copies (sharing tensor data),
 * which is how tests build malformed variants of a real graph.
 *
 * @param name the graph's name
 * @param nodes the nodes, in the file's (topological) order
 * @param initializers the constant tensors
 * @param inputs the graph inputs (may list initializers too, in old IR versions)
 * @param outputs the graph outputs
 */
public record OnnxGraph(
        String name,
        List<OnnxNode> nodes,
        List<OnnxTensor> initializers,
        List<OnnxValueInfo> inputs,
        List<OnnxValueInfo> outputs) {

    /** Copies the lists. */
    public OnnxGraph {
        nodes = List.copyOf(nodes);
        initializers = List.copyOf(initializers);
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
    }

    /**
     * An initializer by name.
     *
     * @param tensorName the name
     * @return the tensor, if there is one
     */
    public Optional<OnnxTensor> initializer(String tensorName) {
        return initializers.stream().filter(t -> t.name().equals(tensorName)).findFirst();
    }

    /**
     * A node by name.
     *
     * @param nodeName the name
     * @return the node, if there is one
     */
    public Optional<OnnxNode> node(String nodeName) {
        return nodes.stream().filter(n -> n.name().equals(nodeName)).findFirst();
    }

    /**
     * The inputs that are fed at run time: {@link #inputs} minus those that name an initializer.
     *
     * @return the run-time inputs, in file order
     */
    public List<OnnxValueInfo> runtimeInputs() {
        List<OnnxValueInfo> out = new ArrayList<>();
        for (OnnxValueInfo v : inputs) {
            if (initializer(v.name()).isEmpty()) {
                out.add(v);
            }
        }
        return out;
    }

    /**
     * This graph with one node changed.
     *
     * @param nodeName the node's name
     * @param change makes the new node from the old one
     * @return the changed graph
     * @throws IllegalArgumentException when no node has that name
     */
    public OnnxGraph withNode(String nodeName, UnaryOperator<OnnxNode> change) {
        List<OnnxNode> changed = new ArrayList<>(nodes);
        for (int i = 0; i < changed.size(); i++) {
            if (changed.get(i).name().equals(nodeName)) {
                changed.set(i, change.apply(changed.get(i)));
                return new OnnxGraph(name, changed, initializers, inputs, outputs);
            }
        }
        throw new IllegalArgumentException("no node named '" + nodeName + "' in graph " + name);
    }

    /**
     * This graph with one initializer replaced by another of the same name.
     *
     * @param tensor the new initializer
     * @return the changed graph
     * @throws IllegalArgumentException when no initializer has the tensor's name
     */
    public OnnxGraph withInitializer(OnnxTensor tensor) {
        return replaceInitializer(tensor.name(), tensor);
    }

    /**
     * This graph with one initializer renamed (its consumers still use the old name).
     *
     * @param oldName the initializer's name
     * @param newName its new name
     * @return the changed graph
     * @throws IllegalArgumentException when no initializer has that name
     */
    public OnnxGraph withInitializerRenamed(String oldName, String newName) {
        OnnxTensor t =
                initializer(oldName)
                        .orElseThrow(
                                () ->
                                        new IllegalArgumentException(
                                                "no initializer named '" + oldName + '\''));
        return replaceInitializer(oldName, t.withName(newName));
    }

    private OnnxGraph replaceInitializer(String oldName, OnnxTensor tensor) {
        List<OnnxTensor> changed = new ArrayList<>(initializers);
        for (int i = 0; i < changed.size(); i++) {
            if (changed.get(i).name().equals(oldName)) {
                changed.set(i, tensor);
                return new OnnxGraph(name, nodes, changed, inputs, outputs);
            }
        }
        throw new IllegalArgumentException(
                "no initializer named '" + oldName + "' in graph " + name);
    }
}
