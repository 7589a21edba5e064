package ai.djl.nupes.imports;

import java.util.Map;

/**
 * An ONNX model ({@code ModelProto}): the fields an importer needs.
 *
 * @param irVersion the IR version
 * @param producerName the tool that wrote the file (e.g. {@code pytorch})
 * @param producerVersion its version
 * @param opsets operator set version by domain ({@code ""} is the default ONNX domain)
 * @param graph the main graph
 */
public record OnnxModel(
        long irVersion,
        String producerName,
        String producerVersion,
        Map<String, Long> opsets,
        OnnxGraph graph) {

    /** Copies the map. */
    public OnnxModel {
        opsets = Map.copyOf(opsets);
    }

    /**
     * The default-domain operator set version.
     *
     * @return the version, or 0 when the model imports none
     */
    public long defaultOpset() {
        Long v = opsets.get("");
        if (v == null) {
            v = opsets.get("ai.onnx");
        }
        return v == null ? 0 : v;
    }

    /**
     * The same model with another graph.
     *
     * @param newGraph the graph
     * @return the changed model
     */
    public OnnxModel withGraph(OnnxGraph newGraph) {
        return new OnnxModel(irVersion, producerName, producerVersion, opsets, newGraph);
    }
}
