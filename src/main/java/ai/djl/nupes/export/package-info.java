/**
 * Frozen export: packs a quantized model's codes, writes the model directory (serving.properties,
 * manifest.json, parameters) atomically, and rebuilds it for {@code Criteria} through {@link
 * ai.djl.nupes.export.FrozenBlockFactory}, validating every frozen tensor on load.
 */
package ai.djl.nupes.export;
