package ai.djl.nupes.imports;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The weights of a BERT encoder, found in a model file, named as Hugging Face names them ({@code
 * embeddings.word_embeddings.weight}, {@code encoder.layer.0.attention.self.query.weight}, …).
 *
 * @param config the architecture
 * @param weights tensor by Hugging Face name
 */
public record BertCheckpoint(BertConfig config, Map<String, Weight> weights) {

    /** Copies the map, keeping its order. */
    public BertCheckpoint {
        weights = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(weights));
    }

    /**
     * One stored tensor.
     *
     * @param tensor the tensor as the file holds it
     * @param inByOut whether it is a linear weight stored (in, out), as ONNX {@code MatMul} does,
     *     rather than DJL's (out, in)
     */
    public record Weight(OnnxTensor tensor, boolean inByOut) {}
}
