/**
 * The command line (picocli): quantize (the main job, a bundled test model or any model directory),
 * bench, bench-export, bench-integer, bench-embedding, zoo, train, bundle-data.
 */
package ai.djl.nupes.cli;
