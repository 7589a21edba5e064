/** Data: the Fashion-MNIST IDX reader as a DJL dataset, and the bundled subsets. */
package ai.djl.nupes.data;
