/** The command line: quantize (the main job), bench, bench-export, zoo, train, bundle-data. */
package ai.djl.nupes.cli;
