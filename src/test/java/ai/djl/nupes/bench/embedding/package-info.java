/**
 * The sentence-embedding bench: all-MiniLM-L6-v2 imported from ONNX, quantized by each method and
 * scored against the float model on KJV verses (cosine, neighbour overlap) and WordNet noun
 * retrieval (MRR), beside ONNX Runtime's float and int8 artifacts; rows go to {@code
 * target/bench/embedding.json}, latency to {@code target/bench/embedding-latency.json}.
 */
package ai.djl.nupes.bench.embedding;
