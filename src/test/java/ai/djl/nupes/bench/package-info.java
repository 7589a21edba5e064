/** Benchmarks: accuracy tables over the test models, written to {@code target/bench/}. */
package ai.djl.nupes.bench;
