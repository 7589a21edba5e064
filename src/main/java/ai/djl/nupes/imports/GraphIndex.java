package ai.djl.nupes.imports;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Lookups over one graph: who produces a value, who consumes it, and constant values. */
final class GraphIndex {

    private final OnnxGraph graph;
    private final Map<String, OnnxNode> producers = new HashMap<>();
    private final Map<String, List<OnnxNode>> consumers = new HashMap<>();
    private final Map<String, OnnxTensor> initializers = new HashMap<>();

    GraphIndex(OnnxGraph graph) {
        this.graph = graph;
        for (OnnxTensor t : graph.initializers()) {
            initializers.put(t.name(), t);
        }
        for (OnnxNode n : graph.nodes()) {
            for (String out : n.outputs()) {
                producers.put(out, n);
            }
            for (String in : n.inputs()) {
                if (!in.isEmpty()) {
                    consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
                }
            }
        }
    }

    OnnxGraph graph() {
        return graph;
    }

    /** The node that computes a value; empty for graph inputs and initializers. */
    Optional<OnnxNode> producer(String value) {
        return Optional.ofNullable(producers.get(value));
    }

    /** The nodes that read a value, in graph order. */
    List<OnnxNode> consumers(String value) {
        return consumers.getOrDefault(value, List.of());
    }

    /** An initializer by name. */
    Optional<OnnxTensor> initializer(String name) {
        return Optional.ofNullable(initializers.get(name));
    }

    /** A value's constant tensor: an initializer or the output of a {@code Constant} node. */
    Optional<OnnxTensor> constant(String value) {
        OnnxTensor t = initializers.get(value);
        if (t != null) {
            return Optional.of(t);
        }
        OnnxNode p = producers.get(value);
        if (p != null && p.opType().equals("Constant")) {
            return p.attribute("value").map(OnnxAttribute::t);
        }
        return Optional.empty();
    }

    /** The one constant scalar among a binary node's inputs, with the other input's name. */
    Optional<ConstantOperand> constantOperand(OnnxNode node) {
        if (node.inputs().size() != 2) {
            return Optional.empty();
        }
        for (int i = 0; i < 2; i++) {
            Optional<OnnxTensor> c = constant(node.inputs().get(i));
            Optional<OnnxTensor> other = constant(node.inputs().get(1 - i));
            if (c.isPresent()
                    && other.isEmpty()
                    && c.get().size() == 1
                    && c.get().dataType() == OnnxDataType.FLOAT) {
                return Optional.of(
                        new ConstantOperand(c.get().scalarFloat(), i, node.inputs().get(1 - i)));
            }
        }
        return Optional.empty();
    }

    /** Every node needed to compute a value, in graph order. */
    List<OnnxNode> ancestors(String value) {
        Set<OnnxNode> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<String> todo = new ArrayDeque<>();
        todo.push(value);
        while (!todo.isEmpty()) {
            OnnxNode p = producers.get(todo.pop());
            if (p != null && seen.add(p)) {
                for (String in : p.inputs()) {
                    if (!in.isEmpty()) {
                        todo.push(in);
                    }
                }
            }
        }
        List<OnnxNode> ordered = new ArrayList<>();
        for (OnnxNode n : graph.nodes()) {
            if (seen.contains(n)) {
                ordered.add(n);
            }
        }
        return ordered;
    }

    /**
     * A scalar operand of a binary node.
     *
     * @param value the constant
     * @param index which input it is (0 or 1)
     * @param other the other input's name
     */
    record ConstantOperand(float value, int index, String other) {}
}
