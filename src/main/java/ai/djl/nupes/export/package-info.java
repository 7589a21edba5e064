/**
 * Frozen export: writes a quantized model's directory (serving.properties, manifest.json,
 * parameters) atomically, and rebuilds it for {@code Criteria} through {@link
 * ai.djl.nupes.export.FrozenBlockFactory}, checking every file and tensor on load.
 */
package ai.djl.nupes.export;
