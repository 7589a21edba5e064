/**
 * Imports BERT-family ONNX sentence encoders (all-MiniLM-L6-v2 and its kin) as DJL blocks whose
 * projections are plain {@link ai.djl.nn.core.Linear} layers, ready for the quantizer: a
 * dependency-free reader for the needed subset of {@code onnx.proto} ({@link
 * ai.djl.nupes.imports.OnnxReader}), a graph matcher that derives the architecture and finds every
 * weight ({@link ai.djl.nupes.imports.BertGraphMapper}), the encoder blocks ({@link
 * ai.djl.nupes.imports.BertEncoder}) with their block factory, and the import entry point ({@link
 * ai.djl.nupes.imports.BertImporter}).
 */
package ai.djl.nupes.imports;
