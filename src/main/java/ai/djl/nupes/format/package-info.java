/**
 * The frozen layout shared by the blocks that load it and the exporter that writes it: code
 * packing ({@link ai.djl.nupes.format.BitPacker}), {@code manifest.json} ({@link
 * ai.djl.nupes.format.Manifest}) and checksums.
 */
package ai.djl.nupes.format;
